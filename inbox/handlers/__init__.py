"""Importing this package registers every handler in the dispatch table."""

from inbox.handlers import (
    events,  # imports hubs first, then takes over Accept/Reject (see events.py)
    follows,
    hubs,  # after follows: it takes over the Follow family (see hubs.py)
    interactions,
    moderation,
    moves,
    notes,
)

__all__ = ["follows", "hubs", "interactions", "moderation", "notes"]
__all__ += ["events"]
__all__ += ["moves"]
