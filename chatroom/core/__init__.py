"""The chat core: hall, rooms, sessions, commands and moderation, in plain Python that knows nothing of sockets."""
