"""Which hubs this hub talks to, and how far: linked, being linked, being said goodbye to.

Limited federation (DESIGN.md): only linked hubs (and domains an admin allowed) may deliver
to or fetch from this hub, and only those are ever contacted. The link protocol
(``fedi.services.neighbours``) adds two transitional cases:

- ``linked()`` / ``is_linked``: the linked hubs, Voisins hubs that share the neighbourhood
  audience: ``federation.neighbours`` and hubs whose link was accepted both ways. The
  neighbourhood audience is addressed to these, and a receiving hub shows such posts only
  while linked.
- ``servers()``: the allowed servers (``federation.allowed``): any other fediverse server an
  admin lets in. They get only what individual follows give, never the neighbourhood
  audience, ``/members`` or the directory (DESIGN.md "Linked hub vs allowed server").
- ``is_allowed``: who may exchange signed requests with us: both of the above, plus the hubs
  this hub asked to link with (``requested``), so that their Accept and their own Follow
  reach us.
  A hub that only asked us (``pending``) gets 403 until an admin says yes.
- ``may_contact``: who we may send to: the above, plus a hub we just unlinked or refused
  while our Undo or Reject to it is still queued (it gets the news, nothing else).
- ``is_blocked``: a domain an admin blocked (``DomainPolicy``, console or ``voisins domains
  block``). A block wins over everything above, the config files included: nothing is
  sent to it, fetched from it, or accepted from it. Domains an admin allowed there
  (``voisins domains allow``) count as ``federation.allowed``.

Answers are cached for ``ttl`` seconds; a negative answer is checked against the database
for that one domain, so a link made by another process (the CLI) is seen at once, and a
link removed elsewhere stops being honoured within ``ttl``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, sessionmaker

from fedi.config import Settings
from fedi.db import reading
from fedi.models import Actor, Delivery, DomainPolicy, Neighbour, OutboxActivity

# Neighbour.state values that let a hub exchange signed requests with us.
REACHABLE_STATES = ("requested", "linked")
FAREWELL_TYPES = ("Undo", "Reject")
ENDED_STATES = ("unlinked", "refused", "rejected")


@dataclass(frozen=True)
class _Snapshot:
    linked: frozenset[str]
    reachable: frozenset[str]
    servers: frozenset[str] = frozenset()  # allowed servers (config and admins), not blocked
    blocked: frozenset[str] = frozenset()


def _farewell_pending(domain: str | None = None):  # type: ignore[no-untyped-def]
    """Pending Undo/Reject deliveries of our instance actor (to one domain, or any)."""
    query = (select(Delivery.domain)
             .join(OutboxActivity, OutboxActivity.id == Delivery.activity_id)
             .join(Actor, Actor.id == Delivery.actor_id)
             .where(Delivery.state == "pending", OutboxActivity.type.in_(FAREWELL_TYPES),
                    Actor.local, Actor.type == "Application"))
    if domain is not None:
        query = query.where(Delivery.domain == domain)
    return query


@dataclass
class Peers:
    """A short-lived cache of the linked and reachable domains."""

    settings: Settings
    sessions: sessionmaker[Session]
    ttl: float = 0.5
    _snapshot: _Snapshot = field(default_factory=lambda: _Snapshot(frozenset(), frozenset()))
    _loaded_at: float = -1e9

    def __post_init__(self) -> None:
        # Peers is asked from inside services' write transactions: read without the lock.
        self.sessions = reading(self.sessions)

    def invalidate(self) -> None:
        self._loaded_at = -1e9

    def _load(self) -> _Snapshot:
        with self.sessions() as session:
            rows = session.execute(select(Neighbour.domain, Neighbour.state)).all()
            policies = session.execute(select(DomainPolicy.domain, DomainPolicy.policy)).all()
        blocked = {domain for domain, policy in policies if policy == "block"}
        servers = (set(self.settings.allowed) | {d for d, p in policies if p == "allow"}) - blocked
        # A hub listed in voisins.toml is linked unless an admin ended the link since
        # (console or CLI "unlink"): the latest decision holds until they link it again.
        ended = {domain for domain, state in rows if state in ENDED_STATES}
        linked = set(self.settings.neighbours) - ended
        reachable = linked | servers
        for domain, state in rows:
            if state == "linked":
                linked.add(domain)
            if state in REACHABLE_STATES:
                reachable.add(domain)
        return _Snapshot(frozenset(linked - blocked), frozenset(reachable - blocked),
                         frozenset(servers), frozenset(blocked))

    def _current(self) -> _Snapshot:
        now = time.monotonic()
        if now - self._loaded_at > self.ttl:
            self._snapshot = self._load()
            self._loaded_at = now
        return self._snapshot

    def linked(self) -> frozenset[str]:
        """The linked hubs: where the neighbourhood audience flows. Never an allowed server."""
        return self._current().linked

    allowed = linked  # the older name, kept for callers outside this module

    def servers(self) -> frozenset[str]:
        """The allowed servers that are not linked hubs (individual follows only)."""
        current = self._current()
        return current.servers - current.linked

    def is_blocked(self, domain: str) -> bool:
        """Did an admin block this domain? Checked against the database when the cached
        answer is no, so a block made by another process (the CLI) holds at once."""
        domain = domain.lower()
        if domain in self._current().blocked:
            return True
        with self.sessions() as session:
            policy = session.scalar(select(DomainPolicy.policy).where(
                DomainPolicy.domain == domain))
        if policy == "block":
            self.invalidate()
        return policy == "block"

    def is_linked(self, domain: str) -> bool:
        domain = domain.lower()
        return domain != self.settings.domain and domain in self.linked()

    def _recheck(self, domain: str, *, farewell: bool) -> bool:
        """A negative cached answer, checked against the database for this one domain."""
        with self.sessions() as session:
            state = session.scalar(select(Neighbour.state).where(Neighbour.domain == domain))
            policy = session.scalar(select(DomainPolicy.policy).where(
                DomainPolicy.domain == domain))
            if policy == "block":
                return False
            ok = state in REACHABLE_STATES or policy == "allow"
            if not ok and farewell:
                ok = bool(session.scalar(select(exists(_farewell_pending(domain)))))
        if ok and (state in REACHABLE_STATES or policy == "allow"):
            self.invalidate()
        return ok

    def is_allowed(self, domain: str) -> bool:
        """May this domain exchange signed requests with us (linked, or asked by us)?"""
        domain = domain.lower()
        if domain == self.settings.domain:
            return False
        if domain in self._current().reachable:
            return True
        return self._recheck(domain, farewell=False)

    def may_contact(self, domain: str) -> bool:
        """May we send to this domain (``is_allowed``, or a goodbye is still queued for it)?"""
        domain = domain.lower()
        if domain == self.settings.domain:
            return False
        if domain in self._current().reachable:
            return True
        return self._recheck(domain, farewell=True)

    def has_ended(self, domain: str) -> bool:
        """Did our link with this hub end (unlinked, refused, rejected)? Its signed GETs
        then get 404, as for anything it may not see."""
        with self.sessions() as session:
            state = session.scalar(select(Neighbour.state).where(
                Neighbour.domain == domain.lower()))
        return state in ENDED_STATES
