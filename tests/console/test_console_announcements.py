"""Announcements over real HTTP: a moderator writes them in the console (bad input shown
again, nothing saved), publishes, edits, withdraws and deletes them (each audited); members
see a banner on their timeline with a dismiss button (no script) and the same announcements
in the Mastodon API (and its streaming ``announcement`` event), ``read`` once dismissed on
either side."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from html import unescape
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from console_world import console_post, logged_in, password_token, register_app
from sqlalchemy import func, select
from support.hubs import HubProcess
from support.world import query
from websockets.sync.client import ClientConnection, connect

from fedi.models import Announcement, AuditEntry


def api(hub: HubProcess, token: str, path: str, method: str = "GET") -> httpx.Response:
    return httpx.request(method, f"{hub.base}{path}", headers={"Authorization": f"Bearer {token}"})


def next_event(stream: ClientConnection, event: str, timeout: float = 30) -> dict[str, Any]:
    """The next frame of this event on the stream (others skipped), within ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"no {event} event on the stream"
        frame = json.loads(stream.recv(timeout=left))
        if frame.get("event") == event:
            return dict(frame)


def test_announcements_from_console_to_site_and_api(make_hub: Callable[..., HubProcess],
                                                    db_backend: str) -> None:
    hub = make_hub("annonce", backend=db_backend)
    hub.add_user("manon", role="moderator")
    hub.add_user("alice")
    hub.add_user("bob")
    hub.start()
    app = register_app(hub)
    alice, bob = password_token(hub, app, "alice"), password_token(hub, app, "bob")
    count = lambda: query(hub, lambda s: s.scalar(select(func.count(Announcement.id))))
    with logged_in(hub, "manon") as manon:
        empty = console_post(manon, "/console/announcements", "/console/announcements",
                             {"text": "   "})
        assert empty.status_code == 422 and "Le texte de l'annonce est vide" in unescape(empty.text)
        bad_date = console_post(manon, "/console/announcements", "/console/announcements",
                                {"text": "Collecte", "starts_at": "demain"})
        assert bad_date.status_code == 422 and "n'est pas une date" in unescape(bad_date.text)
        assert 'value="demain"' in bad_date.text  # the form comes back as typed
        backwards = console_post(manon, "/console/announcements", "/console/announcements",
                                 {"text": "Collecte", "starts_at": "2030-05-02",
                                  "ends_at": "2030-05-01", "all_day": "on"})
        assert backwards.status_code == 422 and "après le début" in backwards.text
        assert count() == 0
        made = console_post(manon, "/console/announcements", "/console/announcements",
                            {"text": "Collecte de <b>jouets</b> samedi"})
        assert made.status_code == 303
        path = made.headers["location"].split("?")[0]
        announcement_id = path.rsplit("/", 1)[1]
        assert api(hub, alice, "/api/v1/announcements").json() == []
        stream_url = hub.base.replace("http://", "ws://") + "/api/v1/streaming?stream=user"
        with connect(stream_url, open_timeout=10,
                     additional_headers={"Authorization": f"Bearer {alice}"}) as stream:
            assert console_post(manon, path, f"{path}/publish").status_code == 303
            streamed = next_event(stream, "announcement")
        assert json.loads(streamed["payload"])["id"] == announcement_id
        edited = console_post(manon, path, path, {"text": "Collecte de jouets samedi 10 h",
                                                  "ends_at": "", "starts_at": ""})
        assert edited.status_code == 303
        # A second one that is already over is never shown.
        past = (datetime.now(ZoneInfo("Europe/Paris")) - timedelta(days=2)).strftime("%Y-%m-%d")
        over = console_post(manon, "/console/announcements", "/console/announcements",
                            {"text": "Brocante", "ends_at": past, "all_day": "on"})
        over_path = over.headers["location"].split("?")[0]
        assert console_post(manon, over_path, f"{over_path}/publish").status_code == 303
        listing = manon.get("/console/announcements").text
        assert "Terminée" in listing and "Publiée" in listing

    shown = api(hub, alice, "/api/v1/announcements").json()
    assert [a["id"] for a in shown] == [announcement_id]
    entity = shown[0]
    assert entity["content"] == "<p>Collecte de jouets samedi 10 h</p>"
    assert entity["read"] is False and entity["starts_at"] is None and entity["all_day"] is False
    assert set(entity) == {"id", "content", "starts_at", "ends_at", "all_day", "published_at",
                           "updated_at", "read", "mentions", "statuses", "tags", "emojis",
                           "reactions"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entity["published_at"])

    # Alice dismisses it on the web site: the banner goes, her apps read it as read.
    with logged_in(hub, "alice") as site:
        home = site.get("/")
        assert "Collecte de jouets samedi 10 h" in home.text and "Brocante" not in home.text
        token = re.search(r'action="/announcements/(\d+)/dismiss"[^>]*>\s*<input type="hidden" '
                          r'name="csrf_token" value="([0-9a-f]+)"', home.text)
        assert token is not None and token.group(1) == announcement_id
        gone = site.post(f"/announcements/{announcement_id}/dismiss",
                         data={"csrf_token": token.group(2), "next": "/"})
        assert gone.status_code == 303 and gone.headers["location"] == "/"
        assert "Collecte de jouets" not in site.get("/").text
        no_csrf = site.post(f"/announcements/{announcement_id}/dismiss", data={"next": "/"})
        assert no_csrf.status_code == 403
    assert api(hub, alice, "/api/v1/announcements").json()[0]["read"] is True
    assert api(hub, alice, "/api/v1/announcements?with_dismissed=false").json() == []
    # Bob dismisses it in his app; twice changes nothing; unknown ones are 404.
    assert api(hub, bob, "/api/v1/announcements").json()[0]["read"] is False
    for _ in range(2):
        done = api(hub, bob, f"/api/v1/announcements/{announcement_id}/dismiss", "POST")
        assert done.status_code == 200 and done.json() == {}
    assert api(hub, bob, "/api/v1/announcements").json()[0]["read"] is True
    assert api(hub, bob, "/api/v1/announcements/999/dismiss", "POST").status_code == 404
    react = api(hub, bob, f"/api/v1/announcements/{announcement_id}/reactions/%F0%9F%91%8D",
                "PUT")
    assert react.status_code == 422
    assert httpx.get(f"{hub.base}/api/v1/announcements").status_code == 401

    with logged_in(hub, "manon") as manon:
        path = f"/console/announcements/{announcement_id}"
        assert console_post(manon, path, f"{path}/unpublish").status_code == 303
        assert api(hub, alice, "/api/v1/announcements").json() == []
        assert api(hub, bob, f"/api/v1/announcements/{announcement_id}/dismiss",
                   "POST").status_code == 404
        assert console_post(manon, path, f"{path}/delete").status_code == 303
        assert manon.get(path).status_code == 404
    assert count() == 1  # the one that is over
    actions = query(hub, lambda s: [(e.actor_username, e.actor_role, e.action) for e in
                                    s.scalars(select(AuditEntry).order_by(AuditEntry.id))])
    assert [a[2] for a in actions] == [
        "announcement.create", "announcement.publish", "announcement.update",
        "announcement.create", "announcement.publish", "announcement.unpublish",
        "announcement.delete"]
    assert {a[:2] for a in actions} == {("manon", "moderator")}
