"""Replay inside the window: the identical signed POST is processed once (catalogue row 10
of security-and-performance.md §5.1; §7 item 4, idempotency by activity id and, for
Create, by object id). Run on SQLite and on PostgreSQL, where the unique activity id is
what absorbs concurrent replays.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select
from support.hostile import (
    HostileRemote,
    create_note,
    member_uri,
    notifications_of,
    pg_database_url,
    start_hub,
    timeline_of,
    wait_processed,
)
from support.world import query

from fedi.models import InboxItem, Notification, Status


@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    url = pg_database_url(request, "replay") if request.param == "postgresql" else None
    with HostileRemote() as evil:
        hub = start_hub(tmp_path_factory.mktemp(f"replay-{request.param}"), "replay",
                        database_url=url, users=["alice"], allow=[evil.domain])
        try:
            yield SimpleNamespace(hub=hub, evil=evil, inbox=f"{hub.base}/inbox",
                                  alice=member_uri(hub, "alice"))
        finally:
            hub.stop()


def count(world: SimpleNamespace, model, *where) -> int:  # type: ignore[no-untyped-def]
    return query(world.hub, lambda s: s.scalar(select(func.count()).select_from(model)
                                               .where(*where)))


def test_identical_post_replayed__processed_once(world: SimpleNamespace) -> None:
    """The same bytes and headers, sent again after processing and then eight times at once:
    one stored activity, one status, one notification for the mentioned member."""
    mallory = world.evil.add_actor("replayer")
    doc = create_note(mallory, to=[world.alice], mentions=[world.alice])
    body = json.dumps(doc).encode()
    headers = world.evil.sign("POST", world.inbox, mallory, body)
    first = world.evil.send("POST", world.inbox, headers, body)
    assert first.status_code == 202, first.text
    wait_processed(world.hub, doc["id"])

    again = world.evil.send("POST", world.inbox, headers, body)
    assert again.status_code == 202, again.text  # absorbed, not an error for the sender
    statuses: list[int] = []

    def replay() -> None:
        statuses.append(world.evil.send("POST", world.inbox, headers, body).status_code)

    threads = [threading.Thread(target=replay) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert statuses == [202] * 8
    wait_processed(world.hub, doc["id"])
    assert count(world, InboxItem, InboxItem.activity_uri == doc["id"]) == 1
    assert count(world, Status, Status.uri == doc["object"]["id"]) == 1
    status_id = query(world.hub, lambda s: s.scalar(
        select(Status.id).where(Status.uri == doc["object"]["id"])))
    assert notifications_of(world.hub, "alice").count(("mention", status_id)) == 1
    assert timeline_of(world.hub, "alice").count(doc["object"]["id"]) == 1


def test_concurrent_first_delivery__stored_once(world: SimpleNamespace) -> None:
    """Eight copies racing on a never-seen activity: all answered 202, one row stored."""
    mallory = world.evil.add_actor("racer")
    doc = create_note(mallory, to=[world.alice], mentions=[world.alice])
    body = json.dumps(doc).encode()
    headers = world.evil.sign("POST", world.inbox, mallory, body)
    # Warm the key so that the copies race on the insert, not on the key fetch.
    warm = create_note(mallory, to=[world.alice], mentions=[world.alice])
    assert world.evil.post(world.inbox, warm, mallory).status_code == 202
    barrier = threading.Barrier(8)
    statuses: list[int] = []

    def post() -> None:
        barrier.wait(timeout=10)
        statuses.append(world.evil.send("POST", world.inbox, headers, body).status_code)

    threads = [threading.Thread(target=post) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(statuses) == [202] * 8, statuses
    wait_processed(world.hub, doc["id"])
    assert count(world, InboxItem, InboxItem.activity_uri == doc["id"]) == 1
    assert count(world, Status, Status.uri == doc["object"]["id"]) == 1


def test_same_object_under_new_activity_id__one_status(world: SimpleNamespace) -> None:
    """A Create re-sent with a fresh activity id (a retry by a sloppy sender): stored twice
    as activities, but the object makes one status and one notification."""
    mallory = world.evil.add_actor("resender")
    doc = create_note(mallory, to=[world.alice], mentions=[world.alice])
    assert world.evil.post(world.inbox, doc, mallory).status_code == 202
    wait_processed(world.hub, doc["id"])
    resent = dict(doc, id=doc["id"] + "-retry")
    assert world.evil.post(world.inbox, resent, mallory).status_code == 202
    wait_processed(world.hub, resent["id"])
    assert count(world, Status, Status.uri == doc["object"]["id"]) == 1
    status_id = query(world.hub, lambda s: s.scalar(
        select(Status.id).where(Status.uri == doc["object"]["id"])))
    assert count(world, Notification, Notification.status_id == status_id) == 1
