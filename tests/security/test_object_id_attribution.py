"""Issue 13 item 5: object ids are checked per author, not only per host.

A member of a linked hub must not create a note whose id sits under another member's path
on the same hub (``/users/bob/statuses/1`` sent by ``/users/alice``): the real note would
then be ignored. Where the id's shape does not name its author (``/objects/…``), an id
already known from another actor is refused and never overwritten, and a Delete by one
actor does not tombstone an id another actor creates later. Update and Delete of someone
else's object change nothing. Real hub, real signed POSTs from one hostile host with
several actors; what a member sees is read through the Mastodon API.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select
from support.client import MemberClient
from support.hostile import (
    activity,
    create_note,
    hostile_world,
    new_token,
    pg_database_url,
    status_by_uri,
    wait_processed,
)
from support.world import query

from fedi.models import Actor, Status


@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    url = pg_database_url(request, "ids") if request.param == "postgresql" else None
    with hostile_world(tmp_path_factory.mktemp(f"ids-{request.param}"), "ids",
                       database_url=url) as w:
        w.client = MemberClient(w.hub, "alice")
        w.mallory = w.evil.add_actor("mallory")
        w.bob = w.evil.add_actor("bob")
        # Pleroma-like actors: their object ids (/objects/…) do not name their author.
        w.carol = w.evil.add_actor("carol", path="/people/carol")
        w.dave = w.evil.add_actor("dave", path="/people/dave")
        yield w
        w.client.close()


def note(world: SimpleNamespace, who: Any, object_id: str, content: str) -> dict[str, Any]:
    return create_note(who, to=[world.alice], mentions=[world.alice], object_id=object_id,
                       content=f"<p>{content}</p>")


def deliver(world: SimpleNamespace, doc: dict[str, Any], who: Any) -> None:
    response = who.remote.post(world.inbox, doc, who)
    assert response.status_code == 202, response.text
    wait_processed(world.hub, doc["id"])


def refused(world: SimpleNamespace, doc: dict[str, Any], who: Any) -> str:
    response = who.remote.post(world.inbox, doc, who)
    assert response.status_code == 400, (response.status_code, response.text)
    return str(response.json()["error"])


def author_of(world: SimpleNamespace, uri: str) -> str | None:
    return query(world.hub, lambda s: s.scalar(
        select(Actor.uri).join(Status, Status.actor_id == Actor.id).where(Status.uri == uri)))


def test_create_under_another_members_path__refused_and_real_one_kept(
        world: SimpleNamespace) -> None:
    uri = f"{world.bob.uri}/statuses/{new_token()}"
    assert "another actor" in refused(world, note(world, world.mallory, uri, "fake"),
                                      world.mallory)
    assert status_by_uri(world.hub, uri) is None
    deliver(world, note(world, world.bob, uri, "the real one"), world.bob)
    entity = world.client.home_status(uri)
    assert entity["account"]["acct"] == f"bob@{world.evil.domain}"
    assert "the real one" in entity["content"]


def test_activity_id_under_another_members_path__refused(world: SimpleNamespace) -> None:
    doc = note(world, world.mallory, f"{world.mallory.uri}/statuses/{new_token()}", "x")
    doc["id"] = f"{world.bob.uri}/statuses/{new_token()}/activity"
    refused(world, doc, world.mallory)
    assert status_by_uri(world.hub, doc["object"]["id"]) is None


def test_dot_segments_in_id__refused(world: SimpleNamespace) -> None:
    uri = f"{world.mallory.uri}/../bob/statuses/{new_token()}"
    refused(world, note(world, world.mallory, uri, "x"), world.mallory)
    assert status_by_uri(world.hub, uri) is None


def test_delete_under_another_members_path__refused_before_the_create(
        world: SimpleNamespace) -> None:
    """A Delete sent first would leave a tombstone that swallows bob's real Create."""
    uri = f"{world.bob.uri}/statuses/{new_token()}"
    refused(world, activity(world.mallory, "Delete", {"id": uri, "type": "Tombstone"},
                            to=[world.alice]), world.mallory)
    deliver(world, note(world, world.bob, uri, "still here"), world.bob)
    assert "still here" in world.client.home_status(uri)["content"]


def test_unshaped_id_known_from_another_actor__not_overwritten(world: SimpleNamespace) -> None:
    uri = world.evil.url(f"/objects/{new_token()}")
    deliver(world, note(world, world.carol, uri, "carol wrote this"), world.carol)
    deliver(world, note(world, world.dave, uri, "dave took it"), world.dave)
    assert author_of(world, uri) == world.carol.uri
    entity = world.client.home_status(uri)
    assert "carol wrote this" in entity["content"]
    assert entity["account"]["acct"] == f"carol@{world.evil.domain}"


def test_delete_by_another_actor_first__does_not_swallow_the_create(
        world: SimpleNamespace) -> None:
    uri = world.evil.url(f"/objects/{new_token()}")
    deliver(world, activity(world.dave, "Delete", {"id": uri, "type": "Tombstone"},
                            to=[world.alice]), world.dave)
    deliver(world, note(world, world.carol, uri, "carol survives"), world.carol)
    assert "carol survives" in world.client.home_status(uri)["content"]


def test_delete_by_its_author_first__still_wins(world: SimpleNamespace) -> None:
    """The control: carol's own Delete before her Create still wins."""
    uri = world.evil.url(f"/objects/{new_token()}")
    deliver(world, activity(world.carol, "Delete", {"id": uri, "type": "Tombstone"},
                            to=[world.alice]), world.carol)
    deliver(world, note(world, world.carol, uri, "deleted"), world.carol)
    assert status_by_uri(world.hub, uri) is None


def test_create_with_an_actors_id__refused(world: SimpleNamespace) -> None:
    deliver(world, note(world, world.carol, world.evil.url(f"/objects/{new_token()}"), "hi"),
            world.carol)  # carol is now a stored actor
    doc = note(world, world.dave, world.carol.uri, "I am carol")
    doc["id"] = world.evil.url(f"/activities/{new_token()}")
    deliver(world, doc, world.dave)
    assert status_by_uri(world.hub, world.carol.uri) is None


def test_update_of_another_actors_object__nothing_changes(world: SimpleNamespace) -> None:
    uri = world.evil.url(f"/objects/{new_token()}")
    deliver(world, note(world, world.carol, uri, "original"), world.carol)
    obj = note(world, world.dave, uri, "vandalised")["object"]
    deliver(world, activity(world.dave, "Update", obj, to=[world.alice]), world.dave)
    obj["attributedTo"] = world.carol.uri  # claiming to be the author is refused outright
    refused(world, activity(world.dave, "Update", obj, to=[world.alice]), world.dave)
    entity = world.client.get(f"/api/v1/statuses/{world.client.home_status(uri)['id']}")
    assert "original" in entity["content"] and entity["edited_at"] is None


def test_update_under_another_members_path__refused(world: SimpleNamespace) -> None:
    uri = f"{world.bob.uri}/statuses/{new_token()}"
    deliver(world, note(world, world.bob, uri, "bob's words"), world.bob)
    obj = note(world, world.mallory, uri, "mallory's words")["object"]
    refused(world, activity(world.mallory, "Update", obj, to=[world.alice]), world.mallory)
    assert "bob's words" in world.client.home_status(uri)["content"]


def test_delete_of_another_actors_object__nothing_changes(world: SimpleNamespace) -> None:
    uri = world.evil.url(f"/objects/{new_token()}")
    deliver(world, note(world, world.carol, uri, "keep me"), world.carol)
    status_id = world.client.home_status(uri)["id"]
    deliver(world, activity(world.dave, "Delete", {"id": uri, "type": "Tombstone"},
                            to=[world.alice]), world.dave)
    shaped = f"{world.bob.uri}/statuses/{new_token()}"
    deliver(world, note(world, world.bob, shaped, "keep me too"), world.bob)
    refused(world, activity(world.mallory, "Delete", {"id": shaped, "type": "Tombstone"},
                            to=[world.alice]), world.mallory)
    assert world.client.get(f"/api/v1/statuses/{status_id}")["uri"] == uri
    assert status_by_uri(world.hub, shaped).deleted_at is None
    assert status_by_uri(world.hub, uri).deleted_at is None
