-- Version 1 to 2: registered names.
CREATE TABLE accounts (
    name_key TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    colour TEXT,
    created REAL NOT NULL
);

PRAGMA user_version = 2;
