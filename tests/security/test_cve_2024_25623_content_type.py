"""CVE-2024-25623 (Mastodon GHSA-jhrq-qvrm-qr36) and CVE-2024-25636 (Misskey
GHSA-qqrm-9grj-6v32): a fetched document is only an ActivityPub object when it is served
as one. Catalogue rows 2 and 3 of security-and-performance.md §5.1.

A peer serving valid actor JSON as ``application/json``, ``text/plain``, ``image/png`` (an
uploaded file under ``/media/``) or bare ``application/ld+json`` is refused, on the key
fetch of an inbox POST as on ``voisins fetch`` and ``voisins lookup``; nothing is stored.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from support.hostile import (
    actor_by_uri,
    create_note,
    hostile_world,
    inbox_item,
    status_by_uri,
)

AS_PROFILE = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
REFUSED = ["application/json", "text/plain", "image/png", "text/html; charset=utf-8",
           "application/ld+json", 'application/ld+json; profile="https://example.org/other"']
ACCEPTED = ["application/activity+json", "application/activity+json; charset=utf-8",
            AS_PROFILE]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    with hostile_world(tmp_path_factory.mktemp("ctype"), "ctype") as w:
        yield w


def _serve_actor_as(world: SimpleNamespace, name: str, content_type: str,
                    path: str | None = None):  # type: ignore[no-untyped-def]
    actor = world.evil.add_actor(name, path=path)
    world.evil.serve_json(actor.path, actor.doc(), content_type=content_type)
    return actor


@pytest.mark.parametrize("content_type", REFUSED + ACCEPTED)
def test_key_fetch__only_activitypub_types(world: SimpleNamespace, content_type: str) -> None:
    """An inbox POST whose key is served with a non-ActivityPub type gets 401; the actor is
    not stored. The accepted types are the control (same document, 202)."""
    actor = _serve_actor_as(world, f"ct{(REFUSED + ACCEPTED).index(content_type)}", content_type)
    doc = create_note(actor, to=[world.alice], mentions=[world.alice])
    response = world.evil.post(world.inbox, doc, actor)
    assert world.evil.count(actor.path, "GET") == 1  # the hub did fetch it
    if content_type in ACCEPTED:
        assert response.status_code == 202, response.text
        assert actor_by_uri(world.hub, actor.uri) is not None
        return
    assert response.status_code == 401, response.text
    assert "content type" in response.json()["error"]
    assert actor_by_uri(world.hub, actor.uri) is None
    assert inbox_item(world.hub, doc["id"]) is None


def test_uploaded_file_on_peer__never_an_actor(world: SimpleNamespace) -> None:
    """CVE-2024-25636: an upload under /media/ holding actor JSON, served as image/png, used
    as a keyId and through ``voisins lookup``: refused both ways, nothing stored."""
    actor = _serve_actor_as(world, "avatar", "image/png", path="/media/avatar.png")
    doc = create_note(actor, to=[world.alice], mentions=[world.alice])
    response = world.evil.post(world.inbox, doc, actor)
    assert response.status_code == 401, response.text
    result = world.hub.cli("lookup", actor.uri, check=False)
    assert result.returncode == 2
    assert "image/png" in result.stderr and "not ActivityPub" in result.stderr
    assert actor_by_uri(world.hub, actor.uri) is None


@pytest.mark.parametrize("content_type", ["application/json", "text/plain"])
def test_voisins_fetch__wrong_type_refused(world: SimpleNamespace, content_type: str) -> None:
    """The operator's signed fetch of an object applies the same rule."""
    path = f"/notes/{content_type.replace('/', '-')}"
    note = {"@context": "https://www.w3.org/ns/activitystreams", "id": world.evil.url(path),
            "type": "Note", "attributedTo": world.evil.url("/users/x"), "content": "hi"}
    world.evil.serve_json(path, note, content_type=content_type)
    result = world.hub.cli("fetch", world.evil.url(path), check=False)
    assert result.returncode == 2, result.stdout
    assert content_type in result.stderr and "not ActivityPub" in result.stderr
    assert status_by_uri(world.hub, note["id"]) is None


def test_voisins_fetch__activity_json_accepted(world: SimpleNamespace) -> None:
    """The control for the test above: the same object as activity+json is fetched."""
    path = "/notes/good"
    note = {"@context": "https://www.w3.org/ns/activitystreams", "id": world.evil.url(path),
            "type": "Note", "content": "hi"}
    world.evil.serve_json(path, note)
    result = world.hub.cli("fetch", world.evil.url(path))
    assert json.loads(result.stdout)["id"] == note["id"]
