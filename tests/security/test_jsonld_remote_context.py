"""No remote JSON-LD context is ever fetched: catalogue row 14 of
security-and-performance.md §5.2 (Mastodon PR #4216 and ``load_jsonld_context``,
trellis-ldp #927, w3c/json-ld-bp #85, fedify #932).

The contexts are served by the hostile remote on an *allowed* host, so the fetch guard
would let them through: the only reason they are not fetched is that activities are read
as plain JSON. The remote records every request; none may name a context.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from support.hostile import (
    AS,
    HostileRemote,
    create_note,
    member_uri,
    start_hub,
    status_by_uri,
    wait_processed,
)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    with HostileRemote() as evil:
        for n in range(50):
            evil.serve_json(f"/contexts/{n}", {"@context": {"x": f"https://example.org/{n}"}},
                            content_type="application/ld+json")
        hub = start_hub(tmp_path_factory.mktemp("jsonld"), "jsonld", users=["alice"],
                        allow=[evil.domain])
        try:
            yield SimpleNamespace(hub=hub, evil=evil, inbox=f"{hub.base}/inbox",
                                  alice=member_uri(hub, "alice"))
        finally:
            hub.stop()


def context_requests(evil: HostileRemote) -> list[str]:
    return [r.path for r in evil.seen() if r.path.startswith("/contexts/")]


def recursive_context(evil: HostileRemote, depth: int) -> dict:
    """A context whose scoped contexts nest ``depth`` levels and end on a remote URL."""
    inner: object = evil.url("/contexts/0")
    for n in range(depth):
        inner = {f"term{n}": {"@id": f"https://example.org/t{n}", "@context": inner}}
    return {"@context": inner}


@pytest.mark.parametrize("shape", ["50 remote URLs", "recursive scoped contexts"])
def test_inbound_activity__contexts_never_fetched(world: SimpleNamespace, shape: str) -> None:
    evil = world.evil
    actor = evil.add_actor(f"ld-{shape.split()[0]}")
    if shape == "50 remote URLs":
        context: object = [AS] + [evil.url(f"/contexts/{n}") for n in range(50)]
    else:
        context = [AS, recursive_context(evil, 40)["@context"]]
    doc = create_note(actor, to=[world.alice], mentions=[world.alice], context=context)
    response = evil.post(world.inbox, doc, actor)
    assert response.status_code == 202, response.text
    wait_processed(world.hub, doc["id"])
    assert status_by_uri(world.hub, doc["object"]["id"]) is not None
    assert context_requests(evil) == []  # no expansion: nothing fetched, whatever the shape


def test_fetched_actor_with_remote_contexts__contexts_never_fetched(
    world: SimpleNamespace,
) -> None:
    """The key fetch reads the actor document as JSON too."""
    evil = world.evil
    actor = evil.add_actor("ld-actor")
    actor.overrides["@context"] = [AS, evil.url("/contexts/1"), evil.url("/contexts/2"),
                                   recursive_context(evil, 10)["@context"]]
    doc = create_note(actor, to=[world.alice], mentions=[world.alice])
    assert evil.post(world.inbox, doc, actor).status_code == 202
    assert evil.count(actor.path, "GET") == 1
    assert context_requests(evil) == []


def test_voisins_fetch__contexts_never_fetched(world: SimpleNamespace) -> None:
    evil = world.evil
    path = "/notes/ld"
    evil.serve_json(path, {"@context": [AS, evil.url("/contexts/3")], "id": evil.url(path),
                           "type": "Note", "content": "hi"})
    world.hub.cli("fetch", evil.url(path))
    assert evil.count(path) == 1
    assert context_requests(evil) == []
