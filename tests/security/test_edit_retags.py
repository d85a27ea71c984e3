"""Issue 13 item 10: an edit replaces a status's hashtags.

An edited post stayed on the timelines of hashtags it no longer had. Both ways in: a
member's ``PUT /api/v1/statuses/:id`` and a linked hub's ``Update`` of its note; both read
back through ``/api/v1/timelines/tag/:tag`` as an app does.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from support.client import MemberClient
from support.hostile import (
    activity,
    create_note,
    hostile_world,
    pg_database_url,
    wait_processed,
)


@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    url = pg_database_url(request, "retag") if request.param == "postgresql" else None
    with hostile_world(tmp_path_factory.mktemp(f"retag-{request.param}"), "retag",
                       users=("alice", "bea"), database_url=url) as w:
        w.alice_api = MemberClient(w.hub, "alice")
        w.bea_api = MemberClient(w.hub, "bea")
        yield w
        w.alice_api.close()
        w.bea_api.close()


def test_local_edit__tags_follow_the_text(world: SimpleNamespace) -> None:
    posted = world.alice_api.post("/api/v1/statuses", {
        "status": "Vide-grenier dimanche #brocante #Jardin", "visibility": "public"})
    uri = posted["uri"]
    assert uri in world.bea_api.tagged("brocante") and uri in world.bea_api.tagged("jardin")

    edited = world.alice_api.put(f"/api/v1/statuses/{posted['id']}", {
        "status": "Vide-grenier dimanche, au #potager #jardin"})
    assert sorted(t["name"] for t in edited["tags"]) == ["jardin", "potager"]
    assert uri not in world.bea_api.tagged("brocante")
    assert uri in world.bea_api.tagged("jardin")
    assert uri in world.bea_api.tagged("potager")
    shown = world.bea_api.get(f"/api/v1/statuses/{posted['id']}")
    assert sorted(t["name"] for t in shown["tags"]) == ["jardin", "potager"]


def test_remote_update__tags_follow_the_object(world: SimpleNamespace) -> None:
    author = world.evil.add_actor("editor")
    members = f"{world.hub.base}/members"
    create = create_note(author, to=[members], content="<p>#velo #atelier</p>")
    create["object"]["tag"] = [{"type": "Hashtag", "name": "#velo"},
                               {"type": "Hashtag", "name": "#atelier"}]
    assert world.evil.post(world.inbox, create, author).status_code == 202
    wait_processed(world.hub, create["id"])
    uri = create["object"]["id"]
    assert uri in world.alice_api.tagged("velo") and uri in world.alice_api.tagged("atelier")

    obj = dict(create["object"], content="<p>#velo #reparation</p>",
               tag=[{"type": "Hashtag", "name": "#velo"},
                    {"type": "Hashtag", "name": "#reparation"}])
    update = activity(author, "Update", obj, to=[members])
    assert world.evil.post(world.inbox, update, author).status_code == 202
    wait_processed(world.hub, update["id"])
    assert uri not in world.alice_api.tagged("atelier")
    assert uri in world.alice_api.tagged("velo")
    assert uri in world.alice_api.tagged("reparation")
