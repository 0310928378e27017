"""The Twisted side: protocols that turn bytes from a socket into calls on the core, and events back into bytes."""
