"""Read paths that take a status id, seen from outside the status's audience (issue 13,
item 13): status history, ``GET /api/v1/statuses?id[]=``, ``reblogged_by`` and
``favourited_by``, search (v1 and v2), and the context of a thread (ancestors,
descendants, and the context of a status itself). Each answers 404 or leaves the status
out for a member who may not see it: followers-only and direct posts of this hub, a
neighbourhood post of a hub that is not linked, a hub-only post of another hub.

Each test here failed when its path's visibility lookup was replaced by a plain fetch
(checked by hand). On SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from apiworld import FAR, LINKED, ApiWorld, Member, ok

HIDDEN = ("followers", "direct", "far_neighbourhood", "linked_hub")


@dataclass
class Scene:
    alice: Member  # the author
    bob: Member  # follows alice
    dave: Member  # mentioned in alice's direct post
    carol: Member  # the outsider: follows bob only
    posts: dict[str, str]

    def hidden(self) -> set[str]:
        return {self.posts[k] for k in HIDDEN}


@pytest.fixture(scope="module")
def world(module_database_url: str) -> Iterator[ApiWorld]:
    w = ApiWorld(module_database_url)
    yield w
    w.close()


@pytest.fixture(scope="module")
def scene(world: ApiWorld) -> Scene:
    alice, bob, dave, carol = (world.member(n) for n in ("alice", "bob", "dave", "carol"))
    world.follow(bob, alice)
    world.follow(carol, bob)
    remy, fanny = world.remote("remy", LINKED), world.remote("fanny", FAR)

    def post(who: Member, text: str, visibility: str, **extra: str) -> str:
        return ok(world.post_json(who, "/api/v1/statuses", {
            "status": text, "visibility": visibility, **extra}))["id"]

    posts = {
        "followers": post(alice, "motsecret abonnés", "private"),
        "direct": post(alice, f"@{dave.username} motsecret en privé", "direct"),
        "neighbourhood": post(alice, "motsecret voisinage", "public"),
        "hub": post(alice, "motsecret hub", "unlisted"),
    }
    posts["far_neighbourhood"] = str(world.remote_status(fanny, "motsecret lointain",
                                                         "neighbourhood"))
    posts["linked_hub"] = str(world.remote_status(remy, "motsecret hub voisin", "hub"))
    # Replies carol may see, to parents she may not: bob's reply keeps his followers as its
    # audience; remy's neighbourhood reply answers a post of an unlinked hub.
    posts["bob_reply"] = post(bob, "motsecret réponse de bob", "private",
                              in_reply_to_id=posts["followers"])
    posts["remy_reply"] = str(world.remote_status(remy, "motsecret réponse de remy",
                                                  "neighbourhood",
                                                  in_reply_to=int(posts["far_neighbourhood"])))
    # Replies to a post carol sees, that she may not see.
    posts["dm_reply"] = post(alice, f"@{dave.username} motsecret réponse privée", "direct",
                             in_reply_to_id=posts["neighbourhood"])
    posts["far_reply"] = str(world.remote_status(fanny, "motsecret réponse lointaine",
                                                 "neighbourhood",
                                                 in_reply_to=int(posts["neighbourhood"])))
    # Something to list: edits, favourites, a boost (followers-only and direct posts cannot
    # be boosted, so of the neighbourhood post).
    ok(world.client.put(f"/api/v1/statuses/{posts['followers']}", headers=alice.headers,
                        json={"status": "motsecret abonnés, corrigé"}))
    ok(world.client.put(f"/api/v1/statuses/{posts['direct']}", headers=alice.headers,
                        json={"status": f"@{dave.username} motsecret en privé, corrigé"}))
    ok(world.post_json(bob, f"/api/v1/statuses/{posts['followers']}/favourite"))
    ok(world.post_json(dave, f"/api/v1/statuses/{posts['direct']}/favourite"))
    ok(world.post_json(bob, f"/api/v1/statuses/{posts['neighbourhood']}/reblog"))
    return Scene(alice, bob, dave, carol, posts)


def test_the_scene_is_what_it_says(world: ApiWorld, scene: Scene) -> None:
    """Who may see what, through the single-status path every other path is compared to."""
    def visible(who: Member) -> set[str]:
        return {k for k, sid in scene.posts.items()
                if world.get(who, f"/api/v1/statuses/{sid}").status_code == 200}

    assert visible(scene.carol) == {"neighbourhood", "hub", "bob_reply", "remy_reply"}
    assert {"followers", "bob_reply"} <= visible(scene.bob)
    assert {"direct", "dm_reply"} <= visible(scene.dave)


@pytest.mark.parametrize("kind", HIDDEN)
def test_history__404_outside_the_audience(world: ApiWorld, scene: Scene, kind: str) -> None:
    response = world.get(scene.carol, f"/api/v1/statuses/{scene.posts[kind]}/history")
    assert response.status_code == 404, response.text
    assert "motsecret" not in response.text


def test_history__shown_inside_the_audience(world: ApiWorld, scene: Scene) -> None:
    versions = ok(world.get(scene.bob, f"/api/v1/statuses/{scene.posts['followers']}/history"))
    assert len(versions) == 2 and "corrigé" in versions[-1]["content"]
    assert len(ok(world.get(scene.dave,
                            f"/api/v1/statuses/{scene.posts['direct']}/history"))) == 2


def test_statuses_by_id__leaves_out_what_the_viewer_may_not_see(world: ApiWorld,
                                                                scene: Scene) -> None:
    every = list(scene.posts.values())
    shown = ok(world.get(scene.carol, "/api/v1/statuses", params={"id[]": every}))
    assert {s["id"] for s in shown} == {scene.posts[k] for k in (
        "neighbourhood", "hub", "bob_reply", "remy_reply")}
    assert "motsecret abonnés" not in str(shown) and "lointain" not in str(shown)
    for kind in HIDDEN:
        alone = ok(world.get(scene.carol, "/api/v1/statuses",
                             params={"id[]": [scene.posts[kind]]}))
        assert alone == [], kind


@pytest.mark.parametrize("listing", ["reblogged_by", "favourited_by"])
@pytest.mark.parametrize("kind", HIDDEN)
def test_who_boosted_or_favourited__404_outside_the_audience(
        world: ApiWorld, scene: Scene, kind: str, listing: str) -> None:
    response = world.get(scene.carol, f"/api/v1/statuses/{scene.posts[kind]}/{listing}")
    assert response.status_code == 404, response.text
    assert scene.bob.username not in response.text


def test_who_boosted_or_favourited__shown_inside_the_audience(world: ApiWorld,
                                                              scene: Scene) -> None:
    sid, nb = scene.posts["followers"], scene.posts["neighbourhood"]
    assert [a["id"] for a in ok(world.get(scene.bob, f"/api/v1/statuses/{sid}/favourited_by"))
            ] == [scene.bob.id]
    assert [a["id"] for a in ok(world.get(scene.carol, f"/api/v1/statuses/{nb}/reblogged_by"))
            ] == [scene.bob.id]


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_search__finds_only_what_the_viewer_may_see(world: ApiWorld, scene: Scene,
                                                    version: str) -> None:
    def found(q: str) -> set[str]:
        body = ok(world.get(scene.carol, f"/api/{version}/search",
                            params={"q": q, "type": "statuses", "limit": 40}))
        return {s["id"] for s in body["statuses"]}

    assert found("motsecret") == {scene.posts[k] for k in (
        "neighbourhood", "hub", "bob_reply", "remy_reply")}
    for kind in HIDDEN:  # by the status's own URI, as apps do to open a link
        with world.session() as s:
            from fedi.models import Status

            uri = s.get(Status, int(scene.posts[kind])).uri
        assert found(uri) == set(), kind
    assert scene.posts["followers"] in {
        s["id"] for s in ok(world.get(scene.bob, f"/api/{version}/search",
                                      params={"q": "motsecret", "type": "statuses"}))["statuses"]}


@pytest.mark.parametrize("kind", HIDDEN)
def test_context__of_a_status_the_viewer_may_not_see_is_404(world: ApiWorld, scene: Scene,
                                                            kind: str) -> None:
    response = world.get(scene.carol, f"/api/v1/statuses/{scene.posts[kind]}/context")
    assert response.status_code == 404, response.text
    assert "motsecret" not in response.text


@pytest.mark.parametrize(("reply", "parent"), [("bob_reply", "followers"),
                                               ("remy_reply", "far_neighbourhood")])
def test_context__a_visible_reply_does_not_reveal_its_parent(world: ApiWorld, scene: Scene,
                                                             reply: str, parent: str) -> None:
    body = ok(world.get(scene.carol, f"/api/v1/statuses/{scene.posts[reply]}/context"))
    assert body["ancestors"] == []
    assert scene.posts[parent] not in str(body)
    # Someone who may see the parent gets it.
    if reply == "bob_reply":
        shown = ok(world.get(scene.bob, f"/api/v1/statuses/{scene.posts[reply]}/context"))
        assert [s["id"] for s in shown["ancestors"]] == [scene.posts[parent]]


def test_context__descendants_leave_out_hidden_replies(world: ApiWorld, scene: Scene) -> None:
    sid = scene.posts["neighbourhood"]
    body = ok(world.get(scene.carol, f"/api/v1/statuses/{sid}/context"))
    assert body["descendants"] == []
    assert ok(world.get(scene.carol, f"/api/v1/statuses/{sid}"))["replies_count"] == 0
    for_dave = ok(world.get(scene.dave, f"/api/v1/statuses/{sid}/context"))
    assert [s["id"] for s in for_dave["descendants"]] == [scene.posts["dm_reply"]]


def test_conversations__leave_out_a_suspended_members_messages(world: ApiWorld,
                                                                scene: Scene) -> None:
    """A suspended member's posts are hidden everywhere: their direct messages too, in the
    conversations of the people they wrote to (the same rule as the timelines)."""
    from sqlalchemy import select

    from fedi.db import utcnow
    from fedi.models import Actor, User

    sam = world.member("sam")
    post_id = ok(world.post_json(sam, "/api/v1/statuses", {
        "status": f"@{scene.dave.username} motsecret de sam", "visibility": "direct"}))["id"]

    def conversation_ids() -> set[str]:
        return {c["last_status"]["id"] for c in ok(world.get(scene.dave,
                                                             "/api/v1/conversations"))}

    assert post_id in conversation_ids()
    with world.session() as s:
        s.get(Actor, sam.actor_id).suspended_at = utcnow()
        s.scalar(select(User).where(User.id == sam.user_id)).disabled = True
    try:
        assert world.get(scene.dave, f"/api/v1/statuses/{post_id}").status_code == 404
        assert post_id not in conversation_ids()
        assert "motsecret de sam" not in world.get(scene.dave, "/api/v1/conversations").text
    finally:
        with world.session() as s:
            s.get(Actor, sam.actor_id).suspended_at = None
