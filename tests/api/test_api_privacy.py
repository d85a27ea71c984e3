"""Every read path, for a follower, a non-follower and a mentioned non-follower: no path
shows a post its reader may not see (security-and-performance.md §5.3 #20, #21, #25)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from apiworld import ApiWorld, Member, ok


@pytest.fixture(scope="module")
def world(module_database_url: str) -> Iterator[ApiWorld]:
    """On SQLite and on PostgreSQL (the visibility filter is SQL)."""
    w = ApiWorld(module_database_url)
    yield w
    w.close()


@pytest.fixture(scope="module")
def scene(world: ApiWorld) -> dict[str, Any]:
    alice, bob, carol, dave = (world.member(n) for n in ("alice", "bob", "carol", "dave"))
    ok(world.post_json(bob, f"/api/v1/accounts/{alice.id}/follow"))
    ok(world.post_json(alice, f"/api/v1/follow_requests/{bob.id}/authorize"))

    def post(who: Member, text: str, visibility: str, **extra: Any) -> str:
        return ok(world.post_json(who, "/api/v1/statuses", {
            "status": text, "visibility": visibility, **extra}))["id"]

    posts = {
        "nb": post(alice, "secretword #quartier voisinage", "public"),
        "hub": post(alice, "secretword #quartier hub", "unlisted"),
        "fol": post(alice, "secretword #quartier abonnés", "private"),
        "dm": post(alice, f"@{dave.username} secretword #quartier message", "direct"),
    }
    posts["reply_fol"] = post(bob, "secretword réponse privée", "private",
                              in_reply_to_id=posts["nb"])
    ok(world.post_json(bob, f"/api/v1/statuses/{posts['fol']}/favourite"))
    ok(world.post_json(bob, f"/api/v1/statuses/{posts['fol']}/bookmark"))
    return {"alice": alice, "bob": bob, "carol": carol, "dave": dave, "posts": posts}


def ids(body: Any) -> set[str]:
    return {s["id"] for s in body}


def seen_by(world: ApiWorld, who: Member, scene: dict[str, Any]) -> dict[str, set[str]]:
    """The private-scene statuses that each read path shows to ``who``."""
    posts, alice = scene["posts"], scene["alice"]
    mine = set(posts.values())
    get = lambda path, **params: ok(world.get(who, path, params=params))
    paths = {
        "home": ids(get("/api/v1/timelines/home", limit=40)),
        "local": ids(get("/api/v1/timelines/public", local="true", limit=40)),
        "neighbourhood": ids(get("/api/v1/timelines/public", limit=40)),
        "tag": ids(get("/api/v1/timelines/tag/quartier", limit=40)),
        "account": ids(get(f"/api/v1/accounts/{alice.id}/statuses", limit=40)),
        "search": ids(get("/api/v2/search", q="secretword", type="statuses")["statuses"]),
        "notifications": {n["status"]["id"] for n in get("/api/v1/notifications", limit=80)
                          if n["status"]},
        "conversations": {c["last_status"]["id"] for c in get("/api/v1/conversations")},
        "favourites": ids(get("/api/v1/favourites")),
        "bookmarks": ids(get("/api/v1/bookmarks")),
    }
    context = world.get(who, f"/api/v1/statuses/{posts['nb']}/context")
    paths["context"] = ids(ok(context)["descendants"])
    paths["get"] = {sid for sid in mine
                    if world.get(who, f"/api/v1/statuses/{sid}").status_code == 200}
    return {k: v & mine for k, v in paths.items()}


def test_follower_sees_followers_posts_not_dms(world: ApiWorld, scene: dict[str, Any]) -> None:
    p = scene["posts"]
    seen = seen_by(world, scene["bob"], scene)
    assert seen["home"] == {p["nb"], p["hub"], p["fol"], p["reply_fol"]}
    assert seen["local"] == seen["neighbourhood"] == {p["nb"], p["hub"]}
    assert seen["tag"] == {p["nb"], p["hub"]}
    assert seen["account"] == {p["nb"], p["hub"], p["fol"]}
    assert seen["search"] == {p["nb"], p["hub"], p["fol"], p["reply_fol"]}
    assert seen["context"] == {p["reply_fol"]}
    assert seen["favourites"] == seen["bookmarks"] == {p["fol"]}
    assert seen["conversations"] == set() and p["dm"] not in seen["get"]


def test_non_follower_sees_only_hub_and_neighbourhood(world: ApiWorld,
                                                      scene: dict[str, Any]) -> None:
    p = scene["posts"]
    seen = seen_by(world, scene["carol"], scene)
    public = {p["nb"], p["hub"]}
    for path in ("local", "neighbourhood", "tag", "account", "search", "get"):
        assert seen[path] == public, path
    for path in ("home", "context", "notifications", "conversations", "favourites",
                 "bookmarks"):
        assert seen[path] == set(), path
    # Counts never reveal hidden replies.
    nb = ok(world.get(scene["carol"], f"/api/v1/statuses/{p['nb']}"))
    assert nb["replies_count"] == 0
    assert ok(world.get(scene["alice"], f"/api/v1/statuses/{p['nb']}"))["replies_count"] == 1
    assert world.post_json(scene["carol"], f"/api/v1/statuses/{p['fol']}/favourite"
                           ).status_code == 404
    assert world.get(scene["carol"], f"/api/v1/statuses/{p['fol']}/favourited_by"
                     ).status_code == 404


def test_mentioned_non_follower_sees_the_dm_only(world: ApiWorld, scene: dict[str, Any]) -> None:
    p = scene["posts"]
    seen = seen_by(world, scene["dave"], scene)
    assert seen["get"] == {p["nb"], p["hub"], p["dm"]}
    assert seen["conversations"] == seen["notifications"] == {p["dm"]}
    assert seen["home"] == {p["dm"]}
    assert p["dm"] not in seen["local"] | seen["neighbourhood"] | seen["tag"]
    assert p["fol"] not in set().union(*seen.values())


def test_losing_access_hides_everywhere(world: ApiWorld, scene: dict[str, Any]) -> None:
    """After bob unfollows, the followers-only post leaves every path, his favourites too."""
    bob, alice, p = scene["bob"], scene["alice"], scene["posts"]
    ok(world.post_json(bob, f"/api/v1/accounts/{alice.id}/unfollow"))
    try:
        seen = seen_by(world, bob, scene)
        for path, found in seen.items():
            assert p["fol"] not in found, path
    finally:
        ok(world.post_json(bob, f"/api/v1/accounts/{alice.id}/follow"))
        ok(world.post_json(alice, f"/api/v1/follow_requests/{bob.id}/authorize"))


def test_home_skips_rows_its_reader_lost_access_to(world: ApiWorld) -> None:
    """Timeline rows stay after an unfollow; home reads past windows of them."""
    reader, old_friend, former = (world.member(n) for n in ("reader", "friend", "former"))
    world.follow(reader, old_friend)
    world.follow(reader, former)
    kept = world.post(old_friend, "toujours visible", "followers")
    hidden = [world.post(former, f"plus visible {i}", "followers") for i in range(45)]
    ok(world.post_json(reader, f"/api/v1/accounts/{former.id}/unfollow"))
    home = ok(world.get(reader, "/api/v1/timelines/home", params={"limit": 5}))
    assert [s["id"] for s in home] == [str(kept)]
    assert not {str(h) for h in hidden} & {s["id"] for s in home}
