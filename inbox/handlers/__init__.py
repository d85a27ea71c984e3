"""Importing this package registers every handler in the dispatch table."""

from inbox.handlers import follows, interactions, moderation, notes
from inbox.handlers import hubs  # after follows: it takes over the Follow family (see hubs.py)

__all__ = ["follows", "hubs", "interactions", "moderation", "notes"]
