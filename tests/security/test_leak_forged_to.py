"""Shared-inbox recipient resolution and DM confidentiality: catalogue rows 26 and 28 of
security-and-performance.md §5.3 (GHSA-5fq7-3p3j-9vrf; §4.1's security corollary).

The receiving hub decides who sees an incoming post from its own follow table and from
Mention tags, never from ``to`` alone: a forged ``to`` listing members who do not follow
the author reaches nobody (no timeline row, no notification, not visible to them).
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from support.hostile import (
    HostileRemote,
    can_member_see,
    create_note,
    member_follows_remote,
    member_uri,
    notifications_of,
    start_hub,
    status_by_uri,
    timeline_of,
    wait_processed,
)

MEMBERS = ("alice", "bea", "carol")


@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    from support.hostile import pg_database_url

    url = pg_database_url(request, "forged") if request.param == "postgresql" else None
    with HostileRemote() as evil:
        hub = start_hub(tmp_path_factory.mktemp(f"forged-{request.param}"), "forged",
                        database_url=url, users=MEMBERS, allow=[evil.domain])
        try:
            mallory = evil.add_actor("mallory")
            member_follows_remote(hub, "carol", mallory)  # carol, and only carol, follows
            yield SimpleNamespace(hub=hub, evil=evil, mallory=mallory,
                                  inbox=f"{hub.base}/inbox",
                                  uri={m: member_uri(hub, m) for m in MEMBERS})
        finally:
            hub.stop()


def deliver(world: SimpleNamespace, doc: dict, inbox: str | None = None) -> str:
    response = world.evil.post(inbox or world.inbox, doc, world.mallory)
    assert response.status_code == 202, response.text
    wait_processed(world.hub, doc["id"])
    return doc["object"]["id"]


def assert_reached_nobody(world: SimpleNamespace, uri: str, members: tuple[str, ...]) -> None:
    status = status_by_uri(world.hub, uri)
    for member in members:
        assert uri not in timeline_of(world.hub, member), member
        assert all(sid != status.id for _t, sid in notifications_of(world.hub, member)), member
        assert not can_member_see(world.hub, member, uri), member


def test_followers_only_with_forged_to__only_the_follower(world: SimpleNamespace) -> None:
    """A followers-only Create whose ``to`` also lists alice and bea (no Mention tags)."""
    doc = create_note(world.mallory, to=[world.mallory.followers, world.uri["alice"],
                                         world.uri["bea"]])
    uri = deliver(world, doc)
    assert status_by_uri(world.hub, uri).visibility == "followers"
    assert uri in timeline_of(world.hub, "carol")  # the control: the follower sees it
    assert can_member_see(world.hub, "carol", uri)
    assert_reached_nobody(world, uri, ("alice", "bea"))


def test_forged_to_only__reaches_nobody(world: SimpleNamespace) -> None:
    """``to`` lists members, nothing else, no Mention tags: not even the follower."""
    doc = create_note(world.mallory, to=[world.uri["alice"], world.uri["bea"]],
                      cc=[world.uri["carol"]])
    uri = deliver(world, doc)
    assert_reached_nobody(world, uri, MEMBERS)


def test_forged_to_via_personal_inbox__reaches_nobody(world: SimpleNamespace) -> None:
    """Delivered to bea's own inbox and addressed to her: still not hers to see."""
    doc = create_note(world.mallory, to=[world.mallory.followers, world.uri["bea"]])
    uri = deliver(world, doc, inbox=f"{world.uri['bea']}/inbox")
    assert uri in timeline_of(world.hub, "carol")
    assert_reached_nobody(world, uri, ("alice", "bea"))


def test_mention_tag_in_cc_only__not_a_mention(world: SimpleNamespace) -> None:
    """A Mention tag for alice without addressing her: a tag alone does not reach her."""
    doc = create_note(world.mallory, to=[world.mallory.followers], mentions=[world.uri["alice"]])
    uri = deliver(world, doc)
    assert_reached_nobody(world, uri, ("alice", "bea"))


def test_dm__reaches_only_its_recipient(world: SimpleNamespace) -> None:
    """Row 26: a DM to alice (addressed and tagged) is alice's alone; the follower and the
    other members get nothing."""
    doc = create_note(world.mallory, to=[world.uri["alice"]], mentions=[world.uri["alice"]])
    uri = deliver(world, doc)
    status = status_by_uri(world.hub, uri)
    assert status.visibility == "direct"
    assert uri in timeline_of(world.hub, "alice")
    assert ("mention", status.id) in notifications_of(world.hub, "alice")
    assert_reached_nobody(world, uri, ("bea", "carol"))
