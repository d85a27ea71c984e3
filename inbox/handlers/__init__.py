"""Importing this package registers every handler in the dispatch table."""

from inbox.handlers import follows, interactions, moderation, notes

__all__ = ["follows", "interactions", "moderation", "notes"]
