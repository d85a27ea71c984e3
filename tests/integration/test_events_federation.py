"""Events between real hubs (three ``voisins serve`` on loopback: A and B linked, C not).

A member of A creates a neighbourhood event with room for two; three members of B answer
at once through B's events API: exactly two are accepted (and B learns who), the organiser
sees them. Three members of A racing for the two seats of another event: two get in. The
organiser cancels: participants on both hubs are told. C neither receives nor may fetch
the event; a followers-only event and article are not served to a non-follower."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from mastodon import Mastodon
from sqlalchemy import func, select
from support.hubs import HubProcess, wait_for
from support.world import actor, hub_session, query

from fedi.models import Actor, Event, EventParticipant, Follow, Status
from fedi.services.relationships import accept_follow, follow
from fedi.signatures import sign_request
from fedi.vocab.context import ACCEPT_AP

pytestmark = pytest.mark.multihub


def link_by_config(hub: HubProcess, *others: HubProcess) -> None:
    text = hub.config_path.read_text(encoding="utf-8")
    domains = ", ".join(f'"{o.domain}"' for o in others)
    hub.config_path.write_text(text.replace("neighbours = []", f"neighbours = [{domains}]"),
                               encoding="utf-8")


class Member:
    """A member's token on their hub (password grant), and JSON calls."""

    def __init__(self, hub: HubProcess, name: str) -> None:
        self.hub, self.name, self.base = hub, name, hub.base
        app = httpx.post(f"{hub.base}/api/v1/apps", data={
            "client_name": "t", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
            "scopes": "read write follow"}).json()
        token = httpx.post(f"{hub.base}/oauth/token", data={
            "grant_type": "password", "client_id": app["client_id"],
            "client_secret": app["client_secret"], "username": f"{name}@{hub.host}.test",
            "password": hub.passwords[name], "scope": "read write follow"}).json()
        self.token = token["access_token"]
        self.headers = {"Authorization": f"Bearer {self.token}"}

    @property
    def uri(self) -> str:
        return f"{self.base}/users/{self.name}"

    def call(self, method: str, path: str, body: dict[str, Any] | None = None,
             expect: int = 200) -> Any:
        r = httpx.request(method, self.base + path, json=body, headers=self.headers,
                          timeout=20)
        assert r.status_code == expect, (path, r.status_code, r.text[:300])
        return r.json()


def signed_get_as(hub: HubProcess, username: str | None, url: str) -> httpx.Response:
    """A GET of ``url`` signed by a member of ``hub`` (or its instance actor)."""
    def keys(session):  # type: ignore[no-untyped-def]
        q = select(Actor).where(Actor.local)
        q = q.where(Actor.username == username) if username else q.where(
            Actor.type == "Application")
        row = session.scalar(q)
        return row.key_id, row.private_key_pem

    key_id, pem = query(hub, keys)
    headers = sign_request("GET", url, headers={"Accept": ACCEPT_AP}, body=None,
                           private_key_pem=pem, key_id=key_id, now=datetime.now(UTC))
    return httpx.get(url, headers=headers, timeout=10)


def states_at(hub: HubProcess, event_uri: str) -> dict[str, str]:
    def q(session):  # type: ignore[no-untyped-def]
        return {uri: state for uri, state in session.execute(
            select(Actor.uri, EventParticipant.state)
            .join(EventParticipant, EventParticipant.actor_id == Actor.id)
            .join(Status, Status.id == EventParticipant.event_id)
            .where(Status.uri == event_uri))}
    return query(hub, q)


@pytest.fixture
def world(make_hub: Callable[..., HubProcess], db_backend: str) -> dict[str, HubProcess]:
    a, b, c = make_hub("a", backend=db_backend), make_hub("b"), make_hub("c")
    link_by_config(a, b)
    link_by_config(b, a)
    for name in ("alice", "alex", "ada", "abe"):
        a.add_user(name)
    for name in ("bob", "bea", "ben"):
        b.add_user(name)
    c.add_user("carol")
    for hub in (a, b, c):
        hub.start()
    return {"a": a, "b": b, "c": c}


def test_events_across_hubs(world: dict[str, HubProcess]) -> None:
    a, b, c = world["a"], world["b"], world["c"]
    alice = Member(a, "alice")
    bob, bea, ben = (Member(b, n) for n in ("bob", "bea", "ben"))
    event = alice.call("POST", "/api/v1/events", {
        "title": "Afterwork de décembre", "description": "Au **Café des Voisins**.",
        "start_time": "2026-12-17T19:00", "end_time": "2026-12-17T22:00",
        "place": {"name": "Café des Voisins", "street": "12 rue Oberkampf",
                  "postal_code": "75011", "locality": "Paris"},
        "capacity": 2, "visibility": "public"})
    uri = event["uri"]

    def on_b() -> dict[str, Any] | None:
        found = [e for e in bob.call("GET", "/api/v1/events") if e["uri"] == uri]
        return found[0] if found else None

    remote = wait_for(on_b, what="the event to reach B")
    assert remote["title"] == "Afterwork de décembre" and remote["capacity"] == 2
    assert "jeudi 17 décembre 2026 de 19 h 00 à 22 h 00" in remote["description"]

    # Three members of B answer at once (two through the events API, one through the
    # event's poll with Mastodon.py); A keeps two, refuses the third, B learns which.
    apps = {m.name: Mastodon(access_token=m.token, api_base_url=b.base,
                             version_check_mode="none") for m in (bob, bea, ben)}
    poll = apps["ben"].status(remote["id"])["poll"]
    assert [o["title"] for o in poll["options"]] == ["J'y vais", "Peut-être", "Je ne viens pas"]

    def answer(m: Member) -> str:
        if m is ben:
            apps["ben"].poll_vote(poll["id"], [0])
            return m.call("GET", f"/api/v1/events/{remote['id']}")["participation"]
        return m.call("POST", f"/api/v1/events/{remote['id']}/join")["participation"]

    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(answer, (bob, bea, ben)))
    assert answers == ["pending"] * 3
    wait_for(lambda: sorted(states_at(b, uri).values()) == ["accepted", "accepted", "rejected"],
             what="A's answers to reach B")
    at_a = states_at(a, uri)
    assert sorted(at_a.values()) == ["accepted", "accepted"]
    assert set(at_a) == {u for u, s in states_at(b, uri).items() if s == "accepted"}
    wait_for(lambda: on_b()["participant_count"] == 2, what="the Update(Event) counts at B")
    assert on_b()["remaining_capacity"] == 0
    listed = alice.call("GET", f"/api/v1/events/{event['id']}/participants")
    assert sorted(p["account"]["acct"] for p in listed) == sorted(
        f"{u.rsplit('/', 1)[1]}@{b.domain}" for u in at_a)
    assert bob.call("GET", f"/api/v1/events/{remote['id']}/participants", expect=403)

    # Changing one's vote in the poll changes the RSVP: « Je ne viens pas » frees a seat,
    # and the one who was refused takes it by voting « J'y vais ».
    leaver = next(m for m in (bob, bea, ben) if at_a.get(m.uri))
    refused = next(m for m in (bob, bea, ben) if not at_a.get(m.uri))
    apps[leaver.name].poll_vote(poll["id"], [2])
    wait_for(lambda: leaver.uri not in states_at(a, uri), what="the change of vote to reach A")
    wait_for(lambda: on_b()["participant_count"] == 1, what="the freed seat to show at B")
    apps[refused.name].poll_vote(poll["id"], [0])
    wait_for(lambda: states_at(b, uri).get(refused.uri) == "accepted",
             what="the second vote's Accept")
    assert sorted(states_at(a, uri).values()) == ["accepted", "accepted"]
    assert refused.uri in states_at(a, uri) and leaver.uri not in states_at(a, uri)
    seen = apps[refused.name].poll(poll["id"])
    assert seen["own_votes"] == [0]
    wait_for(lambda: [o["votes_count"] for o in apps["bob"].poll(poll["id"])["options"]]
             == [2, 0, 1], what="the poll's counts from A")

    # Three members of A race for the two seats of another event: two get in.
    racers = [Member(a, n) for n in ("alex", "ada", "abe")]
    second = alice.call("POST", "/api/v1/events", {
        "title": "Atelier vitrine", "start_time": "2026-12-18T10:00", "capacity": 2,
        "visibility": "unlisted"})

    def race(m: Member) -> int:
        return httpx.post(f"{a.base}/api/v1/events/{second['id']}/join", headers=m.headers,
                          timeout=20).status_code

    with ThreadPoolExecutor(3) as pool:
        codes = sorted(pool.map(race, racers))
    assert codes == [200, 200, 422]
    got = alice.call("GET", f"/api/v1/events/{second['id']}")
    assert got["participant_count"] == 2
    assert sorted(states_at(a, second["uri"]).values()) == ["accepted", "accepted"]

    # Cancelling tells the participants, on B (through the Update) and here.
    alice.call("POST", f"/api/v1/events/{event['id']}/cancel")
    alice.call("POST", f"/api/v1/events/{second['id']}/cancel")
    accepted_b = [m for m in (bob, bea, ben) if states_at(b, uri).get(m.uri) == "accepted"]
    assert len(accepted_b) == 2
    for member in accepted_b:
        wait_for(lambda m=member: any(
            n["type"] == "update" and n["status"]["id"] == remote["id"]
            for n in m.call("GET", "/api/v1/notifications")),
            what=f"{member.name} to be told of the cancellation")
    assert on_b()["status"] == "cancelled"
    for member in racers:
        if states_at(a, second["uri"]).get(member.uri) == "accepted":
            assert any(n["type"] == "update" and n["status"]["id"] == second["id"]
                       for n in member.call("GET", "/api/v1/notifications"))

    # C is not linked: it received nothing and may not fetch the event.
    assert query(c, lambda s: s.scalar(select(func.count()).select_from(Event))) == 0
    assert signed_get_as(c, None, uri).status_code in (401, 403, 404)
    assert signed_get_as(c, "carol", uri).status_code in (401, 403, 404)
    fetched = signed_get_as(b, "bob", uri)
    assert fetched.status_code == 200 and fetched.json()["type"] == "Event"
    assert fetched.json()["ical:status"] == "CANCELLED"

    # A followers-only event and article: served to a follower on B, not to a non-follower.
    b.cli("lookup", f"alice@{a.domain}")
    with hub_session(b) as (s, ctx):
        follow(s, ctx, actor(s, bea.uri), actor(s, alice.uri))
    wait_for(lambda: query(a, lambda s: s.scalar(select(func.count()).select_from(Follow)))
        >= 1,
        what="bea's follow request to reach A")
    with hub_session(a) as (s, ctx):
        accept_follow(s, ctx, actor(s, alice.uri), actor(s, bea.uri))
    wait_for(lambda: query(b, lambda s: s.scalar(select(Follow.state))) == "accepted",
             what="the Accept of bea's follow to reach B")
    private = alice.call("POST", "/api/v1/events", {
        "title": "Dîner des abonnés", "start_time": "2026-12-19T20:00",
        "visibility": "private"})
    article = alice.call("POST", "/api/v1/articles", {
        "title": "Notes de l'atelier", "body": "Pour les abonnés.", "visibility": "private"})
    article_uri = query(a, lambda s: s.get(Status, int(article["status_id"])).uri)
    wait_for(lambda: query(b, lambda s: s.scalar(select(func.count()).select_from(Status).where(
        Status.uri.in_((private["uri"], article_uri))))) == 2,
        what="the followers-only event and article to reach bea's hub")
    for url in (private["uri"], article_uri):
        assert signed_get_as(b, "bob", url).status_code == 404, url
        assert signed_get_as(b, "bea", url).status_code == 200, url
        assert signed_get_as(c, "carol", url).status_code in (401, 403, 404), url
    bea_events = [e["uri"] for e in bea.call("GET", "/api/v1/events")]
    bob_events = [e["uri"] for e in bob.call("GET", "/api/v1/events")]
    assert private["uri"] in bea_events and private["uri"] not in bob_events
    for member, sees in ((bea, True), (bob, False)):
        feed = member.call("POST", "/api/v1/events/feed_token")["url"]
        assert ("Dîner des abonnés" in httpx.get(feed).text) is sees
    assert json.dumps(bob.call("GET", "/api/v1/timelines/home")).count("Notes de") == 0
