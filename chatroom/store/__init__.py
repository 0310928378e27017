"""The store: what rooms said and who registered which name, kept across restarts.

The hall sees it only through `Store` (interface.py). `SqliteStore` keeps it in
one SQLite file and `PostgresStore` in a PostgreSQL database several server
processes may share, each written on a thread of its own (queued.py);
`MemoryStore` keeps it in Python objects, for tests and for anything that
wants nothing on disk.
"""
