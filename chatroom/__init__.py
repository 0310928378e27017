"""chatroom: a small chat server for classes, clubs and LANs, built on Twisted."""

__version__ = "0.1.0"
