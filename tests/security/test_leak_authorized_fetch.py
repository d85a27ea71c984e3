"""Authorized fetch of private objects and collections: catalogue rows 23 and 24 of
security-and-performance.md §5.3 (Mastodon ``StatusPolicy#show?``, PR #16954; GtS docs).

A followers-only note is served only to an accepted follower (unsigned: 401; a
non-follower, a pending follower or another hub's instance actor, even one that follows:
404, indistinguishable from a missing note); a direct note only to who it mentions. The
outbox and followers collections list only what the requester may see. Every answer that
depends on the signature is private and varies on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from support.hostile import (
    HostileRemote,
    activity,
    member_follows_remote,
    member_uri,
    remote_follows_member,
    start_hub,
    wait_processed,
)
from support.world import actor, hub_session

from fedi.services.polls import PollSpec
from fedi.services.posting import Draft, create_status


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    with HostileRemote() as evil, HostileRemote() as unlisted:
        hub = start_hub(tmp_path_factory.mktemp("fetch"), "fetch", users=["bob"],
                        allow=[evil.domain])
        try:
            fan = evil.add_actor("fan")
            stranger = evil.add_actor("stranger")
            pending = evil.add_actor("pending")
            dm_target = evil.add_actor("dmtarget")
            instance = evil.add_actor("instance", type="Application", path="/actor")
            outsider = unlisted.add_actor("outsider")
            bob = member_uri(hub, "bob")
            remote_follows_member(hub, fan, "bob")
            remote_follows_member(hub, instance, "bob")  # even an accepted follow
            member_follows_remote(hub, "bob", fan)
            follow = activity(pending, "Follow", bob, to=[bob])
            assert evil.post(f"{bob}/inbox", follow, pending).status_code == 202
            wait_processed(hub, follow["id"])
            for who in (stranger, dm_target):  # known to the hub, as any linked actor
                hub.cli("lookup", who.uri)
            posts = {}
            with hub_session(hub) as (s, ctx):
                author = actor(s, bob)
                posts["followers"] = create_status(s, ctx, author, Draft(text="Followers")).uri
                posts["direct"] = create_status(s, ctx, author, Draft(
                    text=f"@dmtarget@{evil.domain} en privé", visibility="direct")).uri
                posts["neighbourhood"] = create_status(s, ctx, author, Draft(
                    text="Pour le quartier", visibility="neighbourhood")).uri
                posts["hub"] = create_status(s, ctx, author, Draft(
                    text=f"Pour le hub @dmtarget@{evil.domain}", visibility="hub")).uri
                posts["question"] = create_status(s, ctx, author, Draft(
                    text="Sondage des abonnés", poll=PollSpec(options=("Oui", "Non"),
                                                              expires_in=86400))).uri
            yield SimpleNamespace(hub=hub, evil=evil, unlisted=unlisted, fan=fan,
                                  stranger=stranger, pending=pending, dm_target=dm_target,
                                  instance=instance, outsider=outsider, posts=posts, bob=bob)
        finally:
            hub.stop()


def get(world: SimpleNamespace, url: str, who):  # type: ignore[no-untyped-def]
    remote = who.remote if who is not None else world.evil
    return remote.get(url, who)


def assert_private(response) -> None:  # type: ignore[no-untyped-def]
    assert "private" in response.headers.get("cache-control", "")
    assert "Signature" in response.headers.get("vary", "")


def test_followers_only__served_to_follower(world: SimpleNamespace) -> None:
    response = get(world, world.posts["followers"], world.fan)
    assert response.status_code == 200, response.text
    assert response.json()["id"] == world.posts["followers"]
    assert response.headers["content-type"].startswith("application/activity+json")
    assert_private(response)


def test_followers_only__unsigned_401(world: SimpleNamespace) -> None:
    response = get(world, world.posts["followers"], None)
    assert response.status_code in (401, 404)
    assert world.posts["followers"] not in response.text
    assert_private(response)


@pytest.mark.parametrize("who", ["stranger", "pending", "instance", "dm_target"])
def test_followers_only__404_to_everyone_else(world: SimpleNamespace, who: str) -> None:
    """Non-follower, pending follower, another hub's instance actor (which follows bob),
    someone bob writes to privately: all get the 404 a missing note gets."""
    for url in (world.posts["followers"], world.posts["followers"] + "/activity"):
        response = get(world, url, getattr(world, who))
        assert response.status_code == 404, response.text
        assert_private(response)
        missing = get(world, world.posts["followers"].rsplit("/", 1)[0] + "/1", getattr(world, who))
        assert (response.status_code, response.json()) == (missing.status_code, missing.json())


def test_followers_only_poll__a_question_only_for_followers(world: SimpleNamespace) -> None:
    """A poll is a Question (with its counts): served to a follower, 404 to anyone else."""
    shown = get(world, world.posts["question"], world.fan)
    assert shown.status_code == 200 and shown.json()["type"] == "Question", shown.text
    for who in (world.stranger, world.pending, world.instance, world.dm_target):
        response = get(world, world.posts["question"], who)
        assert response.status_code == 404, response.text
        assert "Sondage" not in response.text and "Oui" not in response.text


def test_direct__only_to_the_mentioned(world: SimpleNamespace) -> None:
    assert get(world, world.posts["direct"], world.dm_target).status_code == 200
    for who in (world.fan, world.stranger, world.instance):
        assert get(world, world.posts["direct"], who).status_code == 404


@pytest.mark.parametrize("who", ["fan", "stranger", "pending", "instance", "dm_target"])
def test_hub__never_served_to_another_hub(world: SimpleNamespace, who: str) -> None:
    """A hub post is for this hub's members: no remote actor gets it, not a follower, not
    even one it mentions (a hub post is never federated)."""
    for url in (world.posts["hub"], world.posts["hub"] + "/activity"):
        response = get(world, url, getattr(world, who))
        assert response.status_code == 404, response.text
        assert "Pour le hub" not in response.text


def test_unlisted_domain__403_and_key_never_fetched(world: SimpleNamespace) -> None:
    response = get(world, world.posts["neighbourhood"], world.outsider)
    assert response.status_code == 403
    assert world.unlisted.count(world.outsider.path) == 0


def test_neighbourhood__served_to_linked_actor(world: SimpleNamespace) -> None:
    """The control: the same GET by the stranger succeeds for a neighbourhood note."""
    assert get(world, world.posts["neighbourhood"], world.stranger).status_code == 200


@pytest.mark.parametrize("who, expected", [
    ("stranger", {"neighbourhood"}),
    ("instance", {"neighbourhood"}),
    ("pending", {"neighbourhood"}),
    ("fan", {"neighbourhood", "followers", "question"}),
    ("dm_target", {"neighbourhood", "direct"}),
])
def test_outbox__lists_only_what_the_requester_may_see(world: SimpleNamespace, who: str,
                                                       expected: set[str]) -> None:
    response = get(world, f"{world.bob}/outbox", getattr(world, who))
    assert response.status_code == 200, response.text
    assert_private(response)
    doc = response.json()
    listed = {item["object"]["id"] for item in doc["orderedItems"]}
    assert listed == {world.posts[k] for k in expected}
    assert doc["totalItems"] == len(expected)  # the count does not reveal private posts


def test_outbox__unsigned_401(world: SimpleNamespace) -> None:
    response = get(world, f"{world.bob}/outbox", None)
    assert response.status_code == 401
    assert "orderedItems" not in response.text


@pytest.mark.parametrize("collection", ["followers", "following"])
@pytest.mark.parametrize("who", ["stranger", "fan", "instance", "dm_target"])
def test_follow_collections__another_hub_gets_the_count_only(world: SimpleNamespace,
                                                             collection: str, who: str) -> None:
    """Whom bob follows and who follows him are for his own hub's members only
    (FEDERATION.md, the API's rule): another hub's signed fetch gets ``totalItems`` and no
    items, even the fan who is in both lists."""
    response = get(world, f"{world.bob}/{collection}", getattr(world, who))
    assert response.status_code == 200, response.text
    assert_private(response)
    doc = response.json()
    assert doc["totalItems"] == (2 if collection == "followers" else 1)
    assert "orderedItems" not in doc and "items" not in doc and "first" not in doc
    assert world.fan.uri not in response.text
