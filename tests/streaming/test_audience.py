"""The dispatcher's batched audience query and batched rendering agree with the read
paths: ``can_see`` (and blocks) per member, and the API's ``Renderer`` per member."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from api.apiworld import ApiWorld, ok
from sqlalchemy import exists, select

from fedi.api.entities import Renderer
from fedi.models import Actor, Block, Status
from fedi.services.visibility import can_see
from fedi.streaming.dispatch import visible_viewers
from fedi.streaming.render import status_for_each


@pytest.fixture
def world(database_url: str) -> Iterator[ApiWorld]:
    w = ApiWorld(database_url)
    try:
        yield w
    finally:
        w.close()


def test_batched_audience_and_rendering_match_the_read_paths(world: ApiWorld) -> None:
    author, follower, stranger, mentioned, blocker = (world.member() for _ in range(5))
    world.follow(follower, author)
    world.follow(blocker, author)
    ok(world.post_form(blocker, f"/api/v1/accounts/{author.id}/block"))
    remote = world.remote("far")
    statuses = [
        world.post(author, "abonnés"),
        world.post(author, f"@{mentioned.username} en privé", "direct"),
        world.post(author, f"@{mentioned.username} abonnés et mention"),
        world.post(author, "le hub", "hub"),
        world.post(author, "le voisinage", "neighbourhood"),
        world.remote_status(remote, "d'un hub lié", "neighbourhood"),
        world.remote_status(remote, "abonnés d'un hub lié", "followers"),
    ]
    public = statuses[4]
    ok(world.post_form(follower, f"/api/v1/statuses/{public}/favourite"))
    ok(world.post_form(follower, f"/api/v1/statuses/{public}/bookmark"))
    boost = int(ok(world.post_form(stranger, f"/api/v1/statuses/{public}/reblog"))["id"])
    statuses.append(boost)
    viewers = [author, follower, stranger, mentioned, blocker]
    hub = world.app.state.hub
    linked = hub.peers.allowed()
    with world.session() as s:
        people = [s.get(Actor, m.actor_id) for m in viewers]
        for sid in statuses:
            status = s.get(Status, sid)
            expected = {p.id for p in people if can_see(
                s, p, status, is_linked=linked.__contains__) and not s.scalar(select(exists().where(
                    Block.actor_id == p.id, Block.target_id == status.actor_id)))}
            assert set(visible_viewers(s, sid, [p.id for p in people], linked)) == expected, sid
            seeing = [p for p in people if p.id in expected]
            batched = status_for_each(s, hub, status, seeing)
            for p in seeing:
                alone = Renderer(s, hub, p).status(status)
                assert json.loads(batched[p.id]) == alone, (sid, p.username)
        mine = json.loads(status_for_each(s, hub, s.get(Status, boost), [people[1]])[
            follower.actor_id])
        assert mine["reblog"]["favourited"] and mine["reblog"]["bookmarked"]
        assert not mine["favourited"]
