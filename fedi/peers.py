"""Which hubs this hub talks to: configured neighbours, allowed domains and linked hubs.

Limited federation (DESIGN.md): only linked hubs and domains an admin allowed may deliver
to or fetch from this hub, and only those are ever contacted.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from fedi.config import Settings
from fedi.models import Neighbour


@dataclass
class Peers:
    """A short-lived cache of the allowed domains (config ∪ admin-added ∪ linked)."""

    settings: Settings
    sessions: sessionmaker[Session]
    ttl: float = 2.0
    _domains: frozenset[str] = field(default_factory=frozenset)
    _loaded_at: float = -1e9

    def invalidate(self) -> None:
        self._loaded_at = -1e9

    def _load(self) -> frozenset[str]:
        with self.sessions() as session:
            rows = session.execute(
                select(Neighbour.domain, Neighbour.state, Neighbour.source)
            ).all()
        domains = set(self.settings.neighbours) | set(self.settings.allowed)
        for domain, state, source in rows:
            if state == "linked" or (source == "admin" and state != "refused"):
                domains.add(domain)
        return frozenset(domains)

    def allowed(self) -> frozenset[str]:
        now = time.monotonic()
        if now - self._loaded_at > self.ttl:
            self._domains = self._load()
            self._loaded_at = now
        return self._domains

    def is_allowed(self, domain: str) -> bool:
        domain = domain.lower()
        if domain == self.settings.domain:
            return False
        return domain in self.allowed()
