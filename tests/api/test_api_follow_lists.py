"""Who may see whom a member follows and who follows them (issue 13, item 9): one rule for
the client API and the ActivityPub collections (``relationships.may_list_follows``). The
owner always; another member of the owner's hub unless the owner hides them (Mastodon's
``hide_collections``); nobody else. The API answers an empty list where the list is hidden,
as Mastodon does; the counts stay. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from apiworld import FAR, LINKED, ApiWorld, Member, ok

from fedi.models import Actor
from fedi.services.accounts import INSTANCE_USERNAME
from fedi.services.relationships import may_list_follows


def listed(world: ApiWorld, who: Member, owner: str, kind: str) -> list[str]:
    return [a["id"] for a in ok(world.get(who, f"/api/v1/accounts/{owner}/{kind}"))]


def test_lists__same_hub_members_see_them_unless_hidden(
        db_backend: str, new_database_url: Callable[[str, str], str]) -> None:
    world = ApiWorld(new_database_url(db_backend, "lists"))
    try:
        alice, bob, carol = (world.member(n) for n in ("alice", "bob", "carol"))
        remy = world.remote("remy", LINKED)
        world.follow(bob, alice)
        world.follow(remy, alice)
        world.follow(alice, bob)
        world.follow(alice, remy)
        world.follow(carol, remy)
        everyone = {str(remy), bob.id}
        for viewer in (alice, carol):
            assert set(listed(world, viewer, alice.id, "followers")) == everyone
            assert set(listed(world, viewer, alice.id, "following")) == everyone
        # A remote member's lists belong to another hub: nobody here sees them.
        assert listed(world, alice, str(remy), "followers") == []
        assert listed(world, carol, str(remy), "following") == []

        # Alice hides them: only she still sees them; counts unchanged for everyone.
        me = ok(world.client.patch("/api/v1/accounts/update_credentials",
                                   headers=alice.headers, data={"hide_collections": "true"}))
        assert me["hide_collections"] is True and me["source"]["hide_collections"] is True
        for kind in ("followers", "following"):
            assert listed(world, carol, alice.id, kind) == []
            assert listed(world, bob, alice.id, kind) == []  # even one who is in the list
            assert set(listed(world, alice, alice.id, kind)) == everyone
            paged = world.get(carol, f"/api/v1/accounts/{alice.id}/{kind}",
                              params={"limit": 1, "max_id": "99999999999999999"})
            assert ok(paged) == [] and "link" not in paged.headers
        seen = ok(world.get(carol, f"/api/v1/accounts/{alice.id}"))
        assert seen["hide_collections"] is True
        assert seen["followers_count"] == 2 and seen["following_count"] == 2
        # Bob's lists are not hidden: alice's choice is hers alone.
        assert listed(world, carol, bob.id, "followers") == [alice.id]

        # familiar_followers shows part of both lists: the same rule. Carol follows bob,
        # who follows alice: hidden while alice hides her followers, and while bob hides
        # whom he follows.
        def familiar() -> list[str]:
            body = ok(world.get(carol, "/api/v1/accounts/familiar_followers",
                                params={"id[]": alice.id}))
            return [a["id"] for a in body[0]["accounts"]]

        world.follow(carol, bob)
        assert familiar() == []
        ok(world.client.patch("/api/v1/accounts/update_credentials", headers=alice.headers,
                              data={"hide_collections": "false"}))
        assert familiar() == [bob.id]
        ok(world.client.patch("/api/v1/accounts/update_credentials", headers=bob.headers,
                              data={"hide_collections": "true"}))
        assert familiar() == []
        ok(world.client.patch("/api/v1/accounts/update_credentials", headers=bob.headers,
                              data={"hide_collections": "false"}))
        ok(world.client.patch("/api/v1/accounts/update_credentials", headers=alice.headers,
                              data={"hide_collections": "true"}))

        # And shown again.
        ok(world.client.patch("/api/v1/accounts/update_credentials", headers=alice.headers,
                              json={"hide_collections": False}))
        assert set(listed(world, carol, alice.id, "followers")) == everyone
    finally:
        world.close()


def _actor(name: str, domain: str, *, local: bool, hidden: bool = False) -> Actor:
    return Actor(id=abs(hash((name, domain))) % 10**12, uri=f"https://{domain}/users/{name}",
                 username=name, domain=domain, local=local, hide_collections=hidden)


@pytest.mark.parametrize(("viewer", "hidden", "expected"), [
    ("owner", False, True), ("owner", True, True),
    ("member", False, True), ("member", True, False),
    ("instance", False, False),
    ("linked", False, False), ("far", False, False), (None, False, False),
])
def test_may_list_follows__one_rule(viewer: str | None, hidden: bool, expected: bool) -> None:
    """The rule both surfaces call, with viewers the API cannot produce (the instance
    actor, remote actors of a linked and of an unlinked hub, nobody)."""
    owner = _actor("alice", "hub.test", local=True, hidden=hidden)
    viewers = {"owner": owner, "member": _actor("bob", "hub.test", local=True),
               "instance": _actor(INSTANCE_USERNAME, "hub.test", local=True),
               "linked": _actor("remy", LINKED, local=False),
               "far": _actor("fanny", FAR, local=False), None: None}
    assert may_list_follows(viewers[viewer], owner) is expected
    # A remote owner's lists are never listed here, whoever asks.
    assert may_list_follows(viewers[viewer], _actor("remy", LINKED, local=False)) is False
