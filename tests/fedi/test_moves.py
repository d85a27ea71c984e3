"""A received Move, case by case, on a hub's own database (fedi.services.moves): it is
followed only when the target is on a hub this one federates with and lists the mover in
alsoKnownAs; the target's hub approves the followers the old hub named."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select
from support.hubs import HubProcess
from support.world import hub_session

from fedi.ids import new_id
from fedi.models import Actor, Follow, OutboxActivity
from fedi.services.moves import followed_before, receive_move, verified_move_target

LINKED = "linked.example"


@pytest.fixture
def hub(make_hub: Callable[..., HubProcess], db_backend: str) -> HubProcess:
    h = make_hub("mv", backend=db_backend)
    text = h.config_path.read_text(encoding="utf-8")
    h.config_path.write_text(text.replace("neighbours = []", f'neighbours = ["{LINKED}"]'),
                             encoding="utf-8")
    h.add_user("carol")
    h.add_user("neo")
    return h


def remote(session, domain: str, name: str, aliases: list[str] | None = None) -> Actor:  # type: ignore[no-untyped-def]
    actor = Actor(id=new_id(), uri=f"http://{domain}/users/{name}", username=name,
                  domain=domain, local=False, inbox=f"http://{domain}/users/{name}/inbox",
                  shared_inbox=f"http://{domain}/inbox", also_known_as=aliases, fields=[])
    session.add(actor)
    session.flush()
    return actor


def local(session, name: str) -> Actor:  # type: ignore[no-untyped-def]
    found = session.scalar(select(Actor).where(Actor.local, Actor.username == name))
    assert found is not None
    return found


def follows(session, follower: Actor, followee: Actor) -> str | None:  # type: ignore[no-untyped-def]
    return session.scalar(select(Follow.state).where(Follow.follower_id == follower.id,
                                                     Follow.followee_id == followee.id))


def move(origin: Actor, target: str, **extra: object) -> dict[str, object]:
    return {"id": f"{origin.uri}/moves/{new_id()}", "type": "Move", "actor": origin.uri,
            "object": origin.uri, "target": target, **extra}


def with_follower(session, follower: Actor, followee: Actor) -> None:  # type: ignore[no-untyped-def]
    session.add(Follow(id=new_id(), follower_id=follower.id, followee_id=followee.id,
                       uri=f"{follower.uri}/follows/{new_id()}", state="accepted"))
    session.flush()


@pytest.mark.parametrize("case", ["untrusted", "no_alias", "someone_else", "unknown"])
def test_refused_moves_change_nothing(hub: HubProcess, case: str) -> None:
    with hub_session(hub) as (session, ctx):
        carol = local(session, "carol")
        old = remote(session, LINKED, "old")
        with_follower(session, carol, old)
        if case == "untrusted":  # lists old, but on a server this hub does not federate with
            target = remote(session, "stranger.example", "new", [old.uri]).uri
        elif case == "no_alias":
            target = remote(session, LINKED, "new").uri
        elif case == "someone_else":
            target = remote(session, LINKED, "new", [old.uri]).uri
        else:
            target = f"http://{LINKED}/users/never-fetched"
        doc = move(old, target)
        if case == "someone_else":
            doc["object"] = f"http://{LINKED}/users/other"
        outcome = receive_move(session, ctx, old, doc)
        assert outcome.startswith("ignored"), outcome
        assert old.moved_to_uri is None
        assert follows(session, carol, old) == "accepted"
        assert session.scalar(select(OutboxActivity.id)) is None


def test_a_verified_move_moves_local_followers(hub: HubProcess) -> None:
    with hub_session(hub) as (session, ctx):
        carol = local(session, "carol")
        old = remote(session, LINKED, "old")
        new = remote(session, LINKED, "new", [old.uri])
        with_follower(session, carol, old)
        assert receive_move(session, ctx, old, move(old, new.uri)).startswith("moved")
        assert old.moved_to_uri == new.uri
        assert verified_move_target(session, old) is new
        assert follows(session, carol, old) is None
        assert follows(session, carol, new) == "requested"  # the new hub decides
        sent = {row.type for row in session.scalars(select(OutboxActivity))}
        assert sent == {"Follow", "Undo"}


def test_a_claimed_moved_to_alone_is_not_shown(hub: HubProcess) -> None:
    with hub_session(hub) as (session, _ctx):
        old = remote(session, LINKED, "old")
        claimed = remote(session, LINKED, "famous")  # does not list old
        old.moved_to_uri = claimed.uri
        assert verified_move_target(session, old) is None


def test_the_new_hub_approves_the_named_followers(hub: HubProcess) -> None:
    with hub_session(hub) as (session, ctx):
        neo = local(session, "neo")
        old = remote(session, LINKED, "old")
        neo.also_known_as = [old.uri]
        fan, stranger = remote(session, LINKED, "fan"), remote(session, LINKED, "stranger")
        for follower in (fan, stranger):  # both asked before the Move arrived
            session.add(Follow(id=new_id(), follower_id=follower.id, followee_id=neo.id,
                               uri=f"{follower.uri}/follows/1", state="requested"))
        session.flush()
        doc = move(old, neo.uri, movedFollowers=[fan.uri, "not a uri", 42])
        assert receive_move(session, ctx, old, doc).startswith("moved")
        assert follows(session, fan, neo) == "accepted"
        assert follows(session, stranger, neo) == "requested"
        assert followed_before(session, neo, fan) and not followed_before(session, neo, stranger)
        accepts = [row.payload for row in session.scalars(
            select(OutboxActivity).where(OutboxActivity.type == "Accept"))]
        assert [a["to"] for a in accepts] == [[fan.uri]]


def test_a_follow_after_the_move_is_approved_at_once(hub: HubProcess) -> None:
    import inbox.handlers  # noqa: F401  (fills the dispatch table)
    from inbox.dispatch import HandlerContext, dispatch

    with hub_session(hub) as (session, ctx):
        neo = local(session, "neo")
        old = remote(session, LINKED, "old")
        neo.also_known_as = [old.uri]
        fan, stranger = remote(session, LINKED, "fan"), remote(session, LINKED, "stranger")
        receive_move(session, ctx, old, move(old, neo.uri, movedFollowers=[fan.uri]))
        for follower in (fan, stranger):
            dispatch(HandlerContext(session, ctx, follower), {
                "id": f"{follower.uri}/follows/2", "type": "Follow", "actor": follower.uri,
                "object": neo.uri})
        assert follows(session, fan, neo) == "accepted"
        assert follows(session, stranger, neo) == "requested"  # waits for neo, as ever
