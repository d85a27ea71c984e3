"""The SQL filter every timeline uses (``fedi.services.timelines.visible_to``) agrees with
``fedi.services.visibility.can_see`` on every (viewer, status) pair of a varied world:
local and remote authors (linked and unlinked hubs), every audience, follows (accepted
and requested), mentions, replies, boosts, deleted posts. On SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from collections.abc import Callable

from apiworld import FAR, LINKED, ApiWorld
from sqlalchemy import select

from fedi.db import utcnow
from fedi.ids import new_id
from fedi.models import Actor, Follow, Status
from fedi.peers import Peers
from fedi.services.timelines import visible_ids
from fedi.services.visibility import can_see

AUDIENCES = ("direct", "followers", "hub", "neighbourhood")


def test_sql_filter_matches_can_see(db_backend: str,
                                    new_database_url: Callable[[str, str], str]) -> None:
    world = ApiWorld(new_database_url(db_backend, "vis"))
    try:
        locals_ = [world.member(f"v{i}") for i in range(4)]
        local_ids = [m.actor_id for m in locals_]
        remote_ids = [world.remote("rl", LINKED), world.remote("rf", FAR)]
        authors = local_ids[:3] + remote_ids
        # Follows: v0 follows v1 (accepted) and rl; v2 asked to follow v1 (requested);
        # the linked remote follows v0.
        world.follow(local_ids[0], local_ids[1])
        world.follow(local_ids[0], remote_ids[0])
        world.follow(remote_ids[0], local_ids[0])
        with world.session() as s:
            s.add(Follow(id=new_id(), follower_id=local_ids[2], followee_id=local_ids[1],
                         state="requested", uri=f"https://x.test/f/{new_id()}"))
        statuses = []
        for author, audience, mention in itertools.product(authors, AUDIENCES, (None, 3)):
            mentions = (local_ids[mention],) if mention is not None else ()
            statuses.append(world.remote_status(author, f"{audience}", audience,
                                                mentions=mentions))
        # Replies, boosts (also of posts that are hidden to some), a deleted post.
        statuses.append(world.remote_status(local_ids[2], "reply", "followers",
                                            in_reply_to=statuses[0]))
        with world.session() as s:
            for original in (statuses[2], statuses[6], statuses[7], statuses[30]):
                wid = new_id()
                s.add(Status(id=wid, uri=f"https://hub.test/b/{wid}", actor_id=local_ids[1],
                             local=True, visibility=s.get(Status, original).visibility,
                             reblog_of_id=original, content="", recipients={},
                             created_at=utcnow()))
                statuses.append(wid)
            s.get(Status, statuses[5]).deleted_at = utcnow()
        peers = Peers(world.settings, world.sessions)
        checked = 0
        with world.session() as s:
            rows = list(s.scalars(select(Status).where(Status.id.in_(statuses))))
            for viewer_id in local_ids:
                viewer = s.get(Actor, viewer_id)
                by_sql = visible_ids(s, viewer, peers.allowed(), statuses)
                by_rule = {r.id for r in rows if can_see(s, viewer, r, is_linked=peers.is_allowed)}
                assert by_sql == by_rule, (viewer.username, by_sql ^ by_rule)
                checked += len(rows)
        assert checked >= 4 * 45
        # The world is varied enough that the filter hides and shows something for everyone.
        with world.session() as s:
            for viewer_id in local_ids:
                shown = visible_ids(s, s.get(Actor, viewer_id), peers.allowed(), statuses)
                assert 0 < len(shown) < len(statuses)
    finally:
        world.close()
