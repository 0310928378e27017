-- The whole schema at version 3, for a new file: what rooms said, registered names, operators, bans and mutes.
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
    created REAL NOT NULL,
    operator INTEGER NOT NULL DEFAULT 0  -- 1: may kick, mute, ban (chatroom-admin op NAME)
);

-- A ban: of a name (value: its key, so look-alikes are banned too) or of an address.
CREATE TABLE bans (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,        -- 'name' or 'address'
    value TEXT NOT NULL,       -- the name's key, or the address
    shown TEXT NOT NULL,       -- the name as written, or the address
    by TEXT NOT NULL,          -- who set it
    reason TEXT NOT NULL,
    since REAL NOT NULL,
    until REAL,                -- when it ends by itself; NULL: when it is lifted
    for_name TEXT              -- an address banned with a name: that name's key (lifting one lifts both)
);
CREATE INDEX bans_by_value ON bans (kind, value);

-- A mute: the name may not speak in rooms or to all until it ends.
CREATE TABLE mutes (
    name_key TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    by TEXT NOT NULL,
    reason TEXT NOT NULL,
    since REAL NOT NULL,
    until REAL
);

PRAGMA user_version = 3;
