"""The server as twistd runs it: its options, its services and its log."""
