-- The whole PostgreSQL schema at version 1, for a new database: what rooms said, registered names,
-- operators, bans and mutes (the same records as the SQLite store's schema v3).
CREATE TABLE schema_version (
    version integer NOT NULL   -- one row: the version of this schema (upgrade-to-vN.sql sets it)
);

CREATE TABLE meta (
    key text PRIMARY KEY,
    value text NOT NULL
);

-- A line said in a room (kind 'chat' or 'action'), or to every room (kind 'all', room '*').
-- Private messages are never stored.
CREATE TABLE lines (
    id bigint PRIMARY KEY,     -- the event's id (chatroom.core.events.model.Stamper): unique across processes
    time double precision NOT NULL,  -- seconds since the epoch
    room text NOT NULL,        -- the room's name as it was written
    room_key text NOT NULL,    -- what room names are compared by (chatroom.core.names.name_key)
    kind text NOT NULL,
    speaker text NOT NULL,
    colour text,               -- the speaker's colour then, by name
    text text NOT NULL
);
CREATE INDEX lines_by_room ON lines (room_key, id);
CREATE INDEX lines_by_time ON lines (time);

-- A registered name. The password is kept only as an Argon2id hash.
CREATE TABLE accounts (
    name_key text PRIMARY KEY, -- look-alikes share a key, so they are one name
    name text NOT NULL,        -- as it was registered
    password_hash text NOT NULL,
    colour text,
    created double precision NOT NULL,
    operator boolean NOT NULL DEFAULT false  -- may kick, mute, ban (chatroom-admin op NAME)
);

-- A ban: of a name (value: its key, so look-alikes are banned too) or of an address.
CREATE TABLE bans (
    id bigserial PRIMARY KEY,
    kind text NOT NULL,        -- 'name' or 'address'
    value text NOT NULL,       -- the name's key, or the address
    shown text NOT NULL,       -- the name as written, or the address
    by text NOT NULL,          -- who set it
    reason text NOT NULL,
    since double precision NOT NULL,
    until double precision,    -- when it ends by itself; NULL: when it is lifted
    for_name text              -- an address banned with a name: that name's key (lifting one lifts both)
);
CREATE INDEX bans_by_value ON bans (kind, value);

-- A mute: the name may not speak in rooms or to all until it ends.
CREATE TABLE mutes (
    name_key text PRIMARY KEY,
    name text NOT NULL,
    by text NOT NULL,
    reason text NOT NULL,
    since double precision NOT NULL,
    until double precision
);

INSERT INTO schema_version (version) VALUES (1);
