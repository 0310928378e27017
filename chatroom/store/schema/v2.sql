-- The whole schema at version 2, for a new file: what rooms said, and registered names.
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- A line said in a room (kind 'chat' or 'action'), or to every room (kind 'all', room '*').
-- Private messages are never stored.
CREATE TABLE lines (
    id INTEGER PRIMARY KEY,    -- the event's id: ids only grow, across restarts too
    time REAL NOT NULL,        -- seconds since the epoch
    room TEXT NOT NULL,        -- the room's name as it was written
    room_key TEXT NOT NULL,    -- what room names are compared by (chatroom.core.names.name_key)
    kind TEXT NOT NULL,
    speaker TEXT NOT NULL,
    colour TEXT,               -- the speaker's colour then, by name
    text TEXT NOT NULL
);
CREATE INDEX lines_by_room ON lines (room_key, id);
CREATE INDEX lines_by_time ON lines (time);

-- A registered name. The password is kept only as an Argon2id hash.
CREATE TABLE accounts (
    name_key TEXT PRIMARY KEY, -- look-alikes share a key, so they are one name
    name TEXT NOT NULL,        -- as it was registered
    password_hash TEXT NOT NULL,
    colour TEXT,
    created REAL NOT NULL
);

PRAGMA user_version = 2;
