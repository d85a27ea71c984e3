"""Events, articles and calendar feeds on one hub (the real app in-process): bad input is
refused in the member's language with nothing saved, audiences hold on every read path
(API, iCalendar), the iCalendar times are right across the daylight-saving change, the
organiser approves restricted events, reminders go once, and inbound Mobilizon-, Gancio-
and Friendica-shaped activities are understood."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from apiworld import LINKED, ApiWorld, Member, ok
from icalendar import Calendar
from sqlalchemy import func, select

import inbox.handlers  # noqa: F401  (fills the dispatch table)
from fedi.models import (
    Actor,
    Article,
    Event,
    EventParticipant,
    Notification,
    OutboxActivity,
    Status,
    User,
)
from fedi.services.events import send_reminders
from inbox.dispatch import HandlerContext, dispatch

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiWorld]:
    path: Path = tmp_path_factory.mktemp("events")
    w = ApiWorld(f"sqlite:///{path / 'hub.db'}")
    yield w
    w.close()


@pytest.fixture(scope="module")
def people(world: ApiWorld) -> dict[str, Member]:
    alice, bob, carol = world.member("alice"), world.member("bob"), world.member("carol")
    world.follow(bob, alice)  # bob follows alice; carol follows nobody
    with world.session() as s:
        s.scalar(select(User).where(User.id == carol.user_id)).locale = "en"
    return {"alice": alice, "bob": bob, "carol": carol}


def new_event(world: ApiWorld, who: Member, **fields: Any) -> dict[str, Any]:
    body = {"title": "Afterwork du 11e", "description": "On se retrouve au **café**.",
            "start_time": "2026-12-10T19:00", "end_time": "2026-12-10T22:00",
            "place": {"name": "Café des Voisins", "street": "12 rue Oberkampf",
                      "postal_code": "75011", "locality": "Paris"},
            "visibility": "public", **fields}
    return ok(world.post_json(who, "/api/v1/events", body))


def counts(world: ApiWorld) -> tuple[int, int, int]:
    with world.session() as s:
        return (s.scalar(select(func.count()).select_from(Event)),
                s.scalar(select(func.count()).select_from(Status)),
                s.scalar(select(func.count()).select_from(Article)))


def test_bad_input_is_refused_in_the_members_language(world: ApiWorld,
                                                      people: dict[str, Member]) -> None:
    alice, carol = people["alice"], people["carol"]
    base = {"title": "Atelier", "start_time": "2026-12-10T19:00"}
    cases = [
        ({"end_time": "2026-12-10T18:00"}, "La fin doit venir après le début",
         "The end must be after the start"),
        ({"capacity": 0}, "La capacité doit être comprise entre 1", "Capacity must be between 1"),
        ({"capacity": -3}, "La capacité doit être comprise entre 1", "Capacity must be between 1"),
        ({"timezone": "Europe/Atlantis"}, "Fuseau horaire inconnu", "Unknown time zone"),
        ({"description": "x" * 20_001}, "La description dépasse", "The description is over"),
        ({"title": ""}, "Un événement a besoin d'un titre", "An event needs a title"),
        ({"start_time": "jeudi soir"}, "n'est pas une date ISO 8601", "is not an ISO 8601"),
        ({"online_url": "javascript:alert(1)"}, "adresse http(s)", "http(s) URL"),
        ({"join_mode": "invite-only"}, "mode d'inscription", "join_mode must be"),
        ({"visibility": "galaxy"}, "Audience inconnue", "Unknown visibility"),
    ]
    before = counts(world)
    for extra, french, english in cases:
        r = world.post_json(alice, "/api/v1/events", {**base, **extra})
        assert r.status_code == 422, (extra, r.text)
        assert french in r.json()["error"] and r.json()["error"].startswith("Échec"), r.text
        r = world.post_json(carol, "/api/v1/events", {**base, **extra})
        assert r.status_code == 422 and english in r.json()["error"], (extra, r.text)
        assert r.json()["error"].startswith("Validation failed"), r.text
    for body, english in (({"title": "", "body": "text"}, "needs a title"),
                          ({"title": "Long", "body": "x" * 100_001}, "over 100000"),
                          ({"title": "Blank", "body": "  "}, "blank")):
        r = world.post_json(carol, "/api/v1/articles", body)
        assert r.status_code == 422 and english in r.json()["error"], r.text
    assert counts(world) == before
    event = new_event(world, alice)
    r = world.client.put(f"/api/v1/events/{event['id']}", headers=alice.headers,
                         json={"end_time": "2026-12-10T12:00"})
    assert r.status_code == 422
    assert ok(world.get(alice, f"/api/v1/events/{event['id']}"))["end_time"].startswith(
        "2026-12-10T21:00")


def test_followers_only_event_and_article_stay_with_followers(
        world: ApiWorld, people: dict[str, Member]) -> None:
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    event = new_event(world, alice, title="Dîner des abonnés", visibility="private")
    article = ok(world.post_json(alice, "/api/v1/articles", {
        "title": "Mon image de marque", "body": "## Pourquoi\n\nParce que.", "visibility":
        "private"}))
    draft = ok(world.post_json(alice, "/api/v1/articles", {
        "title": "Brouillon", "body": "Pas encore", "visibility": "public", "draft": True}))
    assert draft["draft"] is True and draft["status_id"] is None
    # the follower sees them, in the API and in the iCalendar feed
    assert ok(world.get(bob, f"/api/v1/events/{event['id']}"))["title"] == "Dîner des abonnés"
    assert event["id"] in [e["id"] for e in ok(world.get(bob, "/api/v1/events"))]
    assert ok(world.get(bob, f"/api/v1/articles/{article['id']}"))["title"]
    status = ok(world.get(bob, f"/api/v1/statuses/{article['status_id']}"))
    assert "Mon image de marque" in status["content"] and "/articles/" in status["content"]
    # the non-follower sees nothing, anywhere
    for path in (f"/api/v1/events/{event['id']}", f"/api/v1/events/{event['id']}.ics",
                 f"/api/v1/statuses/{event['id']}", f"/api/v1/articles/{article['id']}",
                 f"/api/v1/statuses/{article['status_id']}", f"/api/v1/articles/{draft['id']}"):
        assert world.get(carol, path).status_code == 404, path
    assert world.post_json(carol, f"/api/v1/events/{event['id']}/join").status_code == 404
    assert event["id"] not in [e["id"] for e in ok(world.get(carol, "/api/v1/events"))]
    assert world.get(bob, f"/api/v1/articles/{draft['id']}").status_code == 404
    feeds = {}
    for who in (bob, carol):
        url = ok(world.post_json(who, "/api/v1/events/feed_token"))["url"]
        feeds[who.username] = world.client.get(url.replace(world.settings.base_url, "")).text
    assert "Dîner des abonnés" in feeds[bob.username]
    assert "Dîner des abonnés" not in feeds[carol.username]
    # publishing the draft makes it a status; drafts never federated
    published = ok(world.client.put(f"/api/v1/articles/{draft['id']}", headers=alice.headers,
                                    json={"published": True}))
    assert published["draft"] is False
    assert ok(world.get(carol, f"/api/v1/articles/{draft['id']}"))["title"] == "Brouillon"


def test_ics_feed_times_across_daylight_saving(world: ApiWorld,
                                               people: dict[str, Member]) -> None:
    alice, bob = people["alice"], people["bob"]
    # 25 October 2026 is the last Sunday of October: Paris goes from UTC+2 to UTC+1 at 3:00.
    new_event(world, alice, title="Samedi", start_time="2026-10-24T10:00",
              end_time="2026-10-24T12:00")
    sunday = new_event(world, alice, title="Dimanche", start_time="2026-10-25T10:00",
                       end_time="2026-10-25T12:00", capacity=5)
    night = new_event(world, alice, title="Nuit", start_time="2026-10-25T01:30",
                      end_time="2026-10-25T04:30", timezone="Europe/Paris")
    ok(world.post_json(bob, f"/api/v1/events/{sunday['id']}/join"))
    ok(world.post_json(bob, f"/api/v1/events/{night['id']}/join", {"state": "maybe"}))
    ok(world.post_json(alice, f"/api/v1/events/{night['id']}/cancel"))
    url = ok(world.post_json(bob, "/api/v1/events/feed_token"))["url"]
    path = url.replace(world.settings.base_url, "")
    response = world.client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    cal = Calendar.from_ical(response.content)
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == ["Europe/Paris"]
    events = {str(e["SUMMARY"]): e for e in cal.walk("VEVENT")}
    utc = {name: e.decoded("DTSTART").astimezone(UTC) for name, e in events.items()}
    assert utc["Samedi"] == datetime(2026, 10, 24, 8, 0, tzinfo=UTC)
    assert utc["Dimanche"] == datetime(2026, 10, 25, 9, 0, tzinfo=UTC)
    assert utc["Nuit"] == datetime(2026, 10, 24, 23, 30, tzinfo=UTC)
    assert events["Nuit"].decoded("DTEND").astimezone(UTC) == datetime(2026, 10, 25, 3, 30,
                                                                        tzinfo=UTC)
    assert str(events["Nuit"]["STATUS"]) == "CANCELLED"
    assert str(events["Dimanche"]["STATUS"]) == "CONFIRMED"
    assert events["Dimanche"]["ATTENDEE"].params["PARTSTAT"] == "ACCEPTED"
    assert events["Nuit"]["ATTENDEE"].params["PARTSTAT"] == "TENTATIVE"
    assert "ATTENDEE" not in events["Samedi"]
    assert "Café des Voisins" in str(events["Dimanche"]["LOCATION"])
    # one event's download, with the same times
    one = Calendar.from_ical(world.get(bob, f"/api/v1/events/{sunday['id']}.ics").content)
    (only,) = one.walk("VEVENT")
    assert only.decoded("DTSTART").astimezone(UTC) == datetime(2026, 10, 25, 9, 0, tzinfo=UTC)
    # a new token replaces the old URL; revoking ends it
    url2 = ok(world.post_json(bob, "/api/v1/events/feed_token"))["url"]
    assert world.client.get(path).status_code == 404
    assert world.client.delete("/api/v1/events/feed_token", headers=bob.headers).status_code == 200
    assert world.client.get(url2.replace(world.settings.base_url, "")).status_code == 404


def test_restricted_event_capacity_and_reminders(world: ApiWorld,
                                                 people: dict[str, Member]) -> None:
    alice, bob = people["alice"], people["bob"]
    dan, eve = world.member("dan"), world.member("eve")
    soon = (datetime.now(UTC) + timedelta(hours=20)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    event = new_event(world, alice, title="Atelier bijoux", join_mode="restricted", capacity=1,
                      start_time=soon, end_time=None)
    assert ok(world.post_json(dan, f"/api/v1/events/{event['id']}/join"))["participation"] == (
        "pending")
    assert ok(world.post_json(eve, f"/api/v1/events/{event['id']}/join"))["participation"] == (
        "pending")
    assert world.get(bob, f"/api/v1/events/{event['id']}/participants").status_code == 403
    listed = ok(world.get(alice, f"/api/v1/events/{event['id']}/participants"))
    assert sorted(p["state"] for p in listed) == ["pending", "pending"]
    ok(world.post_json(alice, f"/api/v1/events/{event['id']}/participants/{dan.id}/accept"))
    full = world.post_json(alice, f"/api/v1/events/{event['id']}/participants/{eve.id}/accept")
    assert full.status_code == 422 and "complet" in full.json()["error"]
    ok(world.post_json(alice, f"/api/v1/events/{event['id']}/participants/{eve.id}/reject"))
    got = ok(world.get(dan, f"/api/v1/events/{event['id']}"))
    assert got["participant_count"] == 1 and got["remaining_capacity"] == 0
    assert got["participation"] == "accepted"
    # the day-before reminder goes once, to the accepted participant
    with world.session() as s:
        first = send_reminders(s)
    with world.session() as s:
        again = send_reminders(s)
        reminded = s.scalar(select(func.count()).select_from(Notification).where(
            Notification.owner_id == dan.actor_id, Notification.type == "status",
            Notification.status_id == int(event["id"])))
    assert first >= 1 and again == 0 and reminded == 1
    # leaving frees the seat
    ok(world.post_json(dan, f"/api/v1/events/{event['id']}/leave"))
    assert ok(world.get(alice, f"/api/v1/events/{event['id']}"))["participant_count"] == 0


def mobilizon_event(actor_uri: str, event_id: str, *, to: list[str]) -> dict[str, Any]:
    """A Create(Event) as Mobilizon sends it (protocol.md §6.1)."""
    return {
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1",
                     {"mz": "https://joinmobilizon.org/ns#", "sc": "http://schema.org#",
                      "ical": "http://www.w3.org/2002/12/cal/ical#"}],
        "id": f"{event_id}/activity", "type": "Create", "actor": actor_uri, "to": to,
        "cc": [f"{actor_uri}/followers"],
        "object": {
            "id": event_id, "type": "Event", "name": "Apéro des commerçants",
            "content": "<p>Venez <script>x</script>nombreux</p>", "mediaType": "text/html",
            "summary": "Samedi 12 décembre 2026 à 18:00 (Europe/Paris), Bar du Coin",
            "startTime": "2026-12-12T18:00:00+01:00", "endTime": "2026-12-12T21:00:00+01:00",
            "timezone": "Europe/Paris", "attributedTo": actor_uri, "actor": actor_uri,
            "joinMode": "free", "maximumAttendeeCapacity": 30, "remainingAttendeeCapacity": 28,
            "participantCount": 2, "status": "CONFIRMED", "ical:status": "CONFIRMED",
            "commentsEnabled": True, "uuid": "b6f1c2", "url": event_id, "to": to,
            "cc": [f"{actor_uri}/followers"],
            "location": {"type": "Place", "id": f"{event_id}/place", "name": "Bar du Coin",
                         "address": {"type": "PostalAddress", "streetAddress": "3 rue Morand",
                                     "postalCode": "75011", "addressLocality": "Paris",
                                     "addressRegion": "Île-de-France",
                                     "addressCountry": "France"},
                         "latitude": 48.86, "longitude": 2.37},
            "attachment": [{"type": "Link", "mediaType": "text/html", "name": "Website",
                            "href": "https://visio.example/apero"}],
        },
    }


def run(world: ApiWorld, actor_id: int, doc: dict[str, Any]) -> None:
    with world.session() as s:
        dispatch(HandlerContext(s, world.ctx(), s.get(Actor, actor_id)), doc)


def test_inbound_mobilizon_gancio_and_friendica_shapes(world: ApiWorld,
                                                       people: dict[str, Member]) -> None:
    alice, bob = people["alice"], people["bob"]
    mobi = world.remote("organisatrice")
    mobi_uri = f"https://{LINKED}/users/organisatrice"
    world.follow(bob, mobi)
    event_uri = f"https://{LINKED}/events/b6f1c2"
    run(world, mobi, mobilizon_event(mobi_uri, event_uri,
                                     to=["https://www.w3.org/ns/activitystreams#Public"]))
    listed = {e["uri"]: e for e in ok(world.get(bob, "/api/v1/events"))}
    got = listed[event_uri]
    assert got["title"] == "Apéro des commerçants" and got["local"] is False
    assert got["start_time"] == "2026-12-12T17:00:00.000Z"
    assert got["place"]["street"] == "3 rue Morand" and got["capacity"] == 30
    assert got["participant_count"] == 2 and got["online_url"] == "https://visio.example/apero"
    status = ok(world.get(bob, f"/api/v1/statuses/{got['id']}"))
    assert status["spoiler_text"] == "" and "<script>" not in status["content"]
    assert "samedi 12 décembre 2026" in status["content"] and "Bar du Coin" in status["content"]
    # bob joins the remote event: a Join goes to the organiser; her Accept settles it
    assert ok(world.post_json(bob, f"/api/v1/events/{got['id']}/join"))["participation"] == (
        "pending")
    with world.session() as s:
        join = s.scalar(select(OutboxActivity).where(OutboxActivity.type == "Join")
                        .order_by(OutboxActivity.id.desc()))
        assert join.payload["object"] == event_uri and join.payload["to"] == [mobi_uri]
        join_doc = join.payload
    run(world, mobi, {"id": f"https://{LINKED}/accept/join/1", "type": "Accept",
                      "actor": mobi_uri, "object": {k: v for k, v in join_doc.items()
                                                    if k != "@context"}})
    assert ok(world.get(bob, f"/api/v1/events/{got['id']}"))["participation"] == "accepted"
    # Update(Event) with ical:status CANCELLED tells bob
    cancelled = mobilizon_event(mobi_uri, event_uri, to=["https://www.w3.org/ns/activitystreams#Public"])
    cancelled["type"] = "Update"
    cancelled["id"] = f"{event_uri}/update/1"
    cancelled["object"]["ical:status"] = cancelled["object"]["status"] = "CANCELLED"
    run(world, mobi, cancelled)
    assert ok(world.get(bob, f"/api/v1/events/{got['id']}"))["status"] == "cancelled"
    with world.session() as s:
        assert s.scalar(select(func.count()).select_from(Notification).where(
            Notification.owner_id == bob.actor_id, Notification.type == "update",
            Notification.status_id == int(got["id"]))) >= 1

    # Gancio: address as a string, location as a list with a VirtualLocation
    gancio = world.remote("relay")
    gancio_uri = f"https://{LINKED}/users/relay"
    world.follow(bob, gancio)
    gid = f"https://{LINKED}/federation/m/42"
    run(world, gancio, {"id": f"{gid}/create", "type": "Create", "actor": gancio_uri,
                        "to": ["https://www.w3.org/ns/activitystreams#Public"],
                        "cc": [f"{gancio_uri}/followers"],
                        "object": {"id": gid, "type": "Event", "name": "Concert",
                                   "startTime": "2026-12-20T20:00:00+01:00",
                                   "attributedTo": gancio_uri, "content": "<p>Jazz</p>",
                                   "summary": "Salle X, 20/12 20:00", "url": gid,
                                   "to": ["https://www.w3.org/ns/activitystreams#Public"],
                                   "location": [{"type": "Place", "name": "Salle X",
                                                 "address": "5 passage Y, Paris"},
                                                {"type": "VirtualLocation",
                                                 "url": "https://stream.example/jazz"}]}})
    concert = {e["uri"]: e for e in ok(world.get(bob, "/api/v1/events"))}[gid]
    assert concert["place"]["street"] == "5 passage Y, Paris"
    assert concert["online_url"] == "https://stream.example/jazz"

    # Friendica-style RSVPs to alice's event: Accept / TentativeAccept / Reject of the Event
    event = new_event(world, alice, title="Portes ouvertes", capacity=1)
    event_uri_local = event["uri"]
    fri, fra = world.remote("friend"), world.remote("frank")
    for who in (fri, fra):
        world.follow(who, alice)
    uri = {fri: f"https://{LINKED}/users/friend", fra: f"https://{LINKED}/users/frank"}
    run(world, fri, {"id": f"https://{LINKED}/a/1", "type": "Accept", "actor": uri[fri],
                     "object": event_uri_local})
    run(world, fra, {"id": f"https://{LINKED}/a/2", "type": "TentativeAccept",
                     "actor": uri[fra], "object": {"id": event_uri_local, "type": "Event"}})
    states = {p["account"]["username"]: p["state"]
              for p in ok(world.get(alice, f"/api/v1/events/{event['id']}/participants"))}
    assert states == {"friend": "accepted", "frank": "maybe"}
    # Mobilizon Join while full → Reject with the Join embedded; Friendica Reject = leave
    run(world, fra, {"id": f"https://{LINKED}/join/9", "type": "Join", "actor": uri[fra],
                     "object": event_uri_local})
    with world.session() as s:
        answer = s.scalar(select(OutboxActivity).where(OutboxActivity.type == "Reject")
                          .order_by(OutboxActivity.id.desc()))
        assert answer.payload["object"]["id"] == f"https://{LINKED}/join/9"
        assert answer.payload["to"] == [uri[fra]]
    run(world, fri, {"id": f"https://{LINKED}/a/3", "type": "Reject", "actor": uri[fri],
                     "object": event_uri_local})
    run(world, fra, {"id": f"https://{LINKED}/join/10", "type": "Join", "actor": uri[fra],
                     "object": event_uri_local})
    with world.session() as s:
        accept = s.scalar(select(OutboxActivity).where(OutboxActivity.type == "Accept")
                          .order_by(OutboxActivity.id.desc()))
        assert accept.payload["object"]["id"] == f"https://{LINKED}/join/10"
        rows = {r.actor_id: r.state for r in s.scalars(select(EventParticipant).where(
            EventParticipant.event_id == int(event["id"])))}
    assert rows == {fra: "accepted"}
    # the Event document other servers fetch reads well where only name+summary show
    with world.session() as s:
        update = s.scalar(select(OutboxActivity).where(
            OutboxActivity.type == "Update", OutboxActivity.object_uri == event_uri_local)
            .order_by(OutboxActivity.id.desc()))
        obj = update.payload["object"]
    assert obj["type"] == "Event" and obj["name"] == "Portes ouvertes"
    assert obj["participantCount"] == 1 and obj["remainingAttendeeCapacity"] == 0
    assert obj["startTime"] == "2026-12-10T19:00:00+01:00" and obj["timezone"] == "Europe/Paris"
    assert obj["summary"].startswith("jeudi 10 décembre 2026 de 19 h 00 à 22 h 00")
    assert obj["location"]["address"]["postalCode"] == "75011"
    assert obj["ical:status"] == "CONFIRMED" and obj["joinMode"] == "free"
    assert "ical" in update.payload["@context"][2]


def test_article_body_is_sanitised_and_images_stay_local(world: ApiWorld,
                                                         people: dict[str, Member]) -> None:
    alice = people["alice"]
    body = ("# Titre\n\n- un\n- deux\n\n> citation\n\n[lien](https://exemple.fr) "
            "[piège](javascript:alert(1))\n\n![ok](https://hub.test/media/a.png) "
            "![non](https://ailleurs.example/b.png)\n\n<script>alert(1)</script>")
    article = ok(world.post_json(alice, "/api/v1/articles", {"title": "Collection",
                                                             "body": body,
                                                             "summary": "Bijoux d'hiver"}))
    assert article["summary"] == "Bijoux d'hiver"
    html = article["content"]
    for fragment in ("<h1>Titre</h1>", "<li>un</li>", "<blockquote>",
                     'href="https://exemple.fr"', 'src="https://hub.test/media/a.png"'):
        assert fragment in html, (fragment, html)
    for fragment in ("ailleurs.example", "href=\"javascript", "<script"):
        assert fragment not in html, (fragment, html)
    edited = ok(world.client.put(f"/api/v1/articles/{article['id']}", headers=alice.headers,
                                 json={"title": "Collection d'hiver"}))
    assert edited["title"] == "Collection d'hiver"
    with world.session() as s:
        update = s.scalar(select(OutboxActivity).where(OutboxActivity.type == "Update")
                          .order_by(OutboxActivity.id.desc()))
        assert update.payload["object"]["type"] == "Article"
        assert update.payload["object"]["name"] == "Collection d'hiver"
        assert update.payload["object"]["url"].endswith(f"/articles/{article['id']}")
    ok(world.client.delete(f"/api/v1/articles/{article['id']}", headers=alice.headers))
    assert world.get(alice, f"/api/v1/articles/{article['id']}").status_code == 404


def test_rsvp_poll_is_the_rsvp(world: ApiWorld, people: dict[str, Member]) -> None:
    """In Mastodon apps an event is a status with a poll; voting is answering."""
    alice, bob = people["alice"], people["bob"]
    fay, gus = world.member("fay"), world.member("gus")
    event = new_event(world, alice, title="Apéro poll", capacity=1)
    status = ok(world.get(bob, f"/api/v1/statuses/{event['id']}"))
    assert "Apéro poll" in status["content"] and "jeudi 10 décembre 2026" in status["content"]
    poll = status["poll"]
    assert [o["title"] for o in poll["options"]] == ["J'y vais", "Peut-être", "Je ne viens pas"]
    assert poll["expires_at"] is None and poll["multiple"] is False

    def vote(who: Member, choice: int) -> Any:
        return world.post_form(who, f"/api/v1/polls/{poll['id']}/votes",
                               {"choices[]": str(choice)})

    assert ok(vote(bob, 0))["own_votes"] == [0]
    assert ok(world.get(bob, f"/api/v1/events/{event['id']}"))["participation"] == "accepted"
    full = vote(fay, 0)  # capacity 1: the event's own refusal, in the member's language
    assert full.status_code == 422 and "complet" in full.json()["error"], full.text
    assert ok(vote(bob, 1))["own_votes"] == [1]  # changing the vote changes the RSVP
    assert ok(world.get(bob, f"/api/v1/events/{event['id']}"))["participation"] == "maybe"
    assert ok(vote(fay, 0))["own_votes"] == [0]  # the seat bob left
    ok(vote(fay, 2))  # « Je ne viens pas » leaves
    got = ok(world.get(fay, f"/api/v1/events/{event['id']}"))
    assert got["participation"] is None and got["participant_count"] == 0
    # answering through the events API shows in the poll too
    ok(world.post_json(gus, f"/api/v1/events/{event['id']}/join"))
    seen = ok(world.get(gus, f"/api/v1/polls/{poll['id']}"))
    assert seen["own_votes"] == [0] and [o["votes_count"] for o in seen["options"]] == [1, 1, 1]
    # a member of a linked hub votes (their hub sends the vote as a Note): RSVP and Accept
    remote = world.remote("hugo")
    hugo_uri = f"https://{LINKED}/users/hugo"
    ok(world.post_json(gus, f"/api/v1/events/{event['id']}/leave"))
    run(world, remote, {"id": f"{hugo_uri}#votes/1/activity", "type": "Create",
                        "actor": hugo_uri, "to": [event["organiser"]["uri"]],
                        "object": {"id": f"{hugo_uri}#votes/1", "type": "Note",
                                   "name": "J'y vais", "attributedTo": hugo_uri,
                                   "inReplyTo": event["uri"],
                                   "to": [event["organiser"]["uri"]]}})
    states = {p["account"]["username"]: p["state"]
              for p in ok(world.get(alice, f"/api/v1/events/{event['id']}/participants"))}
    assert states.get("hugo") == "accepted", states
    with world.session() as s:
        accept = s.scalar(select(OutboxActivity).where(OutboxActivity.type == "Accept")
                          .order_by(OutboxActivity.id.desc()))
        assert accept.payload["to"] == [hugo_uri]
        assert accept.payload["object"]["object"] == event["uri"]
        update = s.scalar(select(OutboxActivity).where(
            OutboxActivity.type == "Update", OutboxActivity.object_uri == event["uri"])
            .order_by(OutboxActivity.id.desc()))
        assert update.payload["object"]["type"] == "Event"
        assert update.payload["object"]["oneOf"][0]["replies"]["totalItems"] == 1


def test_comments_are_replies_within_the_events_audience(world: ApiWorld,
                                                         people: dict[str, Member]) -> None:
    alice, bob = people["alice"], people["bob"]
    event = new_event(world, alice, title="Visite d'atelier", visibility="private")
    reply = ok(world.post_json(bob, "/api/v1/statuses", {
        "status": "J'y serai !", "visibility": "public", "in_reply_to_id": event["id"]}))
    assert reply["visibility"] == "private" and reply["in_reply_to_id"] == event["id"]
    closed = new_event(world, alice, title="Sans commentaires", comments_enabled=False)
    refused = world.post_json(bob, "/api/v1/statuses", {
        "status": "Un mot", "in_reply_to_id": closed["id"]})
    # bob's language is French (the default): the refusal is in French.
    assert refused.status_code == 422
    assert "les commentaires sont fermés" in refused.json()["error"]


def test_inbound_article_is_a_titled_status_with_a_link(world: ApiWorld,
                                                        people: dict[str, Member]) -> None:
    bob = people["bob"]
    writer = world.remote("redactrice")
    uri = f"https://{LINKED}/users/redactrice"
    world.follow(bob, writer)
    article_uri = f"{uri}/statuses/77"
    run(world, writer, {"id": f"{article_uri}/activity", "type": "Create", "actor": uri,
                        "to": [f"{uri}/followers"], "cc": [],
                        "object": {"id": article_uri, "type": "Article", "name": "Le branding",
                                   "summary": "Pourquoi une marque compte.",
                                   "content": "<h2>Partie 1</h2><p>" + "mot " * 300 + "</p>",
                                   "url": f"https://{LINKED}/@redactrice/articles/5",
                                   "attributedTo": uri, "to": [f"{uri}/followers"]}})
    home = ok(world.get(bob, "/api/v1/timelines/home"))
    (status,) = [s for s in home if s["uri"] == article_uri]
    assert status["spoiler_text"] == ""
    assert status["content"].startswith("<p><strong>Le branding</strong></p>")
    assert f"https://{LINKED}/@redactrice/articles/5" in status["content"]
    assert len(status["content"]) < 1000


def test_event_and_article_statuses_are_edited_through_their_own_api(
        world: ApiWorld, people: dict[str, Member]) -> None:
    alice = people["alice"]
    event = new_event(world, alice, title="Réunion")
    article = ok(world.post_json(alice, "/api/v1/articles", {"title": "Note", "body": "Texte"}))
    for status_id, where, french in ((event["id"], "/api/v1/events", "cet événement"),
                                     (article["status_id"], "/api/v1/articles", "cet article")):
        r = world.client.put(f"/api/v1/statuses/{status_id}", headers=alice.headers,
                             json={"status": "écrasé"})
        assert r.status_code == 422 and where in r.json()["error"], r.text
        assert french in r.json()["error"], r.text  # Alice reads French, all of it
    assert "Réunion" in ok(world.get(alice, f"/api/v1/statuses/{event['id']}"))["content"]


def test_a_suspended_members_calendar_feed_stops(world: ApiWorld,
                                                 people: dict[str, Member]) -> None:
    """The secret feed URL is a member's key like a token: suspension ends it (their
    sessions and tokens already end), and reinstatement brings it back."""
    alice = people["alice"]
    fay = world.member("fay")
    world.follow(fay, alice)
    new_event(world, alice, title="Dîner discret", visibility="private")
    path = ok(world.post_json(fay, "/api/v1/events/feed_token"))["url"].replace(
        world.settings.base_url, "")
    assert "Dîner discret" in world.client.get(path).text
    with world.session() as s:
        s.get(Actor, fay.actor_id).suspended_at = datetime.now(UTC)
        s.scalar(select(User).where(User.id == fay.user_id)).disabled = True
    gone = world.client.get(path)
    assert gone.status_code == 404 and "Dîner discret" not in gone.text
    with world.session() as s:
        s.get(Actor, fay.actor_id).suspended_at = None
        s.scalar(select(User).where(User.id == fay.user_id)).disabled = False
    assert "Dîner discret" in world.client.get(path).text


def _deliveries_of_last_update(world: ApiWorld, object_uri: str) -> set[str]:
    from fedi.models import Delivery

    with world.session() as s:
        update = s.scalar(select(OutboxActivity).where(
            OutboxActivity.type == "Update", OutboxActivity.object_uri == object_uri)
            .order_by(OutboxActivity.id.desc()).limit(1))
        assert update is not None
        return set(s.scalars(select(Delivery.inbox_url).where(
            Delivery.activity_id == update.id)))


def test_event_updates_reach_only_participants_still_in_the_audience(
        world: ApiWorld, people: dict[str, Member]) -> None:
    """A remote participant gets the event's Updates while they may see it; once their
    follow of the organiser ends, a followers-only event's new text no longer goes to them."""
    from sqlalchemy import delete

    from fedi.models import Follow

    alice = people["alice"]
    guest = world.remote("invitee")
    guest_inbox = f"https://{LINKED}/users/invitee/inbox"
    with world.session() as s:
        s.get(Actor, guest).shared_inbox = None  # its own inbox: deliveries to it are its own
    world.follow(guest, alice)
    event = new_event(world, alice, title="Soirée des abonnés", visibility="private")
    run(world, guest, {"id": f"https://{LINKED}/users/invitee/joins/1", "type": "Join",
                       "actor": f"https://{LINKED}/users/invitee", "object": event["uri"]})
    with world.session() as s:
        assert s.scalar(select(EventParticipant.state).where(
            EventParticipant.event_id == int(event["id"]),
            EventParticipant.actor_id == guest)) == "accepted"
    ok(world.client.put(f"/api/v1/events/{event['id']}", headers=alice.headers,
                        json={"description": "Code de la porte : 1234"}))
    assert guest_inbox in _deliveries_of_last_update(world, event["uri"])
    with world.session() as s:  # the guest unfollows (or alice removes them)
        s.execute(delete(Follow).where(Follow.follower_id == guest,
                                       Follow.followee_id == alice.actor_id))
    ok(world.client.put(f"/api/v1/events/{event['id']}", headers=alice.headers,
                        json={"description": "Nouveau code : 5678"}))
    assert guest_inbox not in _deliveries_of_last_update(world, event["uri"])
