"""Oversized and deeply nested payloads: catalogue row 15 of security-and-performance.md
§5.2, on the inbox (a signed POST from an allowed peer, so the body is really parsed) and
on fetched documents (a key fetch, ``voisins fetch``).

Every case gets a 4xx (or a refused fetch) with a reason, never a 500 or a traceback, and
stores nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace

import httpx
import pytest
from support.hostile import (
    AP_JSON,
    actor_by_uri,
    create_note,
    hostile_world,
    inbox_item,
)

DEPTH = 100_000
NESTED = {
    "arrays": b"[" * DEPTH + b"]" * DEPTH,
    "objects": b'{"a":' * DEPTH + b"1" + b"}" * DEPTH,
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    with hostile_world(tmp_path_factory.mktemp("nested"), "nested") as w:
        w.sender = w.evil.add_actor("sender")
        yield w


def nested_activity(world: SimpleNamespace, kind: str) -> tuple[str, bytes]:
    """A Create whose object is nested DEPTH levels deep, as raw JSON text."""
    doc = create_note(world.sender, to=[world.alice], mentions=[world.alice])
    marker = '"@@NESTED@@"'
    doc["object"]["content"] = "@@NESTED@@"
    text = json.dumps(doc).encode()
    return doc["id"], text.replace(marker.encode(), NESTED[kind])


@pytest.mark.parametrize("kind", sorted(NESTED))
def test_inbox__deeply_nested_json__400(world: SimpleNamespace, kind: str) -> None:
    activity_id, body = nested_activity(world, kind)
    assert len(body) < 1024 * 1024  # under the size limit: the parser must cope
    response = world.evil.post(world.inbox, body, world.sender)
    assert response.status_code == 400, response.text
    assert "nested" in response.json()["error"]
    assert inbox_item(world.hub, activity_id) is None
    # The hub is still fine afterwards.
    ok = create_note(world.sender, to=[world.alice], mentions=[world.alice])
    assert world.evil.post(world.inbox, ok, world.sender).status_code == 202


def test_inbox__10mb_body__413_before_reading(world: SimpleNamespace) -> None:
    body = b'{"padding": "' + b"x" * (10 * 1024 * 1024) + b'"}'
    response = world.evil.post(world.inbox, body, world.sender)
    assert response.status_code == 413, response.text
    assert "over" in response.json()["error"]


def test_inbox__chunked_body_without_length__413(world: SimpleNamespace) -> None:
    """No Content-Length to refuse up front: the streamed body is cut at the limit."""
    chunk = b"x" * 65536

    def body() -> Iterator[bytes]:
        yield b'{"padding": "'
        for _ in range(10 * 1024 * 1024 // len(chunk)):
            yield chunk
        yield b'"}'

    headers = {"Content-Type": AP_JSON}
    with httpx.Client(timeout=30) as client:
        response = client.post(world.inbox, content=body(), headers=headers)
    assert response.status_code == 413, response.text


def test_key_fetch__deeply_nested_document__401(world: SimpleNamespace) -> None:
    """A keyId whose actor document is nested 100,000 levels deep: 401, not a crash."""
    evil = world.evil
    deep = evil.add_actor("deep")
    evil.serve_json(deep.path, NESTED["arrays"])
    doc = create_note(deep, to=[world.alice], mentions=[world.alice])
    response = evil.post(world.inbox, doc, deep)
    assert response.status_code == 401, response.text
    assert "cannot get key" in response.json()["error"]
    assert actor_by_uri(world.hub, deep.uri) is None


def test_voisins_fetch__deeply_nested_document__refused(world: SimpleNamespace) -> None:
    world.evil.serve_json("/deep/object", NESTED["objects"])
    result = world.hub.cli("fetch", world.evil.url("/deep/object"), check=False)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert "nested" in result.stderr


def test_voisins_lookup__deeply_nested_webfinger__refused(world: SimpleNamespace) -> None:
    """A WebFinger answer nested 100,000 levels deep: a clear refusal, no traceback."""
    deep = b"[" * 20_000 + b"]" * 20_000  # under WebFinger's 64 KiB cap, yet too deep
    world.evil.serve_json("/.well-known/webfinger", deep, content_type="application/jrd+json")
    result = world.hub.cli("lookup", f"deep@{world.evil.domain}", check=False)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert "nested too deeply" in result.stderr
