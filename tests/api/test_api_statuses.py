"""Statuses and what members do with them: create (idempotent, each visibility, replies),
get, edit and history, delete and redraft, context, favourite, boost, bookmark, pin."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from apiworld import LINKED, ApiWorld, Member, ok
from sqlalchemy import select

from fedi.models import Delivery, OutboxActivity

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiWorld]:
    path: Path = tmp_path_factory.mktemp("statuses")
    w = ApiWorld(f"sqlite:///{path / 'hub.db'}")
    yield w
    w.close()


@pytest.fixture(scope="module")
def people(world: ApiWorld) -> dict[str, Member]:
    alice, bob, carol = world.member("alice"), world.member("bob"), world.member("carol")
    world.follow(bob, alice)  # bob follows alice; carol follows nobody
    return {"alice": alice, "bob": bob, "carol": carol}


def post(world: ApiWorld, who: Member, text: str, **extra: object) -> dict:
    return ok(world.post_json(who, "/api/v1/statuses", {"status": text, **extra}))


def test_create_each_visibility_and_default(world: ApiWorld, people: dict[str, Member]) -> None:
    alice = people["alice"]
    for api, expected in (("public", "public"), ("unlisted", "unlisted"),
                          ("private", "private"), ("direct", "direct")):
        body = post(world, alice, f"@{people['bob'].username} {api}", visibility=api)
        assert body["visibility"] == expected
        assert body["mentions"][0]["acct"] == people["bob"].username
    assert post(world, alice, "défaut")["visibility"] == "private"
    ok(world.client.patch("/api/v1/accounts/update_credentials", headers=alice.headers,
                          data={"source[privacy]": "unlisted"}))
    assert post(world, alice, "nouveau défaut")["visibility"] == "unlisted"
    ok(world.client.patch("/api/v1/accounts/update_credentials", headers=alice.headers,
                          json={"source": {"privacy": "private"}}))
    bad = world.post_json(alice, "/api/v1/statuses", {"status": "x", "visibility": "world"})
    assert bad.status_code == 422


def test_idempotency_key(world: ApiWorld, people: dict[str, Member]) -> None:
    alice = people["alice"]
    headers = {**alice.headers, "Idempotency-Key": "abc-1"}
    first = ok(world.client.post("/api/v1/statuses", json={"status": "une fois"}, headers=headers))
    second = ok(world.client.post("/api/v1/statuses", json={"status": "une fois"},
                                  headers=headers))
    assert first["id"] == second["id"]
    bob_headers = {**people["bob"].headers, "Idempotency-Key": "abc-1"}
    other = ok(world.client.post("/api/v1/statuses", json={"status": "à moi"}, headers=bob_headers))
    assert other["id"] != first["id"]


def test_reply_never_wider_than_parent(world: ApiWorld, people: dict[str, Member]) -> None:
    alice, bob = people["alice"], people["bob"]
    parent = post(world, alice, "entre abonnés")
    reply = post(world, bob, "réponse publique ?", visibility="public",
                 in_reply_to_id=parent["id"])
    assert reply["visibility"] == "private" and reply["in_reply_to_id"] == parent["id"]
    assert reply["in_reply_to_account_id"] == alice.id
    assert world.post_json(people["carol"], "/api/v1/statuses", {
        "status": "x", "in_reply_to_id": parent["id"]}).status_code == 404
    context = ok(world.get(bob, f"/api/v1/statuses/{reply['id']}/context"))
    assert [s["id"] for s in context["ancestors"]] == [parent["id"]]
    refreshed = ok(world.get(alice, f"/api/v1/statuses/{parent['id']}"))
    assert refreshed["replies_count"] == 1


def test_edit_history_source_and_delete(world: ApiWorld, people: dict[str, Member]) -> None:
    alice, bob = people["alice"], people["bob"]
    status = post(world, alice, "Réunion jeudi", visibility="public")
    ok(world.post_json(bob, f"/api/v1/statuses/{status['id']}/reblog"))
    edited = ok(world.client.put(f"/api/v1/statuses/{status['id']}", headers=alice.headers,
                                 json={"status": "Réunion vendredi", "spoiler_text": "agenda"}))
    assert "vendredi" in edited["content"] and edited["edited_at"] is not None
    assert edited["spoiler_text"] == "agenda"
    history = ok(world.get(alice, f"/api/v1/statuses/{status['id']}/history"))
    assert ["jeudi" in h["content"] for h in history] == [True, False]
    source = ok(world.get(alice, f"/api/v1/statuses/{status['id']}/source"))
    assert source["text"] == "Réunion vendredi"
    updates = ok(world.get(bob, "/api/v1/notifications", params={"types[]": "update"}))
    assert updates[0]["status"]["id"] == status["id"]
    assert world.client.put(f"/api/v1/statuses/{status['id']}", headers=bob.headers,
                            json={"status": "pirate"}).status_code == 403
    assert world.client.delete(f"/api/v1/statuses/{status['id']}",
                               headers=bob.headers).status_code == 403
    deleted = ok(world.client.delete(f"/api/v1/statuses/{status['id']}", headers=alice.headers))
    assert deleted["text"] == "Réunion vendredi"
    assert world.get(alice, f"/api/v1/statuses/{status['id']}").status_code == 404


def test_favourite_bookmark_pin(world: ApiWorld, people: dict[str, Member]) -> None:
    alice, bob = people["alice"], people["bob"]
    status = post(world, alice, "À aimer")
    fav = ok(world.post_json(bob, f"/api/v1/statuses/{status['id']}/favourite"))
    assert fav["favourited"] is True and fav["favourites_count"] == 1
    again = ok(world.post_json(bob, f"/api/v1/statuses/{status['id']}/favourite"))
    assert again["favourites_count"] == 1
    who = ok(world.get(alice, f"/api/v1/statuses/{status['id']}/favourited_by"))
    assert [a["id"] for a in who] == [bob.id]
    assert [s["id"] for s in ok(world.get(bob, "/api/v1/favourites"))][0] == status["id"]
    notes = ok(world.get(alice, "/api/v1/notifications", params={"types[]": "favourite"}))
    assert notes[0]["account"]["id"] == bob.id and notes[0]["status"]["id"] == status["id"]
    unfav = ok(world.post_json(bob, f"/api/v1/statuses/{status['id']}/unfavourite"))
    assert unfav["favourited"] is False and unfav["favourites_count"] == 0
    assert ok(world.post_json(bob, f"/api/v1/statuses/{status['id']}/bookmark"))["bookmarked"]
    assert [s["id"] for s in ok(world.get(bob, "/api/v1/bookmarks"))] == [status["id"]]
    ok(world.post_json(bob, f"/api/v1/statuses/{status['id']}/unbookmark"))
    assert ok(world.get(bob, "/api/v1/bookmarks")) == []
    assert ok(world.post_json(alice, f"/api/v1/statuses/{status['id']}/pin"))["pinned"]
    assert world.post_json(bob, f"/api/v1/statuses/{status['id']}/pin").status_code == 422
    pinned = ok(world.get(bob, f"/api/v1/accounts/{alice.id}/statuses", params={"pinned": "true"}))
    assert [s["id"] for s in pinned] == [status["id"]]
    # carol does not follow alice: she cannot even find the post to act on it.
    assert world.post_json(people["carol"],
                           f"/api/v1/statuses/{status['id']}/favourite").status_code == 404


def test_boost_keeps_audience_and_refuses_private(world: ApiWorld,
                                                  people: dict[str, Member]) -> None:
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    for visibility in ("private", "direct"):
        status = post(world, alice, f"@{bob.username} secret", visibility=visibility)
        refused = world.post_json(bob, f"/api/v1/statuses/{status['id']}/reblog")
        assert refused.status_code == 422
        own = world.post_json(alice, f"/api/v1/statuses/{status['id']}/reblog")
        if visibility == "direct":
            assert own.status_code == 422  # a direct post is never boosted
        else:  # the author's own followers-only post: to the same followers (Mastodon)
            assert ok(own)["visibility"] == "private"
            seen = world.get(carol, f"/api/v1/statuses/{ok(own)['id']}")
            assert seen.status_code == 404  # carol does not follow alice
            ok(world.post_json(alice, f"/api/v1/statuses/{status['id']}/unreblog"))
    delivered: dict[str, list[str]] = {}
    for visibility in ("unlisted", "public"):
        status = post(world, alice, f"annonce {visibility}", visibility=visibility)
        boost = ok(world.post_json(bob, f"/api/v1/statuses/{status['id']}/reblog"))
        assert boost["visibility"] == visibility and boost["reblog"]["id"] == status["id"]
        assert boost["reblog"]["reblogged"] is True and boost["reblog"]["reblogs_count"] == 1
        seen = ok(world.get(carol, f"/api/v1/statuses/{boost['id']}"))
        assert seen["reblog"]["id"] == status["id"]
        by = ok(world.get(alice, f"/api/v1/statuses/{status['id']}/reblogged_by"))
        assert [a["id"] for a in by] == [bob.id]
        undone = ok(world.post_json(bob, f"/api/v1/statuses/{status['id']}/unreblog"))
        assert undone["id"] == status["id"] and undone["reblogged"] is False
        assert world.get(carol, f"/api/v1/statuses/{boost['id']}").status_code == 404
        with world.session() as s:
            delivered[visibility] = list(s.scalars(
                select(Delivery.domain).join(OutboxActivity,
                                             OutboxActivity.id == Delivery.activity_id)
                .where(OutboxActivity.type == "Announce",
                       OutboxActivity.object_uri == status["uri"])))
    # The hub audience is never federated; the neighbourhood one goes to linked hubs.
    assert delivered == {"unlisted": [], "public": [LINKED]}


def test_follow_with_notify__status_notifications(world: ApiWorld) -> None:
    """Following with notify=true gives a "status" notification per new post (not replies'
    mentions twice), shows notifying in the relationship, and notify=false stops it."""
    poster, fan, plain = world.member("poster"), world.member("fan"), world.member("plain")
    rel = ok(world.post_json(fan, f"/api/v1/accounts/{poster.id}/follow", {"notify": True}))
    assert rel["requested"] is True and rel["notifying"] is True
    for follower in (fan, plain):
        world.post_json(follower, f"/api/v1/accounts/{poster.id}/follow", {})
        follower_id = follower.id
        ok(world.post_json(poster, f"/api/v1/follow_requests/{follower_id}/authorize", {}))
    made = post(world, poster, "Nouvel arrivage de pain au levain")

    def status_notes(who: Member) -> list[dict]:
        notes = ok(world.get(who, "/api/v1/notifications"))
        return [n for n in notes if n["type"] == "status"]

    assert [n["status"]["id"] for n in status_notes(fan)] == [made["id"]]
    assert status_notes(plain) == []
    rel = ok(world.post_json(fan, f"/api/v1/accounts/{poster.id}/follow", {"notify": False}))
    assert rel["following"] is True and rel["notifying"] is False
    post(world, poster, "Fermé lundi")
    assert len(status_notes(fan)) == 1
