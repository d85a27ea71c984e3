"""Other domains an admin allowed or blocked (console « Voisins », ``voisins domains``).

- **allow**: the domain becomes an allowed server, as if listed in ``federation.allowed``
  (individual follows only, never the neighbourhood audience; FEDERATION.md).
- **block**: nothing goes to it and nothing comes from it, whatever the config or a link
  says (``fedi.peers``): pending deliveries to it are dropped, its signed inbox POSTs and
  fetches get 403, our fetches to it are refused, a link with it ends without a word to it,
  and follows between its actors and our members are removed. Lifting the block (``remove``)
  gives the ability back, not the follows nor the link.

Domains are matched exactly (``host[:port]``, lower-case), like the allow-list.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from fedi.config import Settings, normalize_domain
from fedi.db import utcnow
from fedi.models import Actor, DomainPolicy, Follow
from fedi.models.domain_policy import POLICIES
from fedi.services import audit, neighbours
from fedi.services.hub_health import LinkHealth, domain_health
from fedi.services.membership import By
from outbox.context import PublishContext
from outbox.queue import drop_for_domain

MAX_REASON = 500


class DomainError(ValueError):
    """A domain decision that cannot be made; ``message(lang)`` says why in French or English."""

    def __init__(self, english: str, french: str) -> None:
        super().__init__(english)
        self.french = french

    def message(self, lang: str) -> str:
        return self.french if lang == "fr" else str(self)


@dataclass(frozen=True)
class BlockOutcome:
    dropped_deliveries: int
    removed_follows: int
    link_ended: bool


def clean_domain(raw: str, own_domain: str) -> str:
    """A ``host[:port]`` an admin typed, normalised; DomainError if it is not one, or ours."""
    try:
        domain = normalize_domain(raw[:300])
    except ValueError:
        raise DomainError(f"{raw[:100]!r} is not a domain name (host or host:port)",
                          f"« {raw[:100]} » n'est pas un nom de domaine (hôte ou hôte:port)"
                          ) from None
    if domain == own_domain:
        raise DomainError(f"{domain} is this hub itself", f"{domain} est ce hub lui-même")
    return domain


def policies(session: Session) -> list[DomainPolicy]:
    return list(session.scalars(select(DomainPolicy).order_by(DomainPolicy.policy,
                                                              DomainPolicy.domain)))


def blocked_domains(session: Session) -> list[DomainPolicy]:
    return list(session.scalars(select(DomainPolicy).where(DomainPolicy.policy == "block")
                                .order_by(DomainPolicy.domain)))


def digest(domain: str) -> str:
    """What Mastodon's ``/api/v1/instance/domain_blocks`` shows next to a domain."""
    return hashlib.sha256(domain.encode()).hexdigest()


def _set(session: Session, domain: str, policy: str, by: By, reason: str) -> str | None:
    """Store the decision; returns the previous policy (None when there was none)."""
    assert policy in POLICIES
    row = session.get(DomainPolicy, domain)
    before = row.policy if row is not None else None
    if row is None:
        row = DomainPolicy(domain=domain)
        session.add(row)
    row.policy = policy
    row.reason = reason.strip()[:MAX_REASON]
    row.created_by = by.username[:255]
    row.created_at = utcnow()
    session.flush()
    return before


def allow(session: Session, by: By, domain: str, reason: str = "") -> None:
    """Let ``domain`` in as an allowed server (a block on it is lifted)."""
    before = _set(session, domain, "allow", by, reason)
    audit.record(session, by.username, by.role, "domain.allow", domain,
                 {"reason": reason[:MAX_REASON], "before": before or ""})


def _remove_follows(session: Session, domain: str) -> int:
    theirs = select(Actor.id).where(Actor.domain == domain)
    result = session.execute(delete(Follow).where(or_(
        Follow.follower_id.in_(theirs), Follow.followee_id.in_(theirs)))
        .execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


def block(session: Session, ctx: PublishContext, by: By, domain: str,
          reason: str = "") -> BlockOutcome:
    """Block ``domain``: no delivery, fetch or request either way from now on."""
    before = _set(session, domain, "block", by, reason)
    link_ended = neighbours.end_for_block(session, ctx, domain)
    dropped = drop_for_domain(session, domain, reason=f"{domain} is blocked")
    follows = _remove_follows(session, domain)
    audit.record(session, by.username, by.role, "domain.block", domain, {
        "reason": reason[:MAX_REASON], "before": before or "", "dropped_deliveries": dropped,
        "removed_follows": follows, "link_ended": link_ended})
    return BlockOutcome(dropped, follows, link_ended)


def remove(session: Session, by: By, domain: str) -> str:
    """Forget the decision about ``domain`` (unblock, or stop allowing); returns it."""
    row = session.get(DomainPolicy, domain)
    if row is None:
        raise DomainError(f"{domain} is neither allowed nor blocked here",
                          f"{domain} n'est ni autorisé ni bloqué ici")
    before = row.policy
    session.delete(row)
    session.flush()
    audit.record(session, by.username, by.role, f"domain.un{before}", domain)
    return before


@dataclass(frozen=True)
class OtherServer:
    """A domain that is not a linked hub, as the console lists it, with its delivery health."""

    domain: str
    policy: str  # allow · block
    source: str  # config (federation.allowed) · admin
    reason: str
    by: str
    health: LinkHealth


def other_servers(session: Session, settings: Settings) -> list[OtherServer]:
    """Allowed servers (the config's and the admins') and blocked domains, by domain."""
    rows = {row.domain: row for row in policies(session)}
    out = [OtherServer(row.domain, row.policy, "admin", row.reason, row.created_by,
                       domain_health(session, row.domain, row.policy)) for row in rows.values()]
    out += [OtherServer(domain, "allow", "config", "", "",
                        domain_health(session, domain, "allow"))
            for domain in settings.allowed if domain not in rows]
    return sorted(out, key=lambda s: (s.policy, s.domain))
