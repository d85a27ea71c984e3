"""Federation between real hubs: follows, followers-only posts, edits, deletes and DMs that
never leak. Each hub is a real `voisins serve` with its own database."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from support.hubs import HubProcess, wait_for
from support.world import actor, hub_session, query

from fedi.models import Delivery, Follow, Notification, OutboxActivity, Status, TimelineEntry
from fedi.services.posting import Draft, create_status, delete_status, edit_status
from fedi.services.relationships import accept_follow, follow
from fedi.services.visibility import can_see


def link(a: HubProcess, b: HubProcess) -> None:
    a.cli("neighbours", "add", b.domain)
    b.cli("neighbours", "add", a.domain)


@pytest.fixture
def world(make_hub: Callable[..., HubProcess], db_backend: str) -> dict[str, HubProcess]:
    # Every hub on the backend under test: what a hub shows depends on its own queries.
    a, b, c, d = (make_hub(name, backend=db_backend) for name in "abcd")
    link(a, b)
    link(b, c)
    d.cli("neighbours", "add", b.domain)  # D wants B; B never listed D
    a.add_user("alice")
    b.add_user("bob")
    b.add_user("bea")
    c.add_user("carol")
    d.add_user("dan")
    for h in (a, b, c, d):
        h.start()
    return {"a": a, "b": b, "c": c, "d": d}


def timeline_uris(hub: HubProcess, owner_uri: str) -> list[str]:
    def q(session):  # type: ignore[no-untyped-def]
        owner = actor(session, owner_uri)
        return list(session.scalars(select(Status.uri).join(TimelineEntry,
                    TimelineEntry.status_id == Status.id).where(TimelineEntry.owner_id == owner.id)))
    return query(hub, q)


def status_row(hub: HubProcess, uri: str) -> Status | None:
    return query(hub, lambda s: s.scalar(select(Status).where(Status.uri == uri)))


def test_follow_post_edit_delete_dm(world: dict[str, HubProcess]) -> None:
    """A member follows across hubs, sees followers-only posts, edits and deletes; others
    (a linked non-follower, an unlinked hub) neither receive nor fetch them."""
    a, b, c, d = world["a"], world["b"], world["c"], world["d"]
    alice_uri, bob_uri = f"{a.base}/users/alice", f"{b.base}/users/bob"
    a.cli("lookup", f"bob@{b.domain}")

    with hub_session(a) as (s, ctx):
        follow(s, ctx, actor(s, alice_uri), actor(s, bob_uri))
    # B stores the request; bob approves it; A learns of the Accept.
    wait_for(lambda: query(b, lambda s: s.scalar(select(func.count()).select_from(Follow)
                                                 .where(Follow.state == "requested"))) == 1,
             what="the follow request to reach B")
    assert query(b, lambda s: s.scalar(select(Notification.type))) == "follow_request"
    with hub_session(b) as (s, ctx):
        accept_follow(s, ctx, actor(s, bob_uri), actor(s, alice_uri))
    wait_for(lambda: query(a, lambda s: s.scalar(select(Follow.state))) == "accepted",
             what="the Accept to reach A")

    with hub_session(b) as (s, ctx):
        post = create_status(s, ctx, actor(s, bob_uri), Draft(text="Réunion jeudi au café"))
        post_uri = post.uri
        assert post.visibility == "followers"
        # The post's deliveries (the hubs' own link traffic has rows of its own).
        deliveries = list(s.scalars(select(Delivery.domain).join(
            OutboxActivity, OutboxActivity.id == Delivery.activity_id).where(
            OutboxActivity.object_uri == post_uri)))
    assert a.domain in deliveries and c.domain not in deliveries and d.domain not in deliveries
    wait_for(lambda: post_uri in timeline_uris(a, alice_uri), what="the post in alice's home")
    assert "Réunion jeudi" in status_row(a, post_uri).content

    # C is linked with B but follows nobody: its instance actor's signed fetch gets 404.
    refused = c.cli("fetch", post_uri, check=False)
    assert refused.returncode == 2 and "404" in refused.stderr
    assert status_row(c, post_uri) is None
    # D is not linked with B: 403 on fetch.
    refused = d.cli("fetch", post_uri, check=False)
    assert refused.returncode == 2 and "403" in refused.stderr

    with hub_session(b) as (s, ctx):
        status = s.scalar(select(Status).where(Status.uri == post_uri))
        edit_status(s, ctx, actor(s, bob_uri), status, "Réunion vendredi au café")
    wait_for(lambda: "vendredi" in status_row(a, post_uri).content, what="the edit to reach A")
    with hub_session(b) as (s, ctx):
        status = s.scalar(select(Status).where(Status.uri == post_uri))
        delete_status(s, ctx, actor(s, bob_uri), status)
    wait_for(lambda: status_row(a, post_uri).deleted_at is not None, what="the delete to reach A")
    assert post_uri not in timeline_uris(a, alice_uri)

    # A DM from alice to bob reaches bob only.
    with hub_session(a) as (s, ctx):
        dm = create_status(s, ctx, actor(s, alice_uri),
                           Draft(text=f"@bob@{b.domain} un devis pour la vitrine ?",
                                 visibility="direct"))
        dm_uri = dm.uri
    wait_for(lambda: dm_uri in timeline_uris(b, bob_uri), what="the DM to reach bob")
    assert dm_uri not in timeline_uris(b, f"{b.base}/users/bea")

    def bea_sees(s):  # type: ignore[no-untyped-def]
        row = s.scalar(select(Status).where(Status.uri == dm_uri))
        return can_see(s, actor(s, f"{b.base}/users/bea"), row, is_linked=lambda _d: True)

    assert query(b, bea_sees) is False
    assert query(b, lambda s: s.scalar(select(Notification.type).where(
        Notification.status_id.is_not(None)))) == "mention"
    assert status_row(c, dm_uri) is None

    # D's attempt to follow bob: B answers 403, the delivery dies visibly, nothing stored.
    d.cli("lookup", f"{b.base}/users/bob", check=False)  # refused: D cannot even fetch
    fetched = d.cli("fetch", bob_uri, check=False)
    assert "403" in fetched.stderr


def test_inbox__unlinked_hub_gets_403(world: dict[str, HubProcess]) -> None:
    """A hub that is not linked cannot deliver: 403 on the inbox, nothing stored."""
    b, d = world["b"], world["d"]
    with hub_session(d) as (s, ctx):
        from fedi.ids import new_id
        from outbox.publish import publish

        dan = actor(s, f"{d.base}/users/dan")
        doc = {"@context": "https://www.w3.org/ns/activitystreams",
               "id": f"{dan.uri}/follows/{new_id()}", "type": "Follow", "actor": dan.uri,
               "object": f"{b.base}/users/bob"}
        row = publish(s, ctx, dan, doc)
        s.flush()
        row_id = row.id
        # No stored remote actor for bob: enqueue straight to B's shared inbox.
        from outbox.queue import enqueue_deliveries

        enqueue_deliveries(s, row, [f"{b.base}/inbox"])
    mine = Delivery.activity_id == row_id  # not D's own link request to B
    wait_for(lambda: query(d, lambda s: s.scalar(select(Delivery.last_status).where(mine))) == 403,
             what="D's delivery to be refused")
    assert query(d, lambda s: s.scalar(select(Delivery.state).where(mine))) == "dead"
    assert query(b, lambda s: s.scalar(select(func.count()).select_from(Follow))) == 0
    json.dumps({})


def test_receiver_down_gets_everything_when_back(make_hub: Callable[..., HubProcess]) -> None:
    """Posts made while a follower's hub is down all arrive once it is back (retries)."""
    fast = "\n[delivery]\nretry_base_seconds = 0.3\nbreaker_cooldown_seconds = 0.5\n"
    a = make_hub("a", extra_config=fast)
    b = make_hub("b")
    link(a, b)
    a.add_user("alice")
    b.add_user("bob")
    a.start()
    b.start()
    alice_uri, bob_uri = f"{a.base}/users/alice", f"{b.base}/users/bob"
    b.cli("lookup", f"alice@{a.domain}")
    with hub_session(b) as (s, ctx):
        follow(s, ctx, actor(s, bob_uri), actor(s, alice_uri))
    wait_for(lambda: query(a, lambda s: s.scalar(select(Follow.state))) == "requested",
             what="bob's request to reach A")
    with hub_session(a) as (s, ctx):
        accept_follow(s, ctx, actor(s, alice_uri), actor(s, bob_uri))
    wait_for(lambda: query(b, lambda s: s.scalar(select(Follow.state))) == "accepted",
             what="the Accept to reach B")

    b.stop()
    uris = []
    with hub_session(a) as (s, ctx):
        for n in range(5):
            uris.append(create_status(s, ctx, actor(s, alice_uri), Draft(text=f"annonce {n}")).uri)

    def failed_attempts() -> int:
        return query(a, lambda s: s.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.state == "pending", Delivery.attempts >= 1, Delivery.last_error.is_not(None))))

    wait_for(lambda: failed_attempts() == 5, what="deliveries to fail while B is down")
    b.start()
    wait_for(lambda: set(uris) <= set(timeline_uris(b, bob_uri)), timeout=60,
             what="every post to reach bob once B is back")
    states = query(a, lambda s: sorted(set(s.scalars(select(Delivery.state)))))
    assert states == ["sent"]
