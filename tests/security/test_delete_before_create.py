"""Out-of-order arrivals: a Delete that arrives before its Create still wins
(security-and-performance.md §7 item 4; protocol.md §5.2; issue #3 "a Delete that arrives
before its Create still wins"). Also: a Delete only removes the sender's own objects.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from sqlalchemy import select
from support.hostile import (
    activity,
    create_note,
    hostile_world,
    notifications_of,
    status_by_uri,
    timeline_of,
    wait_processed,
)
from support.world import query

from fedi.models import Tombstone


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    with hostile_world(tmp_path_factory.mktemp("order"), "order", remotes=2) as w:
        yield w


def deliver(world: SimpleNamespace, doc: dict, who) -> None:  # type: ignore[no-untyped-def]
    response = who.remote.post(world.inbox, doc, who)
    assert response.status_code == 202, response.text
    wait_processed(world.hub, doc["id"])


@pytest.mark.parametrize("shape", ["Tombstone", "bare URI"])
def test_delete_then_create__create_ignored(world: SimpleNamespace, shape: str) -> None:
    author = world.evil.add_actor(f"author-{shape.split()[0].lower()}")
    create = create_note(author, to=[world.alice], mentions=[world.alice])
    uri = create["object"]["id"]
    obj = {"id": uri, "type": "Tombstone"} if shape == "Tombstone" else uri
    deliver(world, activity(author, "Delete", obj, to=[world.alice]), author)
    assert query(world.hub, lambda s: s.get(Tombstone, uri)) is not None
    before = notifications_of(world.hub, "alice")
    deliver(world, create, author)
    assert status_by_uri(world.hub, uri) is None
    assert uri not in timeline_of(world.hub, "alice")
    assert notifications_of(world.hub, "alice") == before


def test_create_without_delete__stored(world: SimpleNamespace) -> None:
    """The control: the same Create with no Delete before it is stored and delivered."""
    author = world.evil.add_actor("author-control")
    create = create_note(author, to=[world.alice], mentions=[world.alice])
    deliver(world, create, author)
    assert create["object"]["id"] in timeline_of(world.hub, "alice")


def test_create_then_delete__removed(world: SimpleNamespace) -> None:
    author = world.evil.add_actor("author-inorder")
    create = create_note(author, to=[world.alice], mentions=[world.alice])
    uri = create["object"]["id"]
    deliver(world, create, author)
    deliver(world, activity(author, "Delete", {"id": uri, "type": "Tombstone"},
                            to=[world.alice]), author)
    assert status_by_uri(world.hub, uri).deleted_at is not None
    assert uri not in timeline_of(world.hub, "alice")


def test_delete_from_another_host__no_effect(world: SimpleNamespace) -> None:
    """A Delete (before or after the Create) of an object of another host is ignored: no
    tombstone that would later swallow the genuine Create, nothing removed."""
    author = world.evil.add_actor("author-victim")
    vandal = world.other.add_actor("vandal")
    create = create_note(author, to=[world.alice], mentions=[world.alice])
    uri = create["object"]["id"]
    deliver(world, activity(vandal, "Delete", {"id": uri, "type": "Tombstone"},
                            to=[world.alice]), vandal)
    assert query(world.hub, lambda s: s.scalar(select(Tombstone).where(
        Tombstone.uri == uri))) is None
    deliver(world, create, author)
    assert uri in timeline_of(world.hub, "alice")
    deliver(world, activity(vandal, "Delete", uri, to=[world.alice]), vandal)
    assert status_by_uri(world.hub, uri).deleted_at is None
    assert uri in timeline_of(world.hub, "alice")
