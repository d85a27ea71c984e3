"""Importing this package registers every handler in the dispatch table."""

from inbox.handlers import (
    follows,
    hubs,  # after follows: it takes over the Follow family (see hubs.py)
    interactions,
    moderation,
    notes,
)

__all__ = ["follows", "hubs", "interactions", "moderation", "notes"]
