"""Every member page that shows posts shows only what its viewer may see: the combinations of
tests/api/test_api_privacy.py (a follower, a non-follower, a mentioned non-follower; posts to
followers, the hub, the neighbourhood and direct; posts of a linked hub and of a hub that is
not linked), read as HTML through the session cookie."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))
from apiworld import DOMAIN, FAR, LINKED, ApiWorld, Member, ok

POST_RE = re.compile(r'<article class="post[^"]*" id="post-(\d+)"')
CSRF_RE = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def csrf(page: Any) -> str:
    found = CSRF_RE.search(page.text)
    assert found, page.text[:1000]
    return found.group(1)


def browser(world: ApiWorld, member: Member | None = None) -> TestClient:
    """A client of its own (own cookies), logged in as ``member`` through /login."""
    client = TestClient(world.app, base_url=f"https://{DOMAIN}")
    if member is not None:
        form = client.get("/login")
        done = client.post("/login", data={"login": member.email, "password": member.password,
                                           "next": "/", "csrf_token": csrf(form)},
                           follow_redirects=False)
        assert done.status_code == 303, done.text[:500]
    return client


def shown(client: TestClient, path: str) -> set[str]:
    page = client.get(path)
    assert page.status_code == 200, (path, page.status_code, page.text[:500])
    return set(POST_RE.findall(page.text))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiWorld]:
    path: Path = tmp_path_factory.mktemp("site-privacy")
    w = ApiWorld(f"sqlite:///{path / 'hub.db'}")
    yield w
    w.close()


@pytest.fixture(scope="module")
def scene(world: ApiWorld) -> dict[str, Any]:
    alice, bob, carol, dave = (world.member(n) for n in ("alice", "bob", "carol", "dave"))
    ok(world.post_json(bob, f"/api/v1/accounts/{alice.id}/follow"))
    ok(world.post_json(alice, f"/api/v1/follow_requests/{bob.id}/authorize"))
    posts = {
        "nb": str(world.post(alice, "secretword voisinage", "neighbourhood")),
        "hub": str(world.post(alice, "secretword hub", "hub")),
        "fol": str(world.post(alice, "secretword abonnés", "followers")),
        "dm": str(world.post(alice, f"@{dave.username} secretword message", "direct")),
    }
    posts["reply_fol"] = str(world.post(bob, "secretword réponse privée", "followers",
                                        in_reply_to=int(posts["nb"])))
    # A member of a linked hub (bob follows her) and of a hub that is not linked.
    remi = world.remote("remi", LINKED)
    world.follow(bob.actor_id, remi)
    posts["linked_nb"] = str(world.remote_status(remi, "secretword du 12e", "neighbourhood"))
    posts["linked_fol"] = str(world.remote_status(remi, "secretword abonnés du 12e",
                                                  "followers"))
    far = world.remote("lointain", FAR)
    posts["far_nb"] = str(world.remote_status(far, "secretword de loin", "neighbourhood"))
    ok(world.post_json(bob, f"/api/v1/statuses/{posts['fol']}/favourite"))
    clients = {name: browser(world, m) for name, m in
               (("alice", alice), ("bob", bob), ("carol", carol), ("dave", dave))}
    return {"alice": alice, "bob": bob, "carol": carol, "dave": dave, "remi": remi,
            "posts": posts, "clients": clients}


def seen_by(world: ApiWorld, name: str, scene: dict[str, Any]) -> dict[str, set[str]]:
    """The scene's posts each member page shows to ``name``."""
    client: TestClient = scene["clients"][name]
    posts, alice = scene["posts"], scene["alice"]
    mine = set(posts.values())
    paths = {
        "home": shown(client, "/"),
        "hub": shown(client, "/hub"),
        "neighbourhood": shown(client, "/neighbourhood"),
        "profile": shown(client, f"/@{alice.username}"),
        "remote_profile": shown(client, f"/@remi@{LINKED}"),
        "notifications": shown(client, "/notifications"),
        "thread": shown(client, f"/@{alice.username}/{posts['nb']}"),
    }
    threads = set(re.findall(r'href="/messages/(\d+)"', client.get("/messages").text))
    paths["messages"] = threads  # a thread is named by its first post
    paths["message_threads"] = set().union(*(shown(client, f"/messages/{t}") for t in threads))
    paths["get"] = set()
    for key, sid in posts.items():
        author = alice.username if key in ("nb", "hub", "fol", "dm") else None
        if author and client.get(f"/@{author}/{sid}").status_code == 200:
            paths["get"].add(sid)
    return {k: v & mine for k, v in paths.items()}


def test_follower_sees_followers_posts_not_dms(world: ApiWorld, scene: dict[str, Any]) -> None:
    p = scene["posts"]
    seen = seen_by(world, "bob", scene)
    assert seen["home"] == {p["nb"], p["hub"], p["fol"], p["reply_fol"]}
    assert seen["hub"] == {p["nb"], p["hub"]}
    assert seen["neighbourhood"] == {p["nb"], p["hub"], p["linked_nb"]}
    assert seen["profile"] == {p["nb"], p["hub"], p["fol"]}
    assert seen["remote_profile"] == {p["linked_nb"], p["linked_fol"]}
    assert seen["thread"] == {p["nb"], p["reply_fol"]}
    assert seen["get"] == {p["nb"], p["hub"], p["fol"]}
    assert seen["messages"] == seen["message_threads"] == set()
    assert p["far_nb"] not in set().union(*seen.values())


def test_non_follower_sees_only_hub_and_neighbourhood(world: ApiWorld,
                                                      scene: dict[str, Any]) -> None:
    p = scene["posts"]
    seen = seen_by(world, "carol", scene)
    assert seen["profile"] == seen["get"] == seen["hub"] == {p["nb"], p["hub"]}
    assert seen["neighbourhood"] == {p["nb"], p["hub"], p["linked_nb"]}
    assert seen["remote_profile"] == {p["linked_nb"]}
    assert seen["thread"] == {p["nb"]}  # bob's followers-only reply stays hidden
    for path in ("home", "notifications", "messages", "message_threads"):
        assert seen[path] == set(), path
    # Counts never reveal hidden replies; a hidden post cannot be favourited or answered.
    carol = scene["clients"]["carol"]
    thread = carol.get(f"/@{scene['alice'].username}/{p['nb']}").text
    assert "Répondre (1)" not in thread
    token = csrf(carol.get("/"))
    refused = carol.post(f"/posts/{p['fol']}/favourite", data={"csrf_token": token})
    assert refused.status_code == 404 and "text/html" in refused.headers["content-type"]
    reply = carol.post("/posts", data={"text": "coucou", "audience": "followers",
                                       "in_reply_to": p["fol"], "csrf_token": token})
    assert reply.status_code == 404


def test_mentioned_non_follower_sees_the_dm_only(world: ApiWorld, scene: dict[str, Any]) -> None:
    p = scene["posts"]
    seen = seen_by(world, "dave", scene)
    assert seen["get"] == {p["nb"], p["hub"], p["dm"]}
    assert seen["messages"] == seen["message_threads"] == seen["notifications"] == {p["dm"]}
    assert seen["home"] == {p["dm"]}
    assert p["dm"] not in seen["hub"] | seen["neighbourhood"]
    assert seen["profile"] == {p["nb"], p["hub"], p["dm"]}  # as /api/v1/accounts/:id/statuses
    assert p["fol"] not in set().union(*seen.values())


def test_author_sees_own_posts_and_replies(world: ApiWorld, scene: dict[str, Any]) -> None:
    p = scene["posts"]
    seen = seen_by(world, "alice", scene)
    assert seen["profile"] == {p["nb"], p["hub"], p["fol"], p["dm"]}
    assert seen["thread"] == {p["nb"], p["reply_fol"]}  # a reply to her mentions her
    assert seen["messages"] == {p["dm"]}
    assert p["linked_fol"] not in set().union(*seen.values())


def test_logged_out_visitor_sees_no_post(world: ApiWorld, scene: dict[str, Any]) -> None:
    visitor = browser(world)
    alice = scene["alice"]
    front = visitor.get("/")
    assert front.status_code == 200 and not POST_RE.search(front.text)
    assert alice.username not in front.text and "secretword" not in front.text
    for path in ("/hub", "/neighbourhood", f"/@{alice.username}", "/notifications",
                 "/messages", "/directory", "/invitations", "/settings/profile",
                 f"/@{alice.username}/{scene['posts']['nb']}", f"/@remi@{LINKED}"):
        answer = visitor.get(path, follow_redirects=False)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/login?next="), path
    # A browser opening an ActivityPub URL is sent to the pages (which ask for a login).
    actor = visitor.get(f"/users/{alice.username}", headers={"Accept": "text/html"},
                        follow_redirects=False)
    assert actor.status_code == 303 and actor.headers["location"] == f"/@{alice.username}"
    status = visitor.get(f"/users/{alice.username}/statuses/{scene['posts']['nb']}",
                         headers={"Accept": "text/html"}, follow_redirects=False)
    assert status.headers["location"] == f"/@{alice.username}/{scene['posts']['nb']}"


def test_members_of_unlinked_hubs_have_no_card(world: ApiWorld, scene: dict[str, Any]) -> None:
    bob = scene["clients"]["bob"]
    assert bob.get(f"/@lointain@{FAR}").status_code == 404
    assert bob.get(f"/@remi@{LINKED}").status_code == 200
    assert bob.get("/@nobody").status_code == 404


def test_a_suspended_members_messages_leave_the_pages(world: ApiWorld,
                                                      scene: dict[str, Any]) -> None:
    """Suspended members' posts are hidden: their direct messages too, on /messages."""
    from sqlalchemy import select

    from fedi.db import utcnow
    from fedi.models import Actor, User

    sam, dave = world.member("sam"), scene["dave"]
    sid = str(world.post(sam, f"@{dave.username} secretword de sam", "direct"))
    client: TestClient = scene["clients"]["dave"]
    assert sid in set(re.findall(r'href="/messages/(\d+)"', client.get("/messages").text))
    with world.session() as s:
        s.get(Actor, sam.actor_id).suspended_at = utcnow()
        s.scalar(select(User).where(User.id == sam.user_id)).disabled = True
    try:
        assert "secretword de sam" not in client.get("/messages").text
        assert client.get(f"/messages/{sid}").status_code == 404
    finally:
        with world.session() as s:
            s.get(Actor, sam.actor_id).suspended_at = None


def test_console_dashboard_names_only_an_event_its_reader_may_see(
        world: ApiWorld, scene: dict[str, Any]) -> None:
    """The dashboard's « next meetup » is an event title: a staff member outside a
    followers-only event's audience does not get it there either."""
    from datetime import UTC, datetime, timedelta

    alice, ada = scene["alice"], world.member("ada", role="admin")
    soon = datetime.now(UTC) + timedelta(hours=2)

    def event(title: str, visibility: str, hours: int) -> None:
        ok(world.post_json(alice, "/api/v1/events", {
            "title": title, "visibility": visibility,
            "start_time": (soon + timedelta(hours=hours)).isoformat()}))

    event("Dîner secretword des abonnés", "private", 0)
    event("Café des voisins", "unlisted", 1)
    page = browser(world, ada).get("/console")
    assert page.status_code == 200, page.text[:500]
    assert "secretword" not in page.text
    assert "Café des voisins" in page.text
