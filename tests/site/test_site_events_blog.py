"""Events and blog pages over HTTP with a session cookie: a member creates an event in the
editor, another answers « J'y vais » and shows among the organiser's participants; refused
input re-displays the form, nothing saved; a followers-only event and a draft article are a
404 page to others; an article previewed then published is on its author's list; the
calendar feed URL made in the settings serves an ``.ics`` that parses."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from icalendar import Calendar
from sqlalchemy import func, select
from test_site_pages import Browser

from fedi.models import Article, Event

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))
from apiworld import ApiWorld


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiWorld]:
    path: Path = tmp_path_factory.mktemp("site-events")
    w = ApiWorld(f"sqlite:///{path / 'hub.db'}")
    yield w
    w.close()


@pytest.fixture(scope="module")
def people(world: ApiWorld) -> dict[str, Any]:
    members = {n: world.member(n) for n in ("alice", "bob", "carol")}
    world.follow(members["bob"], members["alice"])  # bob follows alice; carol does not
    return {"m": members, "b": {n: Browser(world, m) for n, m in members.items()}}


def count(world: ApiWorld, model: Any) -> int:
    with world.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


EVENT = {"title": "Apéro des voisins", "description": "On se retrouve **au square**.",
         "start_time": "2030-06-12T19:00", "end_time": "2030-06-12T22:00",
         "place_name": "Square Maurice-Gardette", "street": "", "postal_code": "75011",
         "locality": "Paris", "online_url": "", "capacity": "20", "join_mode": "free",
         "audience": "followers", "comments_enabled": "on"}


def test_event_editor_rsvp_and_participants(world: ApiWorld, people: dict[str, Any]) -> None:
    alice, bob, carol = (people["b"][n] for n in ("alice", "bob", "carol"))
    assert alice.get("/events/new").status_code == 200
    before = count(world, Event)
    bad = alice.post("/events", {**EVENT, "end_time": "2030-06-12T18:00"}, "/events/new")
    assert bad.status_code == 422 and "La fin doit venir après le début" in bad.text
    assert "Apéro des voisins" in bad.text  # the form keeps what was typed
    assert count(world, Event) == before
    made = alice.post("/events", EVENT, "/events/new")
    assert made.status_code == 303
    path = made.headers["location"]
    event_id = path.rsplit("/", 1)[1]
    page = alice.get(path)
    assert page.status_code == 200
    assert "Apéro des voisins" in page.text and "mercredi 12 juin 2030" in page.text
    assert "19:00" in page.text and "Square Maurice-Gardette" in page.text
    assert "20 places restantes" in page.text
    assert "Personne n’a encore répondu" in page.text or "Personne" in page.text

    # Bob (a follower) sees it in the list and the month grid, and answers « J'y vais ».
    assert "Apéro des voisins" in bob.get("/events").text
    month = bob.get("/events?month=2030-06")
    assert month.status_code == 200 and "Apéro des voisins" in month.text and "Juin 2030" in month.text
    assert bob.get("/events?month=2030-13").status_code == 400
    seen = bob.get(path)
    assert "J’y vais" in seen.text or "J'y vais" in seen.text
    answered = bob.post(f"/events/{event_id}/rsvp", {"wish": "going"}, path)
    assert answered.status_code == 303
    after = bob.get(path).text
    assert 'aria-pressed="true">J' in after
    assert "19 places restantes" in after
    organiser_view = alice.get(path).text
    assert "@bob" in organiser_view and "participe" in organiser_view
    assert "@bob" not in carol.get("/events").text  # nothing about it leaks to carol

    # Carol does not follow alice: a 404 page, everywhere.
    assert carol.get(path).status_code == 404
    assert "Apéro des voisins" not in carol.get("/events").text
    assert "Apéro des voisins" not in carol.get("/events?month=2030-06").text
    refused = carol.post(f"/events/{event_id}/rsvp", {"wish": "going"}, "/events")
    assert refused.status_code == 404

    # The organiser edits (bad capacity: refused, kept) and cancels; bob cannot edit.
    assert bob.get(f"{path}/edit").status_code == 404
    wrong = alice.post(f"{path}/edit", {**EVENT, "capacity": "beaucoup"}, f"{path}/edit")
    assert wrong.status_code == 422 and "nombre entier" in wrong.text
    assert alice.post(f"{path}/cancel", {}, path).status_code == 303
    assert "Cet événement est annulé" in bob.get(path).text


def test_articles_preview_draft_publish(world: ApiWorld, people: dict[str, Any]) -> None:
    alice, bob = people["b"]["alice"], people["b"]["bob"]
    before = count(world, Article)
    shown = alice.post("/articles", {"title": "Le marché d'Aligre", "summary": "",
                                     "body": "Des *fraises* et du **fromage**.",
                                     "audience": "followers", "action": "preview"},
                       "/articles/new")
    assert shown.status_code == 200 and "<em>fraises</em>" in shown.text
    assert count(world, Article) == before  # a preview saves nothing
    empty = alice.post("/articles", {"title": "", "summary": "", "body": "x",
                                     "audience": "followers", "action": "draft"},
                       "/articles/new")
    assert empty.status_code == 422 and "besoin d'un titre" in unescape(empty.text)
    assert count(world, Article) == before

    draft = alice.post("/articles", {"title": "Brouillon secret", "summary": "",
                                     "body": "Pas encore.", "audience": "followers",
                                     "action": "draft"}, "/articles/new")
    assert draft.status_code == 303
    draft_path = draft.headers["location"]
    name = people["m"]["alice"].username
    assert re.fullmatch(rf"/@{name}/articles/\d+", draft_path)
    assert "Brouillon secret" in alice.get(draft_path).text
    assert bob.get(draft_path).status_code == 404
    assert "Brouillon secret" not in bob.get(f"/@{name}/articles").text
    assert "Brouillon secret" in alice.get(f"/@{name}/articles").text

    made = alice.post("/articles", {"title": "Le marché d'Aligre", "summary": "Au marché",
                                    "body": "Des *fraises* et du **fromage**.",
                                    "audience": "followers", "action": "publish"},
                      "/articles/new")
    assert made.status_code == 303
    page = bob.get(made.headers["location"])
    assert page.status_code == 200 and "<em>fraises</em>" in page.text
    assert "Le marché d" in bob.get(f"/@{name}/articles").text
    assert people["b"]["carol"].get(made.headers["location"]).status_code == 404
    # The draft is published later from its editor.
    draft_id = draft_path.rsplit("/", 1)[1]
    done = alice.post(f"/articles/{draft_id}/edit", {
        "title": "Plus secret", "summary": "", "body": "Voilà.", "audience": "followers",
        "action": "publish"}, f"/articles/{draft_id}/edit")
    assert done.status_code == 303 and "Plus secret" in bob.get(f"/@{name}/articles").text


def test_calendar_feed_from_settings(world: ApiWorld, people: dict[str, Any]) -> None:
    alice = people["b"]["alice"]
    settings = alice.get("/settings").text
    assert 'href="/settings/calendar"' in settings
    made = alice.post("/settings/calendar", {}, "/settings/calendar")
    assert made.status_code == 200
    url = re.search(r'id="feed-url" readonly value="([^"]+)"', made.text)
    assert url and url.group(1).endswith(".ics")
    ics = alice.client.get(url.group(1))
    assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(ics.content)
    titles = [str(c.get("summary")) for c in calendar.walk("VEVENT")]
    assert "Apéro des voisins" in titles
    again = alice.post("/settings/calendar", {}, "/settings/calendar")
    assert again.status_code == 200
    assert alice.client.get(url.group(1)).status_code == 404  # the old address ends


def test_restricted_event_approval_and_english(world: ApiWorld, people: dict[str, Any]) -> None:
    alice, bob = people["b"]["alice"], people["b"]["bob"]
    made = alice.post("/events", {**EVENT, "title": "Atelier vélo", "join_mode": "restricted",
                                  "audience": "hub", "capacity": ""}, "/events/new")
    assert made.status_code == 303
    path = made.headers["location"]
    event_id = path.rsplit("/", 1)[1]
    assert bob.post(f"/events/{event_id}/rsvp", {"wish": "going"}, path).status_code == 303
    assert "attend la validation" in unescape(bob.get(path).text)
    organiser = alice.get(path).text
    assert "en attente de validation" in organiser
    bob_id = people["m"]["bob"].actor_id
    accepted = alice.post(f"/events/{event_id}/participants/{bob_id}/accept", {}, path)
    assert accepted.status_code == 303
    assert "Vous y allez" in bob.get(path).text
    # Someone else's event cannot be decided on.
    assert bob.post(f"/events/{event_id}/participants/{bob_id}/reject", {},
                    path).status_code == 404

    # In English: the buttons, the Babel date and the service's messages.
    assert bob.post("/settings/language", {"lang": "en"}, "/settings").status_code == 303
    page = unescape(bob.get(path).text)
    assert "I'm going" in page and "Wednesday, June 12, 2030" in page
    assert "You are going." in page
    wrong = bob.post("/events", {**EVENT, "title": ""}, "/events/new")
    assert wrong.status_code == 422 and "An event needs a title" in wrong.text
    assert bob.post("/settings/language", {"lang": "fr"}, "/settings").status_code == 303
