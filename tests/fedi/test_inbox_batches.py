"""The inbox worker processes a batch of stored activities in one transaction, with the
lookups of its posts made once for the batch (inbox.prefetch): what it stores must be what
one-at-a-time processing stores, whatever the batch mixes (a bad item, the same object
twice, a Delete before its Create, a follow that ends in the same batch)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from support.hubs import HubProcess
from support.world import hub_session

from fedi.db import make_engine, make_sessionmaker
from fedi.ids import Urls, new_id
from fedi.models import (
    Actor,
    Follow,
    InboxItem,
    MediaAttachment,
    Mention,
    Notification,
    Status,
    Tag,
    TimelineEntry,
)
from fedi.peers import Peers
from inbox.queue import store_activity
from inbox.worker import InboxWorker
from outbox.context import PublishContext

LINKED = "linked.example"


@pytest.fixture
def hub(make_hub: Callable[..., HubProcess], db_backend: str) -> HubProcess:
    h = make_hub("ib", backend=db_backend)
    text = h.config_path.read_text(encoding="utf-8")
    h.config_path.write_text(text.replace("neighbours = []", f'neighbours = ["{LINKED}"]'),
                             encoding="utf-8")
    h.add_user("carol")
    with hub_session(h) as (session, _ctx):
        carol = session.scalar(select(Actor).where(Actor.local, Actor.username == "carol"))
        assert carol is not None
        for name in ("ana", "bob"):
            uri = f"http://{LINKED}/users/{name}"
            remote = Actor(id=new_id(), uri=uri, username=name, domain=LINKED, local=False,
                           inbox=f"{uri}/inbox", shared_inbox=f"http://{LINKED}/inbox",
                           followers_url=f"{uri}/followers", fields=[])
            session.add(remote)
            session.flush()
            session.add(Follow(id=new_id(), follower_id=carol.id, followee_id=remote.id,
                               uri=f"{carol.uri}/follows/{new_id()}", state="accepted"))
    return h


def sender(name: str) -> str:
    return f"http://{LINKED}/users/{name}"


def create(name: str, token: str, **obj: Any) -> dict[str, Any]:
    uri = f"{sender(name)}/statuses/{token}"
    note = {"id": uri, "type": "Note", "attributedTo": sender(name), "content": f"<p>{token}</p>",
            "to": [f"{sender(name)}/followers"], "cc": [], **obj}
    return {"id": f"{uri}/activity/{new_id()}", "type": "Create", "actor": sender(name),
            "to": note["to"], "object": note}


def delete(name: str, token: str) -> dict[str, Any]:
    return {"id": f"{sender(name)}/statuses/{token}#delete", "type": "Delete",
            "actor": sender(name), "to": [f"{sender(name)}/followers"],
            "object": f"{sender(name)}/statuses/{token}"}


def process(hub: HubProcess, docs: list[dict[str, Any]]) -> dict[str, Any]:
    """Store ``docs`` in this order and let one worker batch process them."""
    settings = hub.settings()
    engine = make_engine(settings.database_url)
    try:
        sessions = make_sessionmaker(engine)
        for doc in docs:
            assert store_activity(sessions, doc["id"], doc, doc["actor"],
                                  f"{doc['actor']}#main-key", None)
        peers = Peers(settings, sessions)
        ctx = PublishContext(settings=settings, urls=Urls(settings.base_url),
                             is_allowed=peers.is_allowed, linked_domains=peers.allowed)
        worker = InboxWorker(sessions, ctx)
        worker.budget = None  # one batch, however slow the machine
        assert worker.run_once() == len(docs)
        with sessions() as s:
            carol = s.scalar(select(Actor.id).where(Actor.local, Actor.username == "carol"))
            return {
                "states": dict(s.execute(select(InboxItem.activity_uri, InboxItem.state))
                               .all()),
                "statuses": sorted(s.scalars(select(Status.uri).where(
                    Status.deleted_at.is_(None)))),
                "timeline": sorted(s.scalars(select(Status.uri).join(
                    TimelineEntry, TimelineEntry.status_id == Status.id).where(
                    TimelineEntry.owner_id == carol))),
                "rows": s.scalar(select(func.count()).select_from(Status)),
            }
    finally:
        engine.dispose()


def uri(name: str, token: str) -> str:
    return f"{sender(name)}/statuses/{token}"


def test_a_batch_of_posts_reaches_followers_and_a_bad_item_fails_alone(
        hub: HubProcess) -> None:
    broken = create("bob", "broken")
    del broken["object"]["id"]  # the handler raises on it (the route would have refused it)
    docs = [create("ana", "a1"), create("bob", "b1"), broken, create("ana", "a2")]
    out = process(hub, docs)
    assert out["timeline"] == sorted([uri("ana", "a1"), uri("bob", "b1"), uri("ana", "a2")])
    assert out["states"] == {docs[0]["id"]: "done", docs[1]["id"]: "done",
                             broken["id"]: "pending", docs[3]["id"]: "done"}
    with hub_session(hub) as (session, _ctx):
        row = session.scalar(select(InboxItem).where(InboxItem.activity_uri == broken["id"]))
        assert row is not None and row.attempts == 1 and "KeyError" in (row.last_error or "")


def test_the_same_object_created_twice_in_one_batch_is_stored_once(hub: HubProcess) -> None:
    first, again = create("ana", "same"), create("ana", "same", content="<p>autre</p>")
    out = process(hub, [first, again, create("bob", "other")])
    assert out["rows"] == 2
    assert out["timeline"] == sorted([uri("ana", "same"), uri("bob", "other")])
    assert set(out["states"].values()) == {"done"}


def test_a_delete_before_its_create_in_one_batch_wins(hub: HubProcess) -> None:
    out = process(hub, [create("bob", "kept"), delete("ana", "gone"), create("ana", "gone"),
                        create("ana", "later")])
    assert out["statuses"] == sorted([uri("bob", "kept"), uri("ana", "later")])
    assert set(out["states"].values()) == {"done"}


def test_a_post_after_an_undone_follow_in_one_batch_skips_the_former_follower(
        hub: HubProcess) -> None:
    with hub_session(hub) as (session, _ctx):
        follow = session.scalar(select(Follow).join(Actor, Actor.id == Follow.followee_id)
                                .where(Actor.uri == sender("bob")))
        assert follow is not None
        follow_uri = follow.uri
    # carol's follow of bob is local: bob "rejects" it, as a hub does when it removes a
    # follower; the post after it must not reach carol.
    reject = {"id": f"{sender('bob')}/rejects/{new_id()}", "type": "Reject",
              "actor": sender("bob"),
              "object": {"id": follow_uri, "type": "Follow",
                         "actor": hub.settings().base_url + "/users/carol",
                         "object": sender("bob")}}
    out = process(hub, [create("bob", "before"), reject, create("bob", "after"),
                        create("ana", "a")])
    assert set(out["states"].values()) == {"done"}
    assert out["timeline"] == sorted([uri("bob", "before"), uri("ana", "a")])


def test_a_batch_mixing_hashtags_mentions_images_and_notifications_stores_them_all(
        hub: HubProcess) -> None:
    with hub_session(hub) as (session, _ctx):
        follow = session.scalar(select(Follow).join(Actor, Actor.id == Follow.followee_id)
                                .where(Actor.uri == sender("ana")))
        assert follow is not None
        follow.notify = True  # carol asked to be told of ana's posts
    carol = hub.settings().base_url + "/users/carol"
    mention = create("bob", "m1", tag=[{"type": "Mention", "href": carol}])
    mention["object"]["to"].append(carol)
    out = process(hub, [
        create("ana", "t1", tag=[{"type": "Hashtag", "name": "#jardin"}]),
        create("bob", "plain"),
        mention,
        create("ana", "img", attachment=[{"type": "Document", "mediaType": "image/png",
                                          "url": f"http://{LINKED}/media/1.png"}]),
        create("bob", "t2", tag=[{"type": "Hashtag", "name": "#jardin"}]),
    ])
    assert set(out["states"].values()) == {"done"}
    assert out["rows"] == 5
    with hub_session(hub) as (session, _ctx):
        tagged = session.scalars(select(Status.uri).join(Tag, Tag.status_id == Status.id)
                                 .where(Tag.name == "jardin")).all()
        assert sorted(tagged) == sorted([uri("ana", "t1"), uri("bob", "t2")])
        assert session.scalar(select(func.count()).select_from(Mention)) == 1
        assert session.scalar(select(func.count()).select_from(MediaAttachment)) == 1
        told = session.execute(select(Notification.type, Status.uri).join(
            Status, Status.id == Notification.status_id)).all()
        assert sorted(told) == sorted([("status", uri("ana", "t1")),
                                       ("mention", uri("bob", "m1")),
                                       ("status", uri("ana", "img"))])


def test_a_batch_over_its_time_budget_leaves_the_rest_pending_for_the_next(
        hub: HubProcess) -> None:
    settings = hub.settings()
    engine = make_engine(settings.database_url)
    try:
        sessions = make_sessionmaker(engine)
        docs = [create("ana", f"n{i}") for i in range(3)]
        for doc in docs:
            store_activity(sessions, doc["id"], doc, doc["actor"], f"{doc['actor']}#main-key",
                           None)
        peers = Peers(settings, sessions)
        ctx = PublishContext(settings=settings, urls=Urls(settings.base_url),
                             is_allowed=peers.is_allowed, linked_domains=peers.allowed)
        worker = InboxWorker(sessions, ctx)
        worker.budget = 0.0  # spent at once: one item per batch
        assert [worker.run_once() for _ in range(4)] == [1, 1, 1, 0]
        with sessions() as s:
            assert set(s.scalars(select(InboxItem.state))) == {"done"}
            assert s.scalar(select(func.count()).select_from(Status)) == 3
    finally:
        engine.dispose()
