"""Ids that grow with time, and the URL shapes of everything this hub serves.

Mastodon clients sort and page by id, compared as numbers in strings, so an id is
milliseconds since the epoch shifted left 16 bits plus a per-process counter that
starts at a random point (distinct processes rarely collide; the DB unique key catches it).
"""

from __future__ import annotations

import os
import random
import secrets
import threading
import time
from dataclasses import dataclass

_lock = threading.Lock()
_last_ms = 0
_seq = secrets.randbelow(1 << 16)
# Where a new millisecond's counter starts: only to keep processes apart, not a secret (ids
# are public and sequential), so a seeded generator rather than a system call per id.
_start = random.Random(secrets.randbits(64))
os.register_at_fork(after_in_child=lambda: _start.seed(secrets.randbits(64)))


def new_id(now: float | None = None) -> int:
    """A 63-bit id ordered by creation time."""
    global _last_ms, _seq
    ms = int((time.time() if now is None else now) * 1000)
    with _lock:
        if ms <= _last_ms:
            ms = _last_ms
            _seq = (_seq + 1) & 0xFFFF
            if _seq == 0:
                ms += 1
        else:
            _seq = _start.getrandbits(12)
        _last_ms = ms
        return (ms << 16) | _seq


def id_floor(ms: int) -> int:
    """The smallest id made at or after ``ms`` milliseconds since the epoch."""
    return ms << 16


@dataclass(frozen=True)
class Urls:
    """URL builders for local objects: one place for every URI shape."""

    base: str  # scheme://domain

    @property
    def instance_actor(self) -> str:
        return f"{self.base}/actor"

    @property
    def shared_inbox(self) -> str:
        return f"{self.base}/inbox"

    @property
    def members(self) -> str:
        return f"{self.base}/members"

    def actor(self, username: str) -> str:
        return f"{self.base}/users/{username}"

    def key_id(self, actor_uri: str) -> str:
        return f"{actor_uri}#main-key"

    def inbox(self, username: str) -> str:
        return f"{self.actor(username)}/inbox"

    def outbox(self, username: str) -> str:
        return f"{self.actor(username)}/outbox"

    def followers(self, username: str) -> str:
        return f"{self.actor(username)}/followers"

    def following(self, username: str) -> str:
        return f"{self.actor(username)}/following"

    def profile(self, username: str) -> str:
        return f"{self.base}/@{username}"

    def status(self, username: str, status_id: int) -> str:
        return f"{self.actor(username)}/statuses/{status_id}"

    @property
    def media(self) -> str:
        """The prefix of this hub's own media files (uploads are served under it): the only
        images member HTML may show (a third-party image tells its server who reads)."""
        return f"{self.base}/media/"

    def activity(self, username: str, activity_id: int) -> str:
        return f"{self.actor(username)}/activities/{activity_id}"
