"""Moving to another hub (Mastodon's Move and alsoKnownAs), with three real hubs: alice
moves from hub A to hub B; carol on hub C (linked) and dave on hub A followed her and
now follow the new account, approved at once, and see its next followers-only post; the
old account shows as moved in Mastodon.py. A Move whose target does not list the mover
changes nothing, and bad input on the settings forms gets a clear error and changes
nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest
from mastodon import Mastodon
from site_http import login, post_form
from sqlalchemy import func, select
from support.hubs import HubProcess, wait_for
from support.world import query

from fedi.models import Actor, Follow, InboxItem, OutboxActivity
from fedi.signatures import sign_request

pytestmark = pytest.mark.multihub
SCOPES = ["read", "write", "follow"]


def link_all(*hubs: HubProcess) -> None:
    """Each hub lists the others in ``federation.neighbours``: linked from the start."""
    for hub in hubs:
        others = ", ".join(f'"{o.domain}"' for o in hubs if o is not hub)
        text = hub.config_path.read_text(encoding="utf-8")
        assert "neighbours = []" in text
        hub.config_path.write_text(text.replace("neighbours = []", f"neighbours = [{others}]"),
                                   encoding="utf-8")


def client(hub: HubProcess, name: str) -> Mastodon:
    cid, secret = Mastodon.create_app("move", api_base_url=hub.base, scopes=SCOPES)
    api = Mastodon(client_id=cid, client_secret=secret, api_base_url=hub.base)
    api.log_in(f"{name}@{hub.host}.test", hub.passwords[name], scopes=SCOPES, allow_http=True)
    return api


def site(hub: HubProcess, name: str) -> httpx.Client:
    browser = httpx.Client(base_url=hub.base, timeout=20)
    assert login(browser, f"{name}@{hub.host}.test", hub.passwords[name]).status_code == 303
    return browser


def follow_and_approve(follower: Mastodon, owner: Mastodon, acct: str) -> int:
    """``follower`` follows ``acct`` (resolved through WebFinger), ``owner`` approves."""
    found = follower.search_v2(acct, resolve=True, result_type="accounts")["accounts"]
    account_id = next(a["id"] for a in found if a["acct"] == acct)
    assert follower.account_follow(account_id)["requested"] is True
    request = wait_for(lambda: owner.follow_requests(), what="the follow request")
    owner.follow_request_authorize(request[0]["id"])
    wait_for(lambda: follower.account_relationships(account_id)[0]["following"],
             what=f"following {acct}")
    return int(account_id)


def actor_of(hub: HubProcess, uri: str) -> Actor | None:
    return query(hub, lambda s: s.scalar(select(Actor).where(Actor.uri == uri)))


def follow_state(hub: HubProcess, follower_uri: str, followee_uri: str) -> str | None:
    def read(session):  # type: ignore[no-untyped-def]
        follower = session.scalar(select(Actor.id).where(Actor.uri == follower_uri))
        followee = session.scalar(select(Actor.id).where(Actor.uri == followee_uri))
        return session.scalar(select(Follow.state).where(Follow.follower_id == follower,
                                                         Follow.followee_id == followee))
    return query(hub, read)


def moves_sent(hub: HubProcess) -> int:
    return query(hub, lambda s: s.scalar(select(func.count()).select_from(OutboxActivity)
                                          .where(OutboxActivity.type == "Move")))


def post_as(hub: HubProcess, actor_uri: str, url: str, doc: dict[str, object]) -> int:
    """POST ``doc`` to ``url`` signed with the key of ``hub``'s member ``actor_uri``."""
    key_id, pem = query(hub, lambda s: s.execute(select(Actor.key_id, Actor.private_key_pem)
                                                 .where(Actor.uri == actor_uri)).one())
    body = json.dumps(doc).encode()
    headers = sign_request("POST", url, headers={"Content-Type": "application/activity+json"},
                           body=body, private_key_pem=pem, key_id=key_id, now=datetime.now(UTC))
    return httpx.post(url, content=body, headers=headers, timeout=10).status_code


@pytest.fixture
def hubs(make_hub: Callable[..., HubProcess], db_backend: str
         ) -> tuple[HubProcess, HubProcess, HubProcess]:
    a = make_hub("old", backend=db_backend, territory=("75011",))
    b = make_hub("new", backend=db_backend, territory=("75012",))
    c = make_hub("third", backend=db_backend, territory=("75020",))
    link_all(a, b, c)
    a.add_user("alice")
    a.add_user("dave")
    b.add_user("alice")
    b.add_user("bob")
    c.add_user("carol")
    for hub in (a, b, c):
        hub.start()
    return a, b, c


def test_member_moves_and_followers_follow(
        hubs: tuple[HubProcess, HubProcess, HubProcess]) -> None:
    a, b, c = hubs
    old_uri, new_uri = f"{a.base}/users/alice", f"{b.base}/users/alice"
    carol_uri, dave_uri = f"{c.base}/users/carol", f"{a.base}/users/dave"
    alice_a, alice_b, carol, dave = (client(a, "alice"), client(b, "alice"), client(c, "carol"),
                                     client(a, "dave"))
    old_on_c = follow_and_approve(carol, alice_a, f"alice@{a.domain}")
    follow_and_approve(dave, alice_a, "alice")

    # A forged Move (signed by alice's real key) to an account that does not list her:
    # carol's hub fetches bob, sees no alias, and changes nothing.
    forged = {"@context": "https://www.w3.org/ns/activitystreams", "type": "Move",
              "id": f"{old_uri}/moves/forged", "actor": old_uri, "object": old_uri,
              "target": f"{b.base}/users/bob", "to": [f"{old_uri}/followers"]}
    assert post_as(a, old_uri, f"{c.base}/inbox", forged) == 202
    wait_for(lambda: query(c, lambda s: s.scalar(select(InboxItem.state).where(
        InboxItem.activity_uri == forged["id"]))) == "done", what="the forged Move processed")
    assert actor_of(c, f"{b.base}/users/bob") is not None  # fetched, signed, to be checked
    assert actor_of(c, old_uri).moved_to_uri is None
    assert follow_state(c, carol_uri, old_uri) == "accepted"
    assert follow_state(c, carol_uri, f"{b.base}/users/bob") is None

    # Bad input on the forms: a clear message, nothing changed.
    old_site, new_site = site(a, "alice"), site(b, "alice")
    refused = post_form(old_site, "/settings/migration", "/settings/migration",
                        {"acct": f"alice@{b.domain}", "password": a.passwords["alice"]})
    assert refused.status_code == 422
    assert "ne liste pas ce compte" in refused.text  # French first: alias missing
    wrong = post_form(old_site, "/settings/migration", "/settings/migration",
                      {"acct": f"alice@{b.domain}", "password": "not-her-password"})
    assert wrong.status_code == 422 and "mot de passe est incorrect" in wrong.text
    for bad in ("nobody@" + a.domain, "@@", "x" * 500, "alice@unlinked.example"):
        answer = post_form(new_site, "/settings/aliases", "/settings/aliases", {"acct": bad})
        assert answer.status_code == 422, bad
        assert "Aucun compte" in answer.text, bad
    itself = post_form(new_site, "/settings/aliases", "/settings/aliases", {"acct": "alice"})
    assert itself.status_code == 422 and "ce compte lui-même" in itself.text
    assert actor_of(b, new_uri).also_known_as is None
    assert actor_of(a, old_uri).moved_to_uri is None and moves_sent(a) == 0

    # The alias on the new hub, then the move from the old one.
    added = post_form(new_site, "/settings/aliases", "/settings/aliases",
                      {"acct": f"alice@{a.domain}"})
    assert added.status_code == 303, added.text[:500]
    assert actor_of(b, new_uri).also_known_as == [old_uri]
    moved = post_form(old_site, "/settings/migration", "/settings/migration",
                      {"acct": f"alice@{b.domain}", "password": a.passwords["alice"]})
    assert moved.status_code == 303, moved.text[:500]
    assert "a déménagé" in old_site.get("/settings/migration").text

    # Followers on the third hub and on the old hub now follow the new account, approved
    # without alice doing anything on the new hub, and no longer follow the old one.
    wait_for(lambda: follow_state(c, carol_uri, new_uri) == "accepted", timeout=60,
             what="carol following the new account")
    wait_for(lambda: follow_state(a, dave_uri, new_uri) == "accepted", timeout=60,
             what="dave following the new account")
    assert follow_state(c, carol_uri, old_uri) is None
    assert follow_state(a, dave_uri, old_uri) is None
    assert alice_b.follow_requests() == []
    assert {x["acct"] for x in alice_b.account_followers(alice_b.me()["id"])} == {
        f"carol@{c.domain}", f"dave@{a.domain}"}

    # The next followers-only post of the new account reaches carol on the third hub.
    alice_b.status_post("secretMOVED for my followers", visibility="private")
    wait_for(lambda: any("secretMOVED" in s["content"] for s in carol.timeline_home()),
             timeout=60, what="the followers-only post on the third hub")

    # The old account shows as moved, on the third hub and on its own hub.
    old_seen = carol.account(old_on_c)
    assert old_seen["moved"] is not None and old_seen["moved"]["acct"] == f"alice@{b.domain}"
    local_seen = dave.account_lookup("alice")
    assert local_seen["moved"]["acct"] == f"alice@{b.domain}"
    assert carol.account_lookup(f"alice@{b.domain}").get("moved") is None
    assert "Ce compte a déménagé vers" in site(a, "dave").get("/@alice").text
    # …and its actor document says so, with the new one listing it back.
    assert actor_of(c, old_uri).moved_to_uri == new_uri
    assert actor_of(c, new_uri).also_known_as == [old_uri]
