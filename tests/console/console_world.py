"""A hub with an admin, a moderator and members, logged in over real HTTP (module
console_world, shared by the console's tests)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from site_http import csrf_of, login
from support.hubs import HubProcess
from support.world import hub_session

from fedi.services import invites, registration
from fedi.services.hub_settings import set_setting
from fedi.services.invites import user_by_username


@contextmanager
def logged_in(hub: HubProcess, username: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=hub.base, timeout=20) as client:
        answer = login(client, username, hub.passwords[username], "/console")
        assert answer.status_code == 303, answer.text[:500]
        yield client


def console_post(client: httpx.Client, page: str, action: str, data: dict[str, str] | None = None
                 ) -> httpx.Response:
    """POST ``action`` with the CSRF token of a page the client may open (or of /settings)."""
    shown = client.get(page)
    if shown.status_code != 200:
        shown = client.get("/settings")
    return client.post(action, data={**(data or {}), "csrf_token": csrf_of(shown)})


def make_application(hub: HubProcess, sponsor: str, username: str,
                     trade: str = "plombier") -> int:
    """An application waiting for approval, through the sponsor's invite link."""
    with hub_session(hub) as (session, _ctx):
        set_setting(session, "registration_mode", "approval")
        user = user_by_username(session, sponsor)
        code = invites.create_invite(session, user).code
        outcome = registration.register(session, hub.settings(), registration.SignupForm(
            invite_code=code, username=username, email=f"{username}@example.org",
            password="a-long-password", postal_code="75011", relation="lives", trade=trade,
            display_name=username.title(), business_name=""))
        assert outcome.application is not None
        return int(outcome.application.id)


def register_app(hub: HubProcess) -> dict[str, Any]:
    app = httpx.post(f"{hub.base}/api/v1/apps", data={
        "client_name": "Tuskette", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
        "scopes": "read write"})
    assert app.status_code == 200, app.text
    return dict(app.json())


def password_token(hub: HubProcess, app: dict[str, Any], username: str) -> str:
    answer = httpx.post(f"{hub.base}/oauth/token", data={
        "grant_type": "password", "client_id": app["client_id"],
        "client_secret": app["client_secret"], "username": username,
        "password": hub.passwords[username], "scope": "read write"})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])
