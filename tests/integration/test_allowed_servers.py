"""Allowed servers are not linked hubs (DESIGN.md "Linked hub vs allowed server").

A real hub allows a fake Mastodon and a fake Takahē (``support.fediverse``: real HTTP on
loopback, real signatures, their own addressing, actor shapes and shared inbox paths) without
linking them. Both ways:

- in: a post addressed to as:Public alone by an author a member follows is taken (issue 15
  #1), and shown only to that member; a public post that mentions a member is shown to that
  member only, never in the neighbourhood timeline (#3);
- out: a neighbourhood post is never addressed to the server's (nonexistent) ``/members`` nor
  delivered there; a followers-only post reaches the shared inbox its actors advertise (with
  Takahē's trailing slash), and only when someone there follows (#2);
- boosts: the author's own boost of a followers-only post (Mastodon.py ``status_reblog``)
  reaches the same followers and no one else; anyone else's is refused (#5).
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from mastodon import Mastodon
from mastodon.errors import MastodonAPIError
from sqlalchemy import select
from support.fediverse import PUBLIC, FakeMastodon, FakeTakahe
from support.hostile import (
    HostileRemote,
    activity,
    create_note,
    member_follows_remote,
    member_uri,
    remote_follows_member,
    start_hub,
    status_by_uri,
    timeline_of,
    wait_processed,
)
from support.hubs import wait_for
from support.world import actor, hub_session, query

from fedi.models import Actor, Delivery, Interaction, OutboxActivity, Status
from fedi.services.posting import Draft, create_status
from fedi.services.timelines import visible_to
from fedi.services.visibility import can_see

KINDS = ("mastodon", "takahe")
SCOPES = ["read", "write", "follow"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    with FakeMastodon() as mastodon, FakeTakahe() as takahe:
        hub = start_hub(tmp_path_factory.mktemp("allowed"), "allowed",
                        users=["alice", "bob", "carol", "dave"],
                        allowed=[mastodon.domain, takahe.domain])
        try:
            remotes: dict[str, HostileRemote] = {"mastodon": mastodon, "takahe": takahe}
            fans = {}
            for kind, remote in remotes.items():
                fans[kind] = remote.add_actor(f"fan{kind[0]}")
                remote_follows_member(hub, fans[kind], "alice")  # follows alice only
            yield SimpleNamespace(hub=hub, remotes=remotes, fans=fans,
                                  inbox=f"{hub.base}/inbox")
        finally:
            hub.stop()


def _sees(world: SimpleNamespace, username: str, uri: str) -> bool:
    """The hub's rule for one member, both ways it is applied: ``can_see`` and the
    timelines' SQL (``visible_to``), with the hub's own linked domains."""

    with hub_session(world.hub) as (s, ctx):
        linked = ctx.linked_domains()
        viewer = actor(s, member_uri(world.hub, username))
        status = s.scalar(select(Status).where(Status.uri == uri))
        assert status is not None
        by_rule = can_see(s, viewer, status, is_linked=lambda d: d in linked)
        by_sql = s.scalar(select(Status.id).join(Actor, Actor.id == Status.actor_id)
                          .where(Status.uri == uri, visible_to(viewer.id, linked)))
        assert by_rule == (by_sql is not None), (username, by_rule, by_sql)
        return by_rule


def test_allowed_servers_are_not_linked_hubs(world: SimpleNamespace) -> None:
    with hub_session(world.hub) as (_s, ctx):
        assert ctx.linked_domains() == frozenset()
        for remote in world.remotes.values():
            assert ctx.is_allowed(remote.domain)
    for remote in world.remotes.values():
        author = remote.actors[next(iter(remote.actors))]
        answer = remote.get(f"{world.hub.base}/members", author)
        assert answer.status_code == 404


@pytest.mark.parametrize("kind", KINDS)
def test_public_only_post_by_followed_author__taken_and_shown_to_followers_only(
        world: SimpleNamespace, kind: str) -> None:
    remote = world.remotes[kind]
    author = remote.add_actor(f"author{kind[0]}")
    member_follows_remote(world.hub, "bob", author)
    note = create_note(author, to=[PUBLIC])  # as:Public alone, no followers collection
    response = remote.post(world.inbox, note, author)
    assert response.status_code == 202, response.text
    wait_processed(world.hub, note["id"])
    uri = note["object"]["id"]
    status = status_by_uri(world.hub, uri)
    assert status is not None and status.visibility == "followers"
    assert _sees(world, "bob", uri)
    assert not _sees(world, "alice", uri) and not _sees(world, "carol", uri)
    assert uri in timeline_of(world.hub, "bob") and uri not in timeline_of(world.hub, "alice")

    # The server's own public addressing (Mastodon adds its followers in cc): the same.
    to, cc = remote.public_addressing(author)
    note = create_note(author, to=to, cc=cc)
    assert remote.post(world.inbox, note, author).status_code == 202
    wait_processed(world.hub, note["id"])
    assert _sees(world, "bob", note["object"]["id"])
    assert not _sees(world, "alice", note["object"]["id"])


@pytest.mark.parametrize("kind", KINDS)
def test_public_only_post_by_unfollowed_author__refused(world: SimpleNamespace,
                                                        kind: str) -> None:
    remote = world.remotes[kind]
    stranger = remote.add_actor(f"stranger{kind[0]}")
    note = create_note(stranger, to=[PUBLIC])
    response = remote.post(world.inbox, note, stranger)
    assert response.status_code == 422
    assert status_by_uri(world.hub, note["object"]["id"]) is None


@pytest.mark.parametrize("kind", KINDS)
def test_public_post_mentioning_a_member__shown_to_that_member_only(world: SimpleNamespace,
                                                                     kind: str) -> None:
    remote = world.remotes[kind]
    author = remote.add_actor(f"mentioner{kind[0]}")
    carol = member_uri(world.hub, "carol")
    to, cc = remote.public_addressing(author)
    note = create_note(author, to=to, cc=[*cc, carol], mentions=[carol],
                       content="<p>@carol bonjour</p>")
    assert remote.post(world.inbox, note, author).status_code == 202
    wait_processed(world.hub, note["id"])
    uri = note["object"]["id"]
    status = status_by_uri(world.hub, uri)
    assert status is not None and status.visibility in ("followers", "direct")
    assert _sees(world, "carol", uri)
    for other in ("alice", "bob", "dave"):
        assert not _sees(world, other, uri), other


def _outbox(world: SimpleNamespace, status_uri: str) -> tuple[dict, list[tuple[str, str]]]:
    """The Create of a status and its deliveries (inbox URL, domain)."""

    def q(s):  # type: ignore[no-untyped-def]
        row = s.scalar(select(OutboxActivity).where(OutboxActivity.object_uri == status_uri,
                                                    OutboxActivity.type == "Create"))
        assert row is not None
        rows = s.execute(select(Delivery.inbox_url, Delivery.domain)
                         .where(Delivery.activity_id == row.id)).all()
        return row.payload, [tuple(r) for r in rows]

    return query(world.hub, q)


def _post(world: SimpleNamespace, username: str, draft: Draft) -> str:
    with hub_session(world.hub) as (s, ctx):
        return create_status(s, ctx, actor(s, member_uri(world.hub, username)), draft).uri


def test_neighbourhood_post__never_addressed_or_delivered_to_allowed_servers(
        world: SimpleNamespace) -> None:
    uri = _post(world, "alice", Draft(text="Pour le quartier", visibility="neighbourhood"))
    payload, deliveries = _outbox(world, uri)
    addressed = set(payload.get("to", [])) | set(payload.get("cc", []))
    for remote in world.remotes.values():
        assert f"{remote.base}/members" not in addressed
        assert all(domain != remote.domain for _url, domain in deliveries)
        assert remote.count("/members") == 0
    assert PUBLIC not in addressed


@pytest.mark.parametrize("kind", KINDS)
def test_followers_only_post__to_the_advertised_shared_inbox(world: SimpleNamespace,
                                                             kind: str) -> None:
    remote = world.remotes[kind]
    uri = _post(world, "alice", Draft(text=f"Abonnés seulement {kind}"))
    _payload, deliveries = _outbox(world, uri)
    assert (remote.url(remote.shared_inbox_path), remote.domain) in deliveries

    def arrived() -> bool:
        return any(d.get("type") == "Create" and d["object"]["id"] == uri
                   for d in remote.deliveries("Create"))

    wait_for(arrived, timeout=30, what=f"the Create at {kind}'s shared inbox")
    posts = [r.path for r in remote.seen(method="POST")]
    assert remote.shared_inbox_path in posts
    assert "/members" not in posts and "/members/" not in posts
    if kind == "takahe":
        assert "/inbox" not in posts  # never a guessed path


def test_followers_only_post__nowhere_when_no_one_there_follows(world: SimpleNamespace) -> None:
    uri = _post(world, "dave", Draft(text="Personne là-bas ne me suit"))
    _payload, deliveries = _outbox(world, uri)
    assert deliveries == []


def _login(world: SimpleNamespace, name: str) -> Mastodon:
    hub = world.hub
    cid, secret = Mastodon.create_app("wider", api_base_url=hub.base, scopes=SCOPES)
    client = Mastodon(client_id=cid, client_secret=secret, api_base_url=hub.base)
    client.log_in(f"{name}@{hub.host}.test", hub.passwords[name], scopes=SCOPES,
                  allow_http=True)
    return client


def test_own_boost_of_followers_only_post__same_followers_only(world: SimpleNamespace) -> None:
    alice = _login(world, "alice")
    post = alice.status_post("Réservé à mes abonnés", visibility="private")
    boost = alice.status_reblog(post.id)
    assert boost.reblog.id == post.id and boost.visibility == "private"
    # Idempotent, and undone as Mastodon does.
    assert alice.status_reblog(post.id).id == boost.id

    def announced() -> list[dict]:
        return [d for remote in world.remotes.values() for d in remote.deliveries("Announce")
                if d.get("object") == post.uri]

    wait_for(lambda: len(announced()) == 2, timeout=30, what="the Announce at both servers")
    for doc in announced():
        assert doc["to"] == [f"{member_uri(world.hub, 'alice')}/followers"]
        assert not doc.get("cc")
    wrapper_uri = query(world.hub, lambda s: s.scalar(select(Status.uri).where(
        Status.reblog_of_id == int(post.id))))
    assert not _sees(world, "bob", wrapper_uri)

    # Nobody else may boost it, nor may anyone boost a direct post, the author included.
    bob = _login(world, "bob")
    with pytest.raises(MastodonAPIError) as refused:
        bob.status_reblog(post.id)
    assert refused.value.args[1] in (404, 422)
    dm = alice.status_post(f"@bob@{world.hub.domain} privé", visibility="direct")
    with pytest.raises(MastodonAPIError) as refused:
        alice.status_reblog(dm.id)
    assert refused.value.args[1] == 422
    with pytest.raises(MastodonAPIError) as refused:
        bob.status_reblog(dm.id)
    assert refused.value.args[1] in (404, 422)


@pytest.mark.parametrize("kind", KINDS)
def test_follower_boost_of_followers_only_post__ignored_on_the_inbox(world: SimpleNamespace,
                                                                     kind: str) -> None:
    uri = _post(world, "alice", Draft(text=f"À ne pas partager {kind}"))
    fan = world.fans[kind]
    doc = activity(fan, "Announce", uri, to=[fan.followers], cc=[member_uri(world.hub, "alice")])
    assert fan.remote.post(world.inbox, doc, fan).status_code == 202
    wait_processed(world.hub, doc["id"])
    assert query(world.hub, lambda s: s.scalar(select(Interaction.id).where(
        Interaction.uri == doc["id"]))) is None
