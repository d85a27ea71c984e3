"""A boost never widens an audience: catalogue row 22 of security-and-performance.md §5.3
(Mastodon's "cannot be boosted, except by yourself", mastodon #28463; protocol.md §4.5).

An Announce of a followers-only or direct post is ignored on the inbox, even from someone
allowed to see the post; an Announce of a neighbourhood post is recorded (the control).
An Announce of a remote private post stored here does not reach the booster's followers.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select
from support.hostile import (
    HostileRemote,
    activity,
    create_note,
    member_follows_remote,
    member_uri,
    notifications_of,
    remote_follows_member,
    start_hub,
    status_by_uri,
    store_remote_actor,
    timeline_of,
    wait_processed,
)
from support.world import actor, hub_session, query

from fedi.models import Interaction, Status
from fedi.services.posting import Draft, create_status


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    with HostileRemote() as evil:
        hub = start_hub(tmp_path_factory.mktemp("boost"), "boost", users=["bob", "alice"],
                        allow=[evil.domain])
        try:
            fan = evil.add_actor("fan")
            stranger = evil.add_actor("stranger")
            remote_follows_member(hub, fan, "bob")
            store_remote_actor(hub, stranger)
            posts = {}
            with hub_session(hub) as (s, ctx):
                bob = actor(s, member_uri(hub, "bob"))
                for name, draft in {
                    "followers": Draft(text="Followers only"),
                    "direct": Draft(text=f"@fan@{evil.domain} devis", visibility="direct"),
                    "neighbourhood": Draft(text="For the neighbourhood",
                                           visibility="neighbourhood"),
                }.items():
                    posts[name] = create_status(s, ctx, bob, draft).uri
            yield SimpleNamespace(hub=hub, evil=evil, fan=fan, stranger=stranger, posts=posts,
                                  inbox=f"{hub.base}/inbox", bob=member_uri(hub, "bob"))
        finally:
            hub.stop()


def interactions(world: SimpleNamespace, kind: str, status_uri: str) -> int:
    return query(world.hub, lambda s: s.scalar(
        select(func.count()).select_from(Interaction).join(Status, Status.id == Interaction.status_id)
        .where(Interaction.kind == kind, Status.uri == status_uri)))


def send(world: SimpleNamespace, who, type_: str, status_uri: str) -> None:  # type: ignore[no-untyped-def]
    doc = activity(who, type_, status_uri, to=[who.followers], cc=[world.bob])
    response = world.evil.post(world.inbox, doc, who)
    assert response.status_code == 202, response.text
    wait_processed(world.hub, doc["id"])


@pytest.mark.parametrize("audience", ["followers", "direct"])
def test_announce_of_private_post__ignored(world: SimpleNamespace, audience: str) -> None:
    """The fan may see the post (a follower, or the DM's recipient): its Like is recorded,
    its Announce is not, and bob gets no reblog notification."""
    uri = world.posts[audience]
    send(world, world.fan, "Like", uri)
    assert interactions(world, "like", uri) == 1  # the control: the fan can see it
    send(world, world.fan, "Announce", uri)
    assert interactions(world, "announce", uri) == 0
    status_id = status_by_uri(world.hub, uri).id
    assert ("reblog", status_id) not in notifications_of(world.hub, "bob")


def test_announce_by_stranger__ignored(world: SimpleNamespace) -> None:
    uri = world.posts["followers"]
    send(world, world.stranger, "Announce", uri)
    send(world, world.stranger, "Like", uri)
    assert interactions(world, "announce", uri) == 0
    assert interactions(world, "like", uri) <= 1  # only the fan's like, if any


def test_announce_of_neighbourhood_post__recorded(world: SimpleNamespace) -> None:
    """The control: a post for the neighbourhood may be boosted to that same audience."""
    uri = world.posts["neighbourhood"]
    send(world, world.stranger, "Announce", uri)
    assert interactions(world, "announce", uri) == 1
    status_id = status_by_uri(world.hub, uri).id
    assert ("reblog", status_id) in notifications_of(world.hub, "bob")


def test_boost_of_remote_private_post__reaches_no_one_new(world: SimpleNamespace) -> None:
    """Alice follows the fan (a booster) but not the author: the fan's Announce of the
    author's followers-only post (which alice's hub holds for its followers) gives alice
    nothing."""
    evil = world.evil
    author = evil.add_actor("author")
    member_follows_remote(world.hub, "bob", author)  # bob follows the author, alice does not
    member_follows_remote(world.hub, "alice", world.fan)
    note = create_note(author, to=[author.followers])
    assert evil.post(world.inbox, note, author).status_code == 202
    wait_processed(world.hub, note["id"])
    uri = note["object"]["id"]
    assert uri in timeline_of(world.hub, "bob")
    send(world, world.fan, "Announce", uri)
    assert uri not in timeline_of(world.hub, "alice")
    assert query(world.hub, lambda s: s.scalar(select(func.count()).select_from(Status).where(
        Status.reblog_of_id == s.scalar(select(Status.id).where(Status.uri == uri))))) == 0
