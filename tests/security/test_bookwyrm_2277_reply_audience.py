"""A reply is never visible wider than its parent: catalogue row 21 of
security-and-performance.md §5.3 (bookwyrm PR #2277, mastodon #23509; DESIGN.md).

A remote reply to a followers-only or direct post, addressed to the whole neighbourhood,
is stored with the parent's narrower audience: members outside it neither get it nor may
see it. The same reply without a parent stays a neighbourhood post (the control). A local
reply is clamped the same way before it is sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from sqlalchemy import select
from support.hostile import (
    HostileRemote,
    can_member_see,
    create_note,
    member_uri,
    remote_follows_member,
    start_hub,
    status_by_uri,
    timeline_of,
    wait_processed,
)
from support.hubs import wait_for
from support.world import actor, hub_session

from fedi.models import Status
from fedi.services.posting import Draft, create_status
from fedi.vocab.context import AS_PUBLIC


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    with HostileRemote() as evil:
        hub = start_hub(tmp_path_factory.mktemp("reply"), "reply", users=["bob", "bea"],
                        allow=[evil.domain])
        try:
            fan = evil.add_actor("fan")
            remote_follows_member(hub, fan, "bob")
            posts = {}
            with hub_session(hub) as (s, ctx):
                bob = actor(s, member_uri(hub, "bob"))
                posts["followers"] = create_status(s, ctx, bob, Draft(text="Followers")).uri
                posts["direct"] = create_status(s, ctx, bob, Draft(
                    text=f"@fan@{evil.domain} en privé", visibility="direct")).uri
            yield SimpleNamespace(hub=hub, evil=evil, fan=fan, posts=posts,
                                  inbox=f"{hub.base}/inbox", bob=member_uri(hub, "bob"),
                                  members=f"{hub.base}/members")
        finally:
            hub.stop()


def wide_reply(world: SimpleNamespace, parent: str | None) -> str:
    """The fan's reply addressed as widely as it can: Public and this hub's members; bob
    tagged and addressed as the parent's author."""
    doc = create_note(world.fan, to=[AS_PUBLIC, world.members],
                      cc=[world.bob], mentions=[world.bob],
                      in_reply_to=parent)
    response = world.evil.post(world.inbox, doc, world.fan)
    assert response.status_code == 202, response.text
    wait_processed(world.hub, doc["id"])
    return doc["object"]["id"]


def test_unparented_wide_post__neighbourhood(world: SimpleNamespace) -> None:
    """The control: without a private parent, the same addressing is a neighbourhood post
    that bea (a member, not a follower of the fan) may see."""
    uri = wide_reply(world, None)
    assert status_by_uri(world.hub, uri).visibility == "neighbourhood"
    assert can_member_see(world.hub, "bea", uri)


@pytest.mark.parametrize("parent", ["followers", "direct"])
def test_wide_reply_to_private_parent__clamped(world: SimpleNamespace, parent: str) -> None:
    uri = wide_reply(world, world.posts[parent])
    reply = status_by_uri(world.hub, uri)
    assert reply.visibility == parent
    assert reply.in_reply_to_id == status_by_uri(world.hub, world.posts[parent]).id
    assert not can_member_see(world.hub, "bea", uri)
    assert uri not in timeline_of(world.hub, "bea")
    assert can_member_see(world.hub, "bob", uri)  # bob is addressed and mentioned


def test_local_reply_to_private_parent__clamped_before_sending(world: SimpleNamespace) -> None:
    """Bea replies "for the neighbourhood" to a followers-only post of a remote author she
    can see: the reply is stored followers-only and the Create sent out carries neither
    Public nor any members collection."""
    note = create_note(world.fan, to=[world.fan.followers, world.bob], mentions=[world.bob])
    assert world.evil.post(world.inbox, note, world.fan).status_code == 202
    wait_processed(world.hub, note["id"])
    with hub_session(world.hub) as (s, ctx):
        parent = s.scalar(select(Status).where(Status.uri == note["object"]["id"]))
        bea = actor(s, member_uri(world.hub, "bea"))
        reply = create_status(s, ctx, bea, Draft(text="Je viens aussi",
                                                 visibility="neighbourhood",
                                                 in_reply_to=parent))
        reply_uri, visibility = reply.uri, reply.visibility
    assert visibility == "followers"

    def sent() -> dict | None:
        return next((d for d in world.evil.deliveries("Create")
                     if d["object"]["id"] == reply_uri), None)

    create = wait_for(sent, what="bea's reply to reach the fan")
    audience = set(create["to"]) | set(create["cc"]) | set(create["object"]["to"]) \
        | set(create["object"]["cc"])
    assert AS_PUBLIC not in audience
    assert not any(a.endswith("/members") for a in audience), audience
