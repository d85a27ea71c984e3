"""Trust between hubs is granted, never claimed (DESIGN.md, FEDERATION.md).

A territory in a remote ``/actor`` is a claim, not a credential. A hub is linked without an
admin only when:

- **listed**: one of our admins listed it (``federation.neighbours``, or ``voisins neighbours
  add|approve``, which makes its row's ``source`` ``admin``); or
- **vouched for**: its own ``/actor`` territory borders ours (setting ``auto_link_adjacent``)
  *and* a *voucher* names it in its links collection (``/actor/links``, kept in
  ``NeighbourSync.links``). A voucher is a hub we are linked with *and* that our admins
  listed. A hub linked because it was vouched for (or proposed by the mesh) vouches for
  nobody: a vouch never chains.

Everything else waits for an admin (``voisins neighbours approve|refuse``), and only after
its signature was verified (``fedi.web.hubs``). Waiting requests are capped per domain and
in total, and expire (``federation.max_pending_links``, ``max_pending_links_per_domain``,
``pending_link_days``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from fedi.config import Settings
from fedi.db import utcnow
from fedi.models import Neighbour, NeighbourSync
from fedi.peers import ENDED_STATES
from fedi.services.hub_settings import get_setting
from fedi.services.territory import adjacent_to_us

if TYPE_CHECKING:
    from publicsuffixlist import PublicSuffixList

#: ``Neighbour.source`` of a row an admin made (added or approved).
ADMIN_SOURCE = "admin"


@cache
def _suffixes() -> PublicSuffixList:
    # The list ships inside the package (no download); loading it takes ~0.2 s, so once,
    # on first use rather than at import.
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


def request_group(domain: str) -> str:
    """What the per-domain cap counts by: the registrable domain (``a.evil.example`` and
    ``b.evil.example`` are one; ``x.asso.fr`` and ``y.asso.fr`` are two, by the Public
    Suffix List), an IP address on its own; ports never count."""
    host = domain.lower().rsplit(":", 1)[0] if not domain.startswith("[") else domain
    host = host.strip("[]").rstrip(".")
    try:
        return str(ipaddress.ip_address(host.split("]", 1)[0]))
    except ValueError:
        pass
    return _suffixes().privatesuffix(host) or host


# --- who vouches ---------------------------------------------------------------------------


def is_listed(settings: Settings, row: Neighbour | None, domain: str) -> bool:
    """Did our admins list this hub (config, or added/approved by an admin)?"""
    if row is not None and row.state in ENDED_STATES:  # an admin ended it since
        return False
    return domain in settings.neighbours or (row is not None and row.source == ADMIN_SOURCE
                                             and row.state in ("requested", "linked"))


def vouchers(session: Session, settings: Settings) -> set[str]:
    """Hubs whose links collection may vouch for others: linked *and* listed by our admins."""
    admin_linked = set(session.scalars(select(Neighbour.domain).where(
        Neighbour.state == "linked", Neighbour.source == ADMIN_SOURCE)))
    ended = set(session.scalars(select(Neighbour.domain).where(
        Neighbour.state.in_(ENDED_STATES))))
    # A configured neighbour counts as linked (fedi.peers) unless the link ended since.
    return admin_linked | (set(settings.neighbours) - ended)


def vouched_by(session: Session, settings: Settings, domain: str) -> list[str]:
    """The vouchers whose last known links collection names ``domain``."""
    trusted = vouchers(session, settings) - {domain}
    if not trusted:
        return []
    rows = session.scalars(select(NeighbourSync).where(NeighbourSync.domain.in_(trusted)))
    return sorted(row.domain for row in rows
                  if any(isinstance(link, dict) and link.get("domain") == domain
                         for link in row.links or []))


def links_automatically(session: Session, settings: Settings, domain: str,
                        territory: Iterable[str]) -> bool:
    """Would we link with this hub without an admin? ``territory`` must be the hub's own
    (from its signed-for ``/actor``), not a claim in the request."""
    row = session.scalar(select(Neighbour).where(Neighbour.domain == domain))
    if is_listed(settings, row, domain):
        return True
    if not get_setting(session, "auto_link_adjacent") or not adjacent_to_us(settings,
                                                                            territory):
        return False
    return bool(vouched_by(session, settings, domain))


# --- the waiting list ----------------------------------------------------------------------


def pending_expiry(settings: Settings, now: datetime | None = None) -> datetime:
    """Pending requests last updated before this are expired."""
    return (now or utcnow()) - timedelta(days=settings.pending_link_days)


def drop_expired(session: Session, settings: Settings, now: datetime | None = None) -> int:
    """Forget link requests that waited longer than ``pending_link_days``."""
    result = session.execute(delete(Neighbour).where(
        Neighbour.state == "pending", Neighbour.updated_at < pending_expiry(settings, now))
        .execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


def room_for_request(session: Session, settings: Settings, domain: str) -> str | None:
    """None when one more pending request from ``domain`` fits the caps, else why not."""
    waiting = [d for d in session.scalars(select(Neighbour.domain).where(
        Neighbour.state == "pending", Neighbour.domain != domain))]
    if len(waiting) >= settings.max_pending_links:
        return "too many link requests are waiting here"
    group = request_group(domain)
    if sum(1 for d in waiting if request_group(d) == group) >= \
            settings.max_pending_links_per_domain:
        return f"too many link requests from {group} are waiting here"
    return None
