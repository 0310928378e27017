-- Version 2 to 3: operators, bans and mutes.
ALTER TABLE accounts ADD COLUMN operator INTEGER NOT NULL DEFAULT 0;

CREATE TABLE bans (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    shown TEXT NOT NULL,
    by TEXT NOT NULL,
    reason TEXT NOT NULL,
    since REAL NOT NULL,
    until REAL,
    for_name TEXT
);
CREATE INDEX bans_by_value ON bans (kind, value);

CREATE TABLE mutes (
    name_key TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    by TEXT NOT NULL,
    reason TEXT NOT NULL,
    since REAL NOT NULL,
    until REAL
);

PRAGMA user_version = 3;
