"""``POST /api/v1/reports``: bad input gets a clear 422 and stores nothing; a good report is
stored with its posts, category and rules, answered as Mastodon's Report entity, and shows
in the console of the hub's moderators (not to members). SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from apiworld import LINKED, ApiWorld, Member, ok
from sqlalchemy import func, select

from fedi.models import Actor, Report, Status
from fedi.services.accounts import ensure_instance_actor
from inbox.dispatch import HandlerContext, dispatch


@pytest.fixture(scope="module")
def world(module_database_url: str) -> Iterator[ApiWorld]:
    w = ApiWorld(module_database_url)
    yield w
    w.close()


@pytest.fixture(scope="module")
def scene(world: ApiWorld) -> dict[str, Any]:
    alice, bob, carol = world.member("alice"), world.member("bob"), world.member("carol")
    manon = world.member("manon", role="moderator")
    world.follow(alice, bob)
    bob_post = world.post(bob, "Vide-grenier truqué", "hub")
    bob_secret = world.post(bob, "@" + carol.username + " entre nous", "direct")
    carol_post = world.post(carol, "Bonjour le quartier", "hub")
    remy = world.remote("remy", LINKED)
    remy_post = world.remote_status(remy, "Promo promo promo", "neighbourhood")
    with world.session() as s:
        instance = ensure_instance_actor(s, world.settings).id
    return {"alice": alice, "bob": bob, "carol": carol, "manon": manon, "bob_post": bob_post,
            "bob_secret": bob_secret, "carol_post": carol_post, "remy": remy,
            "remy_post": remy_post, "instance": instance}


def login(client: httpx.Client, username: str, password: str, next_url: str) -> None:
    """The member site's login form, as a browser sends it."""
    form = client.get(f"/login?next={next_url}")
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', form.text)
    assert token is not None
    answer = client.post("/login", data={"login": username, "password": password,
                                         "next": next_url, "csrf_token": token.group(1)},
                         follow_redirects=False)
    assert answer.status_code == 303, answer.text[:300]


def reports_count(world: ApiWorld) -> int:
    with world.session() as s:
        return int(s.scalar(select(func.count()).select_from(Report)) or 0)


def refused(world: ApiWorld, who: Member, body: dict[str, Any], *, fr: bool = False) -> str:
    headers = {**who.headers, "Accept-Language": "fr" if fr else "en"}
    answer = world.client.post("/api/v1/reports", json=body, headers=headers)
    assert answer.status_code == 422, (body, answer.status_code, answer.text)
    return str(answer.json()["error"])


def test_bad_input_is_refused_clearly_and_stores_nothing(world: ApiWorld,
                                                         scene: dict[str, Any]) -> None:
    alice, bob = scene["alice"], scene["bob"]
    before = reports_count(world)
    assert "account_id is missing" in refused(world, alice, {"comment": "x"})
    assert "not an account you can report" in refused(world, alice, {"account_id": "12345"})
    assert "not an account you can report" in refused(world, alice, {"account_id": "abc"})
    assert "not an account you can report" in refused(
        world, alice, {"account_id": str(scene["instance"])})
    assert "cannot report yourself" in refused(world, alice, {"account_id": alice.id})
    assert "signaler vous-même" in refused(world, alice, {"account_id": alice.id}, fr=True)
    # Unknown posts, posts of someone else, and posts the member cannot see are refused
    # (Mastodon drops them silently; a member must know what the moderators will get).
    assert "99999 is not a post you can see" in refused(
        world, alice, {"account_id": bob.id, "status_ids": ["99999"]})
    assert "is not a post you can see" in refused(
        world, alice, {"account_id": bob.id, "status_ids": ["nope"]})
    assert "is not a post of the reported account" in refused(
        world, alice, {"account_id": bob.id, "status_ids": [str(scene["carol_post"])]})
    assert "is not a post you can see" in refused(
        world, alice, {"account_id": bob.id, "status_ids": [str(scene["bob_secret"])]})
    assert "category must be one of" in refused(
        world, alice, {"account_id": bob.id, "category": "boring"})
    assert "is not a rule of this hub" in refused(
        world, alice, {"account_id": bob.id, "rule_ids": ["99"]})
    assert "1000" in refused(world, alice, {"account_id": bob.id, "comment": "x" * 1001})
    assert "comment must be a string" in refused(
        world, alice, {"account_id": bob.id, "comment": {"a": 1}})
    assert reports_count(world) == before


def test_a_report_is_stored_answered_as_mastodon_does_and_reaches_the_console(
        world: ApiWorld, scene: dict[str, Any]) -> None:
    alice, bob, manon = scene["alice"], scene["bob"], scene["manon"]
    entity = ok(world.post_json(alice, "/api/v1/reports", {
        "account_id": bob.id, "status_ids": [str(scene["bob_post"])],
        "comment": "Annonce trompeuse", "rule_ids": ["3"], "forward": True}))
    assert entity["category"] == "violation"  # rules given: a violation, as Mastodon does
    assert entity["rule_ids"] == ["3"] and entity["status_ids"] == [str(scene["bob_post"])]
    assert entity["action_taken"] is False and entity["forwarded"] is False
    assert entity["target_account"]["id"] == bob.id and entity["comment"] == "Annonce trompeuse"
    # Mastodon.py's path (trailing slash, form arrays) about a linked hub's member.
    remote = ok(world.post_form(alice, "/api/v1/reports/", {
        "account_id": str(scene["remy"]), "status_ids[]": [str(scene["remy_post"])],
        "category": "spam", "forward": "1"}))
    assert remote["category"] == "spam" and remote["rule_ids"] is None
    with world.session() as s:
        row = s.get(Report, int(remote["id"]))
        assert row is not None and row.forward_requested and row.origin_domain is None
        assert row.status_uris == [f"https://{LINKED}/users/remy/statuses/{scene['remy_post']}"]
        assert row.reporter_uri == s.get(Actor, alice.actor_id).uri
    # The moderators see both in the console; a member gets the 403 page.
    login(world.client, manon.username, manon.password, "/console")
    listing = world.client.get("/console/reports")
    assert listing.status_code == 200
    assert f"@{bob.username}" in listing.text and "@remy@voisin.test" in listing.text
    page = world.client.get(f"/console/reports/{entity['id']}")
    assert "Vide-grenier truqué" in page.text and "Annonce trompeuse" in page.text
    assert f'action="/console/reports/{entity["id"]}/remove"' in page.text
    remote_page = world.client.get(f"/console/reports/{remote['id']}")
    assert "Promo promo promo" in remote_page.text  # a neighbourhood post: visible
    assert f'action="/console/reports/{remote["id"]}/forward"' in remote_page.text
    assert f'action="/console/reports/{remote["id"]}/remove"' not in remote_page.text
    world.client.cookies.clear()
    login(world.client, alice.username, alice.password, "/settings")
    assert world.client.get("/console/reports").status_code == 403
    assert world.client.get(f"/console/reports/{entity['id']}").status_code == 403
    world.client.cookies.clear()


def receive(world: ApiWorld, sender_id: int, doc: dict[str, Any]) -> None:
    with world.session() as s:
        dispatch(HandlerContext(s, world.ctx(), s.get(Actor, sender_id)), doc)


def test_flags_of_other_servers_are_kept_only_when_they_name_a_member_here(
        world: ApiWorld, scene: dict[str, Any]) -> None:
    """Mastodon's shape (object list: the account, then posts) and GoToSocial's (a bare
    account URI); objects that are not ours are dropped; a Flag naming nothing of ours, or
    the same Flag again, stores nothing."""
    hub_actor = world.remote("actor", LINKED)  # the sending hub's instance actor
    bob, carol = scene["bob"], scene["carol"]
    with world.session() as s:
        bob_uri = s.get(Actor, bob.actor_id).uri
        carol_uri = s.get(Actor, carol.actor_id).uri
        post_uri = s.get(Status, scene["bob_post"]).uri
        carol_post_uri = s.get(Status, scene["carol_post"]).uri
    before = reports_count(world)
    base = f"https://{LINKED}/flags"
    receive(world, hub_actor, {"id": f"{base}/1", "type": "Flag", "actor": "x",
                               "content": "Spam répété",
                               "object": [bob_uri, post_uri, carol_post_uri,
                                          f"https://{LINKED}/users/remy/statuses/1"]})
    receive(world, hub_actor, {"id": f"{base}/2", "type": "Flag", "object": carol_uri})
    receive(world, hub_actor, {"id": f"{base}/3", "type": "Flag",
                               "object": [f"https://{LINKED}/users/remy"]})
    receive(world, hub_actor, {"id": f"{base}/1", "type": "Flag", "object": [bob_uri]})
    assert reports_count(world) == before + 2
    with world.session() as s:
        first = s.scalar(select(Report).where(Report.uri == f"{base}/1"))
        assert first.target_actor_id == bob.actor_id and first.status_uris == [post_uri]
        assert first.origin_domain == LINKED and first.comment == "Spam répété"
        second = s.scalar(select(Report).where(Report.uri == f"{base}/2"))
        assert second.target_actor_id == carol.actor_id and second.status_uris == []
        assert second.comment == ""
