"""Retention of what linked hubs sent us, once the link is over (README.md, "Privacy"), on
SQLite and PostgreSQL: the privacy job drops the posts, timeline entries, cached media
files and unfollowed profiles of a hub unlinked 31 days ago (``unlinked_cache_days``,
default 30); a linked hub's, a hub unlinked 2 days ago, a followed (or following, or
blocked) profile stay."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from apiworld import LINKED, ApiWorld
from sqlalchemy import func, select

from fedi.db import utcnow
from fedi.ids import new_id
from fedi.models import Actor, Block, MediaAttachment, Neighbour, Status, TimelineEntry
from fedi.peers import Peers
from fedi.services.hub_settings import set_setting
from fedi.services.privacy_job import PrivacyJob

OLD = "ancien.test"
RECENT = "recent.test"
RELINKED = "revenu.test"


@pytest.fixture
def world(database_url: str) -> Iterator[ApiWorld]:
    w = ApiWorld(database_url)
    yield w
    w.close()


def neighbour(world: ApiWorld, domain: str, state: str, ended_days_ago: int) -> None:
    when = utcnow() - timedelta(days=ended_days_ago)
    with world.session() as s:
        s.add(Neighbour(id=new_id(), domain=domain, state=state, source="admin",
                        territory=[], created_at=when, updated_at=when))


def remote_post(world: ApiWorld, owner_actor_id: int, author: int, text: str) -> int:
    """A neighbourhood post of ``author`` in the home timeline of ``owner_actor_id``,
    with a cached image."""
    sid = world.remote_status(author, text, "neighbourhood")
    with world.session() as s:
        s.add(TimelineEntry(id=new_id(), owner_id=owner_actor_id, status_id=sid))
        s.add(MediaAttachment(id=new_id(), key=f"k{sid}", actor_id=author, status_id=sid,
                              role="attachment", extension="jpg", meta={},
                              remote_url=f"https://x.test/{sid}.jpg", stored_bytes=10))
    return sid


def statuses_of(world: ApiWorld, domain: str) -> int:
    with world.session() as s:
        return int(s.scalar(select(func.count()).select_from(Status).join(
            Actor, Actor.id == Status.actor_id).where(Actor.domain == domain)) or 0)


def test_privacy_job_drops_the_cache_of_hubs_unlinked_long_ago(world: ApiWorld) -> None:
    alice = world.member("alice")
    neighbour(world, OLD, "unlinked", 31)
    neighbour(world, RECENT, "unlinked", 2)
    neighbour(world, RELINKED, "linked", 90)  # linked again long after a first link ended
    old_stranger, old_friend, old_fan, old_pest = (world.remote(n, OLD)
                                                   for n in ("paul", "rose", "yves", "zoe"))
    recent_author, relinked_author = world.remote("lea", RECENT), world.remote("tom", RELINKED)
    linked_author = world.remote("ines", LINKED)
    world.follow(alice, old_friend)
    world.follow(old_fan, alice)
    with world.session() as s:
        s.add(Block(id=new_id(), kind="block", actor_id=alice.actor_id, target_id=old_pest))
    gone = [remote_post(world, alice.actor_id, a, f"post {a}")
            for a in (old_stranger, old_friend, old_fan)]
    kept = [remote_post(world, alice.actor_id, a, f"post {a}")
            for a in (recent_author, relinked_author, linked_author)]
    mine = world.post(alice, "Mon message", "hub")

    deleted: list[str] = []
    peers = Peers(world.settings, world.sessions)
    job = PrivacyJob(world.sessions, deleted.append, keep_domain=peers.is_allowed)
    assert job.run_once().unlinked == 3

    with world.session() as s:
        assert all(s.get(Status, sid) is None for sid in gone)
        assert all(s.get(Status, sid) is not None for sid in kept)
        assert s.get(Status, mine) is not None
        entries = set(s.scalars(select(TimelineEntry.status_id).where(
            TimelineEntry.owner_id == alice.actor_id)))
        assert not entries & set(gone)
        assert set(kept) <= entries
        # The stranger's profile goes; the one Alice follows and her follower stay.
        assert s.get(Actor, old_stranger) is None
        assert s.get(Actor, old_friend) is not None
        assert s.get(Actor, old_fan) is not None
        assert s.get(Actor, old_pest) is not None  # Alice's block outlives the cache
        assert all(s.get(Actor, a) is not None
                   for a in (recent_author, relinked_author, linked_author))
        media = set(s.scalars(select(MediaAttachment.status_id)))
        assert not media & set(gone) and set(kept) <= media
    assert sorted(deleted) == sorted(f"k{sid}/{v}.jpg" for sid in gone
                                     for v in ("original", "small"))
    assert statuses_of(world, RECENT) == statuses_of(world, RELINKED) == 1

    # A second pass finds nothing more; a shorter setting takes the recent hub too.
    assert job.run_once().unlinked == 0
    with world.session() as s:
        set_setting(s, "unlinked_cache_days", "1")
    assert job.run_once().unlinked == 1
    assert statuses_of(world, RECENT) == 0 and statuses_of(world, LINKED) == 1
