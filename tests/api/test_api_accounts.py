"""Accounts, relationships, follow requests, notifications, conversations and search."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from apiworld import LINKED, ApiWorld, ok
from sqlalchemy import select

from fedi.models import OutboxActivity


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiWorld]:
    path: Path = tmp_path_factory.mktemp("accounts")
    w = ApiWorld(f"sqlite:///{path / 'hub.db'}")
    yield w
    w.close()


def test_update_credentials_and_profile_card(world: ApiWorld) -> None:
    alice = world.member("alice")
    me = ok(world.client.patch("/api/v1/accounts/update_credentials", headers=alice.headers, data={
        "display_name": "Alice Martin", "note": "Plombière\nrue Oberkampf",
        "fields_attributes[0][name]": "Horaires", "fields_attributes[0][value]": "8h-18h",
        "trade": "Plombier", "postal_code": "75011", "website": "https://alice.example",
        "locked": "false", "source[sensitive]": "true", "source[language]": "fr"}))
    assert me["display_name"] == "Alice Martin" and me["note"].startswith("<p>Plombière")
    assert me["source"]["note"] == "Plombière\nrue Oberkampf"
    assert me["source"]["fields"] == [{"name": "Horaires", "value": "8h-18h", "verified_at": None}]
    assert me["trade"] == "plombier" and me["postal_code"] == "75011"  # the hub's category
    assert [f["name"] for f in me["fields"]][-1] == "Horaires"
    assert me["source"]["sensitive"] is True and me["source"]["language"] == "fr"
    assert me["locked"] is True  # every member approves followers (DESIGN.md)
    with world.session() as s:
        update = s.scalar(select(OutboxActivity.payload).where(OutboxActivity.type == "Update"))
    assert update["object"]["trade"] == "plombier" and update["object"]["type"] == "Person"
    bad = world.client.patch("/api/v1/accounts/update_credentials", headers=alice.headers,
                             data={"postal_code": "Paris"})
    assert bad.status_code == 422
    assert ok(world.get(alice, "/api/v1/accounts/verify_credentials"))["postal_code"] == "75011"


def test_lookup_get_statuses_and_filters(world: ApiWorld) -> None:
    alice, bob = world.member("alice"), world.member("bob")
    world.follow(bob, alice)
    remote = world.remote("rita", LINKED)
    assert ok(world.get(bob, "/api/v1/accounts/lookup", params={"acct": alice.username}))[
        "id"] == alice.id
    assert ok(world.get(bob, "/api/v1/accounts/lookup",
                        params={"acct": f"@{alice.username}@hub.test"}))["id"] == alice.id
    assert ok(world.get(bob, "/api/v1/accounts/lookup", params={"acct": f"rita@{LINKED}"}))[
        "acct"] == f"rita@{LINKED}"
    assert world.get(bob, "/api/v1/accounts/lookup", params={"acct": "nobody"}).status_code == 404
    assert world.get(bob, f"/api/v1/accounts/{remote}").status_code == 200
    top = world.post(alice, "premier", "hub")
    world.post(alice, "réponse à moi-même", "hub", in_reply_to=top)
    other = world.post(bob, "de bob", "hub")
    world.post(alice, "réponse à bob", "hub", in_reply_to=other)
    everything = ok(world.get(bob, f"/api/v1/accounts/{alice.id}/statuses"))
    assert len(everything) == 3
    no_replies = ok(world.get(bob, f"/api/v1/accounts/{alice.id}/statuses",
                              params={"exclude_replies": "True", "exclude_reblogs": "True"}))
    assert len(no_replies) == 2
    assert ok(world.get(bob, f"/api/v1/accounts/{alice.id}/statuses",
                        params={"only_media": "1"})) == []
    account = ok(world.get(bob, f"/api/v1/accounts/{alice.id}"))
    assert account["statuses_count"] == 3 and account["followers_count"] == 1
    assert account["last_status_at"] is not None


def test_follow_request_authorize_reject_and_lists(world: ApiWorld) -> None:
    alice, bob, carol = world.member("alice"), world.member("bob"), world.member("carol")
    rel = ok(world.post_json(bob, f"/api/v1/accounts/{alice.id}/follow"))
    assert rel["requested"] is True and rel["following"] is False
    ok(world.post_json(carol, f"/api/v1/accounts/{alice.id}/follow"))
    pending = world.get(alice, "/api/v1/follow_requests", params={"limit": 1})
    assert [a["id"] for a in ok(pending)] == [carol.id] and "max_id=" in pending.headers["link"]
    their_side = ok(world.get(alice, "/api/v1/accounts/relationships", params={"id[]": bob.id}))
    assert their_side[0]["requested_by"] is True
    authorized = ok(world.post_json(alice, f"/api/v1/follow_requests/{bob.id}/authorize"))
    assert authorized["followed_by"] is True
    assert ok(world.get(bob, "/api/v1/accounts/relationships",
                        params={"id[]": alice.id}))[0]["following"] is True
    ok(world.post_json(alice, f"/api/v1/follow_requests/{carol.id}/reject"))
    assert world.post_json(alice, f"/api/v1/follow_requests/{carol.id}/reject").status_code == 404
    assert ok(world.get(alice, "/api/v1/follow_requests")) == []
    followers = ok(world.get(carol, f"/api/v1/accounts/{alice.id}/followers"))
    assert [a["id"] for a in followers] == [bob.id]
    following = ok(world.get(carol, f"/api/v1/accounts/{bob.id}/following"))
    assert [a["id"] for a in following] == [alice.id]
    notes = ok(world.get(alice, "/api/v1/notifications"))
    assert [n["type"] for n in notes if n["account"]["id"] == bob.id] == ["follow",
                                                                           "follow_request"]
    familiar = ok(world.get(carol, "/api/v1/accounts/familiar_followers",
                            params={"id[]": alice.id}))
    assert familiar == [{"id": alice.id, "accounts": []}]
    gone = ok(world.post_json(bob, f"/api/v1/accounts/{alice.id}/unfollow"))
    assert gone["following"] is False
    assert world.post_json(bob, f"/api/v1/accounts/{bob.id}/follow").status_code == 422


def test_block_and_mute(world: ApiWorld) -> None:
    alice, bob = world.member("alice"), world.member("bob")
    world.follow(alice, bob)
    world.follow(bob, alice)
    post = world.post(bob, "bruit", "hub")
    assert post in [int(s["id"]) for s in ok(world.get(alice, "/api/v1/timelines/home"))]
    muted = ok(world.post_json(alice, f"/api/v1/accounts/{bob.id}/mute"))
    assert muted["muting"] is True
    assert post not in [int(s["id"]) for s in ok(world.get(alice, "/api/v1/timelines/public",
                                                           params={"local": "true"}))]
    assert [a["id"] for a in ok(world.get(alice, "/api/v1/mutes"))] == [bob.id]
    ok(world.post_json(alice, f"/api/v1/accounts/{bob.id}/unmute"))
    blocked = ok(world.post_json(alice, f"/api/v1/accounts/{bob.id}/block"))
    assert blocked["blocking"] and not blocked["following"] and not blocked["followed_by"]
    assert ok(world.get(bob, "/api/v1/accounts/relationships",
                        params={"id[]": alice.id}))[0]["blocked_by"] is True
    assert post not in [int(s["id"]) for s in ok(world.get(alice, "/api/v1/timelines/home"))]
    ok(world.post_json(alice, f"/api/v1/accounts/{bob.id}/unblock"))
    assert ok(world.get(alice, "/api/v1/blocks")) == []


def test_notifications_filters_dismiss_clear(world: ApiWorld) -> None:
    alice, bob = world.member("alice"), world.member("bob")
    ok(world.post_json(bob, f"/api/v1/accounts/{alice.id}/follow"))
    mention = ok(world.post_json(bob, "/api/v1/statuses", {
        "status": f"@{alice.username} bonjour", "visibility": "direct"}))
    every = ok(world.get(alice, "/api/v1/notifications"))
    assert [n["type"] for n in every] == ["mention", "follow_request"]
    assert every[0]["status"]["id"] == mention["id"] and every[1]["status"] is None
    assert every[0]["group_key"] == f"ungrouped-{every[0]['id']}"
    only = ok(world.get(alice, "/api/v1/notifications", params=[("types[]", "mention")]))
    assert [n["type"] for n in only] == ["mention"]
    without = ok(world.get(alice, "/api/v1/notifications",
                           params=[("exclude_types[]", "mention")]))
    assert [n["type"] for n in without] == ["follow_request"]
    assert ok(world.get(alice, f"/api/v1/notifications/{every[0]['id']}"))["type"] == "mention"
    assert world.get(bob, f"/api/v1/notifications/{every[0]['id']}").status_code == 404
    assert ok(world.get(alice, "/api/v1/notifications/unread_count"))["count"] == 2
    ok(world.post_json(alice, f"/api/v1/notifications/{every[0]['id']}/dismiss"))
    assert len(ok(world.get(alice, "/api/v1/notifications"))) == 1
    # Deleting the status hides its notifications.
    ok(world.client.delete(f"/api/v1/statuses/{mention['id']}", headers=bob.headers))
    ok(world.post_json(alice, "/api/v1/notifications/clear"))
    assert ok(world.get(alice, "/api/v1/notifications")) == []


def test_conversations(world: ApiWorld) -> None:
    alice, bob, carol = world.member("alice"), world.member("bob"), world.member("carol")
    dm = ok(world.post_json(alice, "/api/v1/statuses", {
        "status": f"@{bob.username} devis ?", "visibility": "direct"}))
    reply = ok(world.post_json(bob, "/api/v1/statuses", {
        "status": f"@{alice.username} oui", "visibility": "direct", "in_reply_to_id": dm["id"]}))
    other = ok(world.post_json(carol, "/api/v1/statuses", {
        "status": f"@{bob.username} autre sujet", "visibility": "direct"}))
    bobs = ok(world.get(bob, "/api/v1/conversations"))
    assert [c["last_status"]["id"] for c in bobs] == [other["id"], reply["id"]]
    assert [c["unread"] for c in bobs] == [True, False]
    alices = ok(world.get(alice, "/api/v1/conversations"))
    assert len(alices) == 1 and alices[0]["id"] == dm["id"] and alices[0]["unread"] is True
    assert [a["id"] for a in alices[0]["accounts"]] == [bob.id]
    read = ok(world.post_json(alice, f"/api/v1/conversations/{dm['id']}/read"))
    assert read["unread"] is False
    assert world.post_json(carol, f"/api/v1/conversations/{dm['id']}/read").status_code == 404
    assert ok(world.client.delete(f"/api/v1/conversations/{dm['id']}",
                                  headers=alice.headers)) == {}
    assert ok(world.get(alice, "/api/v1/conversations")) == []
    later = ok(world.post_json(bob, "/api/v1/statuses", {
        "status": f"@{alice.username} relance", "visibility": "direct",
        "in_reply_to_id": reply["id"]}))
    back = ok(world.get(alice, "/api/v1/conversations"))
    assert back[0]["last_status"]["id"] == later["id"] and back[0]["unread"] is True
    paged = world.get(bob, "/api/v1/conversations", params={"limit": 1})
    assert len(ok(paged)) == 1 and "max_id=" in paged.headers["link"]


def test_search(world: ApiWorld) -> None:
    alice, bob = world.member("searcher"), world.member("zoe")
    ok(world.client.patch("/api/v1/accounts/update_credentials", headers=bob.headers, data={
        "display_name": "Zoé Fleuriste", "trade": "Électricien·ne", "postal_code": "75011",
        "fields_attributes[0][name]": "Spécialité", "fields_attributes[0][value]": "domotique"}))
    remote = world.remote("remy", LINKED)
    for q in ("zoe", "Fleuriste", "lectricien", "75011", "domotique", f"@{bob.username}",
              f"{bob.username}@hub.test"):
        found = ok(world.get(alice, "/api/v2/search", params={"q": q, "type": "accounts"}))
        assert bob.id in [a["id"] for a in found["accounts"]], q
    remote_found = ok(world.get(alice, "/api/v2/search", params={"q": f"remy@{LINKED}"}))
    assert [a["id"] for a in remote_found["accounts"]] == [str(remote)]
    unknown = ok(world.get(alice, "/api/v2/search",
                           params={"q": "ghost@unlinked.example", "resolve": "true"}))
    assert unknown["accounts"] == []
    post = ok(world.post_json(bob, "/api/v1/statuses", {
        "status": "Promo sur les #luminaires", "visibility": "public"}))
    found = ok(world.get(alice, "/api/v2/search", params={"q": "luminaires"}))
    assert [s["id"] for s in found["statuses"]] == [post["id"]]
    assert found["hashtags"][0]["name"] == "luminaires"
    by_url = ok(world.get(alice, "/api/v2/search", params={"q": post["uri"]}))
    assert [s["id"] for s in by_url["statuses"]] == [post["id"]]
    v1 = ok(world.get(alice, "/api/v1/accounts/search", params={"q": "zoé"}))
    assert bob.id in [a["id"] for a in v1]
    assert ok(world.get(alice, "/api/v2/search", params={"q": ""})) == {
        "accounts": [], "statuses": [], "hashtags": []}
    following = ok(world.get(alice, "/api/v2/search", params={"q": "zoe", "following": "true"}))
    assert following["accounts"] == []
