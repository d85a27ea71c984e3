"""The member pages' forms over HTTP with a session cookie: publishing (and what is refused),
replies never wider than their parent, edit and delete of one's own posts only, favourites
and boosts where allowed, direct-message threads, the profile editor's neighbourhood rules,
invitations (and the hub setting that stops them), and the directory's results."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))
from apiworld import DOMAIN, ApiWorld, Member, ok

from fedi.models import Actor, Invite, Sponsorship, Status, User
from fedi.services.accounts import check_password
from fedi.services.hub_settings import set_setting
from fedi.services.passwords import PasswordWork

CSRF_RE = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


class Browser:
    """A member's browser: its own cookies, logged in through /login, forms with the token."""

    def __init__(self, world: ApiWorld, member: Member | None) -> None:
        self.client = TestClient(world.app, base_url=f"https://{DOMAIN}")
        if member is not None:
            done = self.post("/login", {"login": member.email, "password": member.password,
                                        "next": "/"}, token_from="/login")
            assert done.status_code == 303, done.text[:300]

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(path, **kw)

    def post(self, path: str, data: dict[str, str], token_from: str = "/") -> Any:
        page = self.client.get(token_from)
        token = CSRF_RE.search(page.text)
        assert token, page.text[:500]
        return self.client.post(path, data={**data, "csrf_token": token.group(1)},
                                follow_redirects=False)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiWorld]:
    path: Path = tmp_path_factory.mktemp("site-pages")
    w = ApiWorld(f"sqlite:///{path / 'hub.db'}")
    yield w
    w.close()


@pytest.fixture(scope="module")
def people(world: ApiWorld) -> dict[str, Any]:
    members = {n: world.member(n) for n in ("alice", "bob", "carol", "dave")}
    world.follow(members["bob"], members["alice"])
    return {"m": members, "b": {n: Browser(world, m) for n, m in members.items()}}


def statuses_of(world: ApiWorld, member: Member) -> list[Status]:
    with world.session() as s:
        rows = list(s.scalars(select(Status).where(Status.actor_id == member.actor_id,
                                                   Status.deleted_at.is_(None))))
        s.expunge_all()
        return rows


def test_publish_refusals_and_csrf(world: ApiWorld, people: dict[str, Any]) -> None:
    alice, browser = people["m"]["alice"], people["b"]["alice"]
    before = len(statuses_of(world, alice))
    blank = browser.post("/posts", {"text": "   ", "audience": "followers"})
    assert blank.status_code == 422 and "Écrivez quelque chose" in blank.text
    lonely = browser.post("/posts", {"text": "pour personne", "audience": "direct"})
    assert lonely.status_code == 422 and "@nom" in lonely.text
    assert "pour personne" in lonely.text  # the text is kept in the form
    odd = browser.post("/posts", {"text": "bonjour", "audience": "public"})
    assert odd.status_code == 422
    forged = browser.client.post("/posts", data={"text": "sans jeton", "audience": "hub"})
    assert forged.status_code == 403 and "text/html" in forged.headers["content-type"]
    assert len(statuses_of(world, alice)) == before
    done = browser.post("/posts", {"text": "Réunion au café jeudi", "audience": "hub",
                                   "next": "/hub"})
    assert done.status_code == 303 and done.headers["location"].startswith("/hub#post-")
    (row,) = [s for s in statuses_of(world, alice) if "Réunion" in s.content]
    assert row.visibility == "hub"


def test_reply_is_never_wider_than_its_parent(world: ApiWorld, people: dict[str, Any]) -> None:
    alice, bob = people["m"]["alice"], people["m"]["bob"]
    parent = world.post(alice, "Pour mes abonnés seulement", "followers")
    answer = people["b"]["bob"].post("/posts", {"text": "Bien noté", "audience": "neighbourhood",
                                                "in_reply_to": str(parent)})
    assert answer.status_code == 303
    assert answer.headers["location"].startswith(f"/@{bob.username}/")
    (reply,) = [s for s in statuses_of(world, bob) if s.in_reply_to_id == parent]
    assert reply.visibility == "followers"
    thread = people["b"]["alice"].get(f"/@{alice.username}/{parent}")
    assert "Bien noté" in thread.text and "Répondre (1)" not in thread.text


def test_edit_delete_favourite_boost(world: ApiWorld, people: dict[str, Any]) -> None:
    alice, bob = people["m"]["alice"], people["m"]["bob"]
    hub_post = world.post(alice, "Vide-grenier dimanche", "hub")
    private = world.post(alice, "Nouveaux horaires", "followers")
    b = people["b"]["bob"]
    assert b.post(f"/posts/{hub_post}/favourite", {"next": "/hub"}).status_code == 303
    assert b.post(f"/posts/{hub_post}/boost", {"next": "/hub"}).status_code == 303
    refused = b.post(f"/posts/{private}/boost", {})
    assert refused.status_code == 422 and "ne peuvent pas être partagés" in refused.text
    entity = ok(world.get(alice, f"/api/v1/statuses/{hub_post}"))
    assert entity["favourites_count"] == 1 and entity["reblogs_count"] == 1
    page = b.get("/hub").text
    assert "Retirer des favoris (1)" in page and "Annuler le partage (1)" in page
    assert b.post(f"/posts/{hub_post}/unboost", {}).status_code == 303
    assert ok(world.get(alice, f"/api/v1/statuses/{hub_post}"))["reblogs_count"] == 0
    # Only the author edits or deletes, and only her own posts.
    assert b.get(f"/posts/{hub_post}/edit").status_code == 404
    assert b.post(f"/posts/{hub_post}/delete", {}).status_code == 404
    a = people["b"]["alice"]
    form = a.get(f"/posts/{hub_post}/edit")
    assert form.status_code == 200 and "Vide-grenier dimanche</textarea>" in form.text
    assert a.post(f"/posts/{hub_post}/edit", {"text": "Vide-grenier samedi"}).status_code == 303
    assert "samedi" in ok(world.get(bob, f"/api/v1/statuses/{hub_post}"))["content"]
    assert a.post(f"/posts/{hub_post}/edit", {"text": ""}).status_code == 422
    assert a.get(f"/posts/{hub_post}/delete").status_code == 200
    assert a.post(f"/posts/{hub_post}/delete", {}).status_code == 303
    assert world.get(alice, f"/api/v1/statuses/{hub_post}").status_code == 404
    assert a.get(f"/@{alice.username}/{hub_post}").status_code == 404


def test_direct_message_thread(world: ApiWorld, people: dict[str, Any]) -> None:
    dave, carol = people["m"]["dave"], people["m"]["carol"]
    a, d = people["b"]["alice"], people["b"]["dave"]
    sent = a.post("/posts", {"text": f"@{dave.username} tu as un devis pour moi ?",
                             "audience": "direct"})
    assert sent.status_code == 303
    listing = d.get("/messages").text
    (root,) = re.findall(r'href="/messages/(\d+)"', listing)
    assert "non lu" in listing
    thread = d.get(f"/messages/{root}")
    assert "un devis pour moi" in thread.text and 'name="audience" value="direct"' in thread.text
    last = re.search(r'name="in_reply_to" value="(\d+)"', thread.text).group(1)
    answer = d.post("/posts", {"text": "@alice1 oui, demain", "audience": "direct",
                               "in_reply_to": last, "next": f"/messages/{root}"})
    assert answer.status_code == 303 and answer.headers["location"].startswith(
        f"/messages/{root}")
    assert "non lu" not in d.get("/messages").text
    both = a.get(f"/messages/{root}").text
    assert "un devis pour moi" in both and "oui, demain" in both
    assert people["b"]["carol"].get(f"/messages/{root}").status_code == 404
    assert carol.username not in both


def test_profile_editor_keeps_the_neighbourhood_rules(world: ApiWorld,
                                                      people: dict[str, Any]) -> None:
    carol, bob = people["m"]["carol"], people["m"]["bob"]
    with world.session() as s:
        s.get(Actor, bob.actor_id).trade = "plombier"
        set_setting(s, "trade_rule", True)
    c = people["b"]["carol"]
    base = {"display_name": "Carole Petit", "note": "Fleurs et plantes", "business_name":
            "Carole Fleurs", "trade": "fleuriste", "postal_code": "75011",
            "website": "https://fleurs.example", "discoverable": "on"}
    outside = c.post("/settings/profile", {**base, "postal_code": "69001"})
    assert outside.status_code == 422 and "territoire" in outside.text
    taken = c.post("/settings/profile", {**base, "trade": "plombier"})
    assert taken.status_code == 422 and "Plombier·ère" in taken.text
    unknown = c.post("/settings/profile", {**base, "trade": "astronaute"})
    assert unknown.status_code == 422
    with world.session() as s:
        actor = s.get(Actor, carol.actor_id)
        assert actor.trade is None and actor.display_name != "Carole Petit"
    saved = c.client.post("/settings/profile", data={
        **base, "field_name": ["Horaires", ""], "field_value": ["9h-19h", ""],
        "csrf_token": CSRF_RE.search(c.get("/settings/profile").text).group(1)},
        follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == "/settings/profile?saved=1"
    card = people["b"]["bob"].get(f"/@{carol.username}").text
    assert "Fleuriste" in card and "Carole Fleurs" in card and "9h-19h" in card
    assert "fleuriste</dd>" not in card
    # The member keeps her own trade, even with the rule on; undiscoverable now.
    again = c.post("/settings/profile", {**{k: v for k, v in base.items()
                                            if k != "discoverable"}})
    assert again.status_code == 303
    with world.session() as s:
        actor = s.get(Actor, carol.actor_id)
        assert actor.trade == "fleuriste" and actor.discoverable is False
        set_setting(s, "trade_rule", False)


def test_invitations_record_the_sponsor(world: ApiWorld, people: dict[str, Any]) -> None:
    alice, a = people["m"]["alice"], people["b"]["alice"]
    made = a.post("/invitations", {"uses": "1", "days": "14", "note": "pour Eve"})
    assert made.status_code == 303
    page = a.get(made.headers["location"]).text
    code = re.search(r"/invite/([\w-]+)", page).group(1)
    assert "pour Eve" in page
    assert a.post("/invitations", {"uses": "1000", "days": "14"}).status_code == 422
    signup = TestClient(world.app, base_url=f"https://{DOMAIN}").post(f"/invite/{code}", data={
        "display_name": "Eve Roux", "username": "eve", "email": "eve@example.org",
        "password": "long-password-1", "trade": "libraire", "postal_code": "75011",
        "relation": "works"})
    assert signup.status_code == 200, signup.text[:500]
    page = a.get("/invitations").text
    assert "Eve Roux" in page and "épuisé" in page
    with world.session() as s:
        eve = s.scalar(select(User).join(Actor, Actor.id == User.actor_id)
                       .where(Actor.username == "eve"))
        row = s.scalar(select(Sponsorship).where(Sponsorship.member_user_id == eve.id))
        assert row.sponsor_user_id == alice.user_id and eve.sponsor_id == alice.user_id
        set_setting(s, "members_may_invite", False)
    try:
        closed = a.get("/invitations")
        assert "seuls les administrateurs" in closed.text
        assert 'action="/invitations"' not in closed.text
        assert a.post("/invitations", {"uses": "1", "days": "14"}).status_code == 403
    finally:
        with world.session() as s:
            set_setting(s, "members_may_invite", True)


def test_directory_page_matches_the_api(world: ApiWorld, people: dict[str, Any]) -> None:
    bob = people["m"]["bob"]
    with world.session() as s:
        s.get(Actor, bob.actor_id).trade = "plombier"
    for query in ({"trade": "plombier"}, {"q": "carole"}, {"postal_code": "750"}, {}):
        api = [a["acct"] for a in ok(world.get(bob, "/api/v1/directory", params=query))]
        page = people["b"]["bob"].get("/directory", params=query).text
        shown = re.findall(r'<span class="handle">@([^<]+)</span>', page)
        assert shown == api, query
    assert people["b"]["bob"].get("/directory?offset=x").status_code == 400
    assert people["b"]["bob"].get("/annuaire?trade=plombier",
                                  follow_redirects=False).headers["location"] == (
        "/directory?trade=plombier")


def test_timelines_page_with_max_id_links(world: ApiWorld, people: dict[str, Any]) -> None:
    carol = people["m"]["carol"]
    made = [world.post(carol, f"Annonce numéro {i}", "hub") for i in range(23)]
    first = people["b"]["dave"].get("/hub").text
    shown = re.findall(r'<article class="post[^"]*" id="post-(\d+)"', first)
    assert len(shown) == 20 and shown[0] == str(made[-1])
    older = re.search(r'href="(/hub\?max_id=\d+)" rel="next"', first).group(1)
    rest = re.findall(r'<article class="post[^"]*" id="post-(\d+)"',
                      people["b"]["dave"].get(older).text)
    assert str(made[0]) in rest and not set(rest) & set(shown)
    assert people["b"]["dave"].get("/hub?max_id=abc").status_code == 400


def test_mentions_open_profile_cards_here(world: ApiWorld, people: dict[str, Any]) -> None:
    """A mention links to the card on this hub (``/@name@hub``), not to the other hub."""
    remote = world.remote("noemie")
    with world.session() as s:
        noemie = s.get(Actor, remote)
        handle = f"{noemie.username}@{noemie.domain}"
    a = people["b"]["alice"]
    assert a.post("/posts", {"text": f"Merci @{handle} !", "audience": "followers"}
                  ).status_code == 303
    home = a.get("/").text
    assert f'href="/@{handle}"' in home and f'href="https://{handle.split("@")[1]}' not in home
    start = a.get(f"/posts/new?to={handle}&audience=direct").text
    assert f"@{handle} </textarea>" in start and 'value="direct" selected' in start
    assert a.get("/posts/new?to=<script>").text.count("<script>") == 0


def test_follow_request_from_card_to_answer(world: ApiWorld, people: dict[str, Any]) -> None:
    carol, dave = people["m"]["carol"], people["m"]["dave"]
    c, d = people["b"]["carol"], people["b"]["dave"]
    assert d.post(f"/@{carol.username}/follow", {}).status_code == 303
    assert "Annuler la demande d'abonnement" in d.get(f"/@{carol.username}").text
    home = c.get("/").text
    assert "1 demande d'abonnement attend votre réponse" in home
    assert c.post(f"/notifications/requests/{dave.actor_id}/accept", {}).status_code == 303
    assert "demande d'abonnement attend" not in c.get("/").text
    relation = ok(world.get(dave, "/api/v1/accounts/relationships",
                            params={"id[]": carol.id}))[0]
    assert relation["following"] is True
    assert "Ne plus suivre" in d.get(f"/@{carol.username}").text
    assert d.post(f"/@{carol.username}/unfollow", {}).status_code == 303
    assert ok(world.get(dave, "/api/v1/accounts/relationships",
                        params={"id[]": carol.id}))[0]["following"] is False


# "²" and "٣" pass str.isdigit() but not int(): every id, page and count the pages read
# from a path, a query or a form answers 404 or 400 (or the form again), never a 500.
ODD_DIGITS = ("²", "٣", "1²")


@pytest.mark.parametrize("odd", ODD_DIGITS)
@pytest.mark.parametrize(("method", "path", "expected"), [
    ("GET", "/hub?max_id={}", 400), ("GET", "/neighbourhood?max_id={}", 400),
    ("GET", "/notifications?max_id={}", 400), ("GET", "/directory?offset={}", 400),
    ("GET", "/events?month=2026-{}", 400), ("GET", "/events/{}", 404),
    ("GET", "/events/{}/edit", 404), ("GET", "/articles/{}/edit", 404),
    ("GET", "/posts/{}/edit", 404), ("GET", "/messages/{}", 404),
    ("GET", "/@alice/{}", 404), ("POST", "/posts/{}/delete", 404),
    ("POST", "/posts/{}/favourite", 404), ("POST", "/events/{}/cancel", 404),
    ("POST", "/settings/apps/{}/revoke", 404),
    ("POST", "/notifications/requests/{}/accept", 404),
])
def test_non_ascii_digits_are_not_ids(people: dict[str, Any], method: str, path: str,
                                      expected: int, odd: str) -> None:
    browser = people["b"]["alice"]
    url = path.format(odd)
    answer = browser.get(url) if method == "GET" else browser.post(url, {})
    assert answer.status_code == expected, (url, answer.status_code)
    assert "text/html" in answer.headers["content-type"]


@pytest.mark.parametrize("odd", ODD_DIGITS)
def test_invitation_counts_in_non_ascii_digits_are_refused(world: ApiWorld,
                                                          people: dict[str, Any],
                                                          odd: str) -> None:
    with world.session() as s:
        before = s.scalar(select(func.count()).select_from(Invite))
    for form in ({"uses": odd, "days": "14"}, {"uses": "1", "days": odd}):
        answer = people["b"]["alice"].post("/invitations", form)
        assert answer.status_code == 422 and "Choisissez" in answer.text, form
    with world.session() as s:
        assert s.scalar(select(func.count()).select_from(Invite)) == before
def test_password_change_waits_in_the_hubs_password_queue(world: ApiWorld) -> None:
    """The settings' password change goes through the same bounded argon2 queue as logins
    (fedi/services/passwords.py): when it is full the member is asked to retry, nothing
    changes."""
    member = world.member("pw")
    browser = Browser(world, member)
    extras = world.app.state.hub.extras
    queue = extras.get("password_work")
    extras["password_work"] = PasswordWork(concurrency=1, max_waiting=0)  # always full
    try:
        busy = browser.post("/settings/password", {
            "current": member.password, "new": "a-new-password", "confirm": "a-new-password"},
            token_from="/settings")
    finally:
        extras["password_work"] = queue
    assert busy.status_code == 503 and "Le hub est très sollicité" in busy.text
    with world.session() as s:
        assert check_password(s.get(User, member.user_id).password_hash, member.password)
