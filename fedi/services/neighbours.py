"""The hub link protocol: instance actors Follow each other's ``/actor``; accepted both ways
means linked.

One ``neighbours`` row per other hub, seen from here:

- ``requested``: we sent our Follow (an admin added the hub, the mesh proposed it, or we
  follow back a hub we accepted). Signed traffic with it is allowed (``fedi.peers``).
- ``pending``: it asked, an admin of ours decides (``voisins neighbours add|refuse``).
- ``linked``: our Follow was accepted and we accepted theirs.
- ``refused``: an admin of ours refused or unlinked it; never proposed again.
- ``unlinked`` / ``rejected``: it unlinked us / refused us; it may ask again.

A Follow is accepted at once when we asked the hub ourselves (``requested``) or when
``fedi.services.trust`` says so: an admin listed it, or it borders us and a hub our admins
listed vouches for it. Everything else waits for an admin. Everything is sent through ``outbox.publish`` to the other hub's ``/actor/inbox`` and goes out with the
delivery worker; unlinking drops what is still queued for the hub and sends an Undo.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fedi.config import Settings
from fedi.db import utcnow
from fedi.ids import new_id
from fedi.models import Actor, DirectoryListing, Neighbour, NeighbourSync, Status, TimelineEntry
from fedi.peers import ENDED_STATES
from fedi.services import trust
from fedi.services.accounts import ensure_instance_actor
from fedi.services.territory import clean_territory
from fedi.vocab import build
from fedi.vocab.context import AS
from fedi.vocab.parse import get_id, host_of
from outbox.context import PublishContext
from outbox.publish import publish
from outbox.queue import drop_for_domain, enqueue_deliveries

TERRITORY_CONTEXT: list[Any] = [AS, {"voisins": "https://voisins.social/ns#",
                                     "territory": "voisins:territory"}]
ENDED = ENDED_STATES


class LinkError(ValueError):
    """A link operation that cannot be done; the message says why."""


# --- addresses and sending -----------------------------------------------------------------


def hub_actor(ctx: PublishContext, domain: str) -> str:
    return f"{ctx.settings.scheme}://{domain}/actor"


def hub_inbox(ctx: PublishContext, domain: str) -> str:
    return f"{ctx.settings.scheme}://{domain}/actor/inbox"


def is_hub_actor(ctx: PublishContext, uri: str | None) -> bool:
    """Is ``uri`` the instance actor of its host (``scheme://host/actor``)?"""
    return bool(uri) and uri == hub_actor(ctx, host_of(uri))


def send(session: Session, ctx: PublishContext, doc: dict[str, Any], domains: list[str]) -> None:
    """Store a hub-level activity of our instance actor and queue it for each hub's
    ``/actor/inbox`` (sent by the delivery worker after commit)."""
    me = ensure_instance_actor(session, ctx.settings)
    row = publish(session, ctx, me, doc, federate=False)
    if domains and enqueue_deliveries(session, row, [hub_inbox(ctx, d) for d in domains]):
        session.info.setdefault("after_commit", []).append(ctx.wake)


def _follow_doc(ctx: PublishContext, follow_id: str, domain: str) -> dict[str, Any]:
    return {"id": follow_id, "type": "Follow", "actor": ctx.urls.instance_actor,
            "object": hub_actor(ctx, domain)}


def send_follow(session: Session, ctx: PublishContext, row: Neighbour) -> None:
    follow_id = f"{ctx.urls.instance_actor}/follows/{new_id()}"
    doc = build.follow(follow_id, ctx.urls.instance_actor, hub_actor(ctx, row.domain))
    doc["@context"] = TERRITORY_CONTEXT
    # Our territory, so that the other hub can tell adjacency before fetching anything.
    doc["territory"] = list(ctx.settings.territory)
    row.follow_out_uri = follow_id
    row.outgoing_accepted = False
    send(session, ctx, doc, [row.domain])


def _send_accept(session: Session, ctx: PublishContext, row: Neighbour) -> None:
    their = hub_actor(ctx, row.domain)
    inner = {"id": row.follow_in_uri, "type": "Follow", "actor": their,
             "object": ctx.urls.instance_actor}
    doc = build.accept(f"{ctx.urls.instance_actor}/accepts/{new_id()}",
                       ctx.urls.instance_actor, inner, their)
    send(session, ctx, doc, [row.domain])


def _send_reject(session: Session, ctx: PublishContext, row: Neighbour) -> None:
    their = hub_actor(ctx, row.domain)
    inner = {"id": row.follow_in_uri or f"{their}#follow", "type": "Follow", "actor": their,
             "object": ctx.urls.instance_actor}
    doc = build.reject(f"{ctx.urls.instance_actor}/rejects/{new_id()}",
                       ctx.urls.instance_actor, inner, their)
    send(session, ctx, doc, [row.domain])


def _send_goodbye(session: Session, ctx: PublishContext, row: Neighbour) -> None:
    """Undo our Follow; or, if we never sent one, Reject theirs."""
    if row.follow_out_uri is None:
        if row.follow_in_uri is not None:
            _send_reject(session, ctx, row)
        return
    inner = _follow_doc(ctx, row.follow_out_uri, row.domain)
    doc = build.undo(f"{inner['id']}/undo", ctx.urls.instance_actor, inner,
                     to=[hub_actor(ctx, row.domain)])
    send(session, ctx, doc, [row.domain])


def _announce(session: Session, ctx: PublishContext, kind: str, row: Neighbour) -> None:
    """Tell our linked hubs that our links changed (``Add``/``Remove`` of the hub to our
    links collection); they fetch the collection again. The hub just linked is told too: it
    may have tried to read our collections before the link was complete on our side."""
    others = sorted(d for (d,) in session.execute(select(Neighbour.domain).where(
        Neighbour.state == "linked")))
    if not others:
        return
    links = f"{ctx.urls.instance_actor}/links"
    doc = build.activity(kind, f"{links}/{kind.lower()}/{new_id()}", ctx.urls.instance_actor,
                         {"id": hub_actor(ctx, row.domain), "type": "Application",
                          "territory": list(row.territory or [])},
                         to=[hub_actor(ctx, d) for d in others])
    doc["@context"] = TERRITORY_CONTEXT
    doc["target"] = links
    send(session, ctx, doc, others)


# --- rows ------------------------------------------------------------------------------------


def find_row(session: Session, domain: str, *, lock: bool = False) -> Neighbour | None:
    query = select(Neighbour).where(Neighbour.domain == domain.lower())
    if lock:
        query = query.with_for_update()
    return session.scalar(query)


def get_or_create_row(session: Session, domain: str, *, state: str, source: str) -> Neighbour:
    """The row for ``domain``; created in a savepoint so that a concurrent insert (the mesh
    worker and an incoming Follow) is absorbed instead of failing the transaction."""
    row = find_row(session, domain, lock=True)
    if row is not None:
        return row
    try:
        with session.begin_nested():
            row = Neighbour(id=new_id(), domain=domain.lower(), state=state, source=source,
                            territory=[], created_at=utcnow(), updated_at=utcnow())
            session.add(row)
    except IntegrityError:
        row = find_row(session, domain, lock=True)
        assert row is not None
    return row


def mark_sync_due(session: Session, domain: str, when: datetime | None = None) -> None:
    row = session.get(NeighbourSync, domain)
    when = when or utcnow()
    if row is None:
        session.add(NeighbourSync(domain=domain, links=[], due_at=when, attempts=0))
    elif row.due_at is None or row.due_at > when:
        row.due_at = when


def _maybe_linked(session: Session, ctx: PublishContext, row: Neighbour) -> None:
    if row.state == "linked" or not (row.incoming_accepted and row.outgoing_accepted):
        return
    row.state = "linked"
    row.updated_at = utcnow()
    session.flush()
    mark_sync_due(session, row.domain)
    _announce(session, ctx, "Add", row)


def _forget_content(session: Session, domain: str) -> None:
    """Neighbourhood posts of that hub leave our members' timelines; its members leave the
    directory. (Every read path also checks the link, this only tidies up.)"""
    authors = select(Actor.id).where(Actor.domain == domain)
    statuses = select(Status.id).where(Status.actor_id.in_(authors),
                                       Status.visibility == "neighbourhood")
    session.execute(delete(TimelineEntry).where(TimelineEntry.status_id.in_(statuses))
                    .execution_options(synchronize_session=False))
    session.execute(delete(DirectoryListing).where(DirectoryListing.domain == domain)
                    .execution_options(synchronize_session=False))


def _end(session: Session, ctx: PublishContext, row: Neighbour, state: str) -> None:
    was_linked = row.state == "linked"
    drop_for_domain(session, row.domain, reason=f"link with {row.domain} ended ({state})")
    _forget_content(session, row.domain)
    row.state = state
    row.incoming_accepted = False
    row.outgoing_accepted = False
    row.updated_at = utcnow()
    sync = session.get(NeighbourSync, row.domain)
    if sync is not None:
        session.delete(sync)
    if was_linked:
        _announce(session, ctx, "Remove", row)


# --- what an admin (or the mesh) does --------------------------------------------------------


def request_link(session: Session, ctx: PublishContext, domain: str, *,
                 source: str = "admin") -> Neighbour:
    """Ask to link with ``domain`` (or approve its pending request): our Follow goes out."""
    domain = domain.lower()
    if domain == ctx.settings.domain:
        raise LinkError(f"{domain} is this hub itself")
    row = get_or_create_row(session, domain, state="requested", source=source)
    if row.state == "linked":
        return row
    if row.state == "refused" and source != "admin":
        return row  # an admin said no: the mesh never asks again
    if source == "admin":
        row.source = "admin"
    if row.state == "pending":
        row.incoming_accepted = True  # approving their request
        _send_accept(session, ctx, row)
    elif row.state in ENDED:
        row.incoming_accepted = False
    row.state = "requested"
    row.updated_at = utcnow()
    send_follow(session, ctx, row)
    return row


def refuse_request(session: Session, ctx: PublishContext, domain: str) -> Neighbour:
    row = find_row(session, domain, lock=True)
    if row is None or row.state != "pending":
        raise LinkError(f"{domain} has no link request waiting")
    _end(session, ctx, row, "refused")
    row.source = "admin"
    # Queued after _end dropped what was pending for that hub, so the Reject still goes.
    _send_reject(session, ctx, row)
    return row


def unlink(session: Session, ctx: PublishContext, domain: str) -> Neighbour:
    """End the link at once: pending deliveries dropped, an Undo sent, the hub refused from
    now on (403 on our inbox, no fetch), its neighbourhood posts no longer shown."""
    row = find_row(session, domain, lock=True)
    if row is None or row.state in ENDED:
        raise LinkError(f"{domain} is not a neighbour")
    if row.state == "pending":
        return refuse_request(session, ctx, domain)
    _end(session, ctx, row, "refused")
    row.source = "admin"
    # Queued after the drop, so it is the one thing still going to that hub.
    _send_goodbye(session, ctx, row)
    return row


# --- what another hub does (called by inbox.handlers.hubs) -----------------------------------


def _accept_follow(session: Session, ctx: PublishContext, row: Neighbour, follow_id: str) -> None:
    row.follow_in_uri = follow_id
    row.incoming_accepted = True
    row.updated_at = utcnow()
    _send_accept(session, ctx, row)
    if row.follow_out_uri is None or row.state in ENDED or row.state == "pending":
        send_follow(session, ctx, row)
    if row.state != "linked":
        row.state = "requested"
    _maybe_linked(session, ctx, row)


def wants_link(session: Session, ctx: PublishContext, domain: str, territory: list[str]) -> bool:
    """Would we accept a link from this hub without an admin (``fedi.services.trust``)?"""
    return trust.links_automatically(session, ctx.settings, domain, territory)


def receive_follow(session: Session, ctx: PublishContext, sender: Actor,
                   doc: dict[str, Any]) -> str:
    """A hub's instance actor follows ours. Returns what became of it."""
    territory = clean_territory((sender.raw or {}).get("territory"))
    row = get_or_create_row(session, sender.domain, state="pending", source="remote")
    row.actor_uri = sender.uri
    if territory:
        row.territory = territory
    if row.state == "refused":
        return "refused"
    # A hub we asked ourselves is accepted, except one the mesh proposed: the territory a
    # voucher gave for it was a claim, so the trust rule is checked again with its own.
    asked = row.state == "linked" or (row.state == "requested" and row.source != "mesh")
    if asked or wants_link(session, ctx, row.domain, row.territory or []):
        _accept_follow(session, ctx, row, doc["id"])
        return row.state
    row.state = "pending"
    row.follow_in_uri = doc["id"]
    row.updated_at = utcnow()
    return "pending"


def receive_link_request(session: Session, settings: Settings, domain: str, follow_id: str,
                         territory: list[str]) -> str:
    """A Follow of our ``/actor`` by a hub that may not sign to us yet, its signature
    verified and ``territory`` read from its own ``/actor``. Returns what becomes of it:

    - ``accept``: trusted (listed, or vouched for and bordering): the hub may now sign to
      us (``requested``) and the inbox worker accepts the Follow and sends ours;
    - ``pending``: kept for our admins; ``full``: the waiting list is full (caps);
    - ``refused``: an admin of ours refused it before.

    Approving a pending request sends our own Follow, which the other hub must answer with
    a signature.
    """
    trust.drop_expired(session, settings)
    row = find_row(session, domain, lock=True)
    if row is not None and row.state == "refused":
        return "refused"
    if row is not None and row.state in ("requested", "linked"):
        return "accept"  # we asked it meanwhile: the inbox takes it from here
    if trust.links_automatically(session, settings, domain, territory):
        row = get_or_create_row(session, domain, state="requested", source="vouch")
        row.state = "requested"
        row.territory = territory
        row.updated_at = utcnow()
        return "accept"
    if (row is None or row.state != "pending") and trust.room_for_request(
            session, settings, domain) is not None:
        return "full"
    row = get_or_create_row(session, domain, state="pending", source="remote")
    row.state = "pending"
    row.follow_in_uri = follow_id
    row.territory = territory
    row.updated_at = utcnow()
    return "pending"


def receive_accept(session: Session, ctx: PublishContext, sender: Actor,
                   doc: dict[str, Any]) -> bool:
    row = find_row(session, sender.domain, lock=True)
    inner = doc.get("object")
    follow_id = get_id(inner)
    if row is None or row.follow_out_uri is None or row.state in ENDED:
        return False
    if follow_id != row.follow_out_uri and not (
            isinstance(inner, dict) and get_id(inner.get("actor")) == ctx.urls.instance_actor):
        return False
    row.outgoing_accepted = True
    row.actor_uri = sender.uri
    territory = clean_territory((sender.raw or {}).get("territory"))
    if territory:
        row.territory = territory
    _maybe_linked(session, ctx, row)
    return True


def receive_end(session: Session, ctx: PublishContext, sender: Actor, state: str) -> bool:
    """Their Undo of their Follow (``unlinked``) or Reject of ours (``rejected``)."""
    row = find_row(session, sender.domain, lock=True)
    if row is None or row.state in ENDED:
        return False
    _end(session, ctx, row, state)
    return True


def links_changed(session: Session, sender: Actor) -> None:
    """A linked hub says its links changed: fetch its collection again soon."""
    row = find_row(session, sender.domain)
    if row is not None and row.state == "linked":
        mark_sync_due(session, sender.domain)


def retry_later(session: Session, domain: str, error: str, refresh: timedelta) -> None:
    row = session.get(NeighbourSync, domain)
    if row is None:
        return
    row.attempts += 1
    row.last_error = error[:500]
    row.due_at = utcnow() + min(timedelta(seconds=2 ** min(row.attempts, 12)), refresh)


def end_for_block(session: Session, ctx: PublishContext, domain: str) -> bool:
    """End the link with a hub an admin is blocking, without a word to it (nothing goes to
    a blocked domain): like ``unlink`` but no Undo. False when there was no link."""
    row = find_row(session, domain, lock=True)
    if row is None or row.state in ENDED:
        return False
    _end(session, ctx, row, "refused")
    row.source = "admin"
    return True
