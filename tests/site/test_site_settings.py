"""Settings, OAuth one-click consent, rate-limited login, suspended members, error pages:
over real HTTP against a real ``voisins serve``."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from site_http import csrf_of, login, post_form
from sqlalchemy import update
from support.hubs import HubProcess

from fedi.db import make_engine, make_sessionmaker, transaction
from fedi.models import User

REDIRECT = "https://app.example/callback"


@pytest.fixture
def hub(make_hub: Callable[..., HubProcess]) -> Iterator[HubProcess]:
    hub = make_hub("sets", extra_config="\n[api]\nlogin_rate_limit_account = 3\n")
    hub.add_user("alice")
    hub.add_user("bob")
    hub.start()
    yield hub


def register_app(hub: HubProcess) -> dict[str, Any]:
    app = httpx.post(f"{hub.base}/api/v1/apps", data={
        "client_name": "Tuskette", "redirect_uris": REDIRECT, "scopes": "read write"})
    assert app.status_code == 200, app.text
    return dict(app.json())


def password_token(hub: HubProcess, app: dict[str, Any], username: str) -> str:
    answer = httpx.post(f"{hub.base}/oauth/token", data={
        "grant_type": "password", "client_id": app["client_id"],
        "client_secret": app["client_secret"], "username": username,
        "password": hub.passwords[username], "scope": "read"})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def token_works(hub: HubProcess, token: str) -> bool:
    answer = httpx.get(f"{hub.base}/api/v1/accounts/verify_credentials",
                       headers={"Authorization": f"Bearer {token}"})
    return answer.status_code == 200


def set_disabled(hub: HubProcess, username: str) -> None:
    engine = make_engine(hub.settings().database_url)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            session.execute(update(User).where(User.email == f"{username}@{hub.host}.test")
                            .values(disabled=True))
    finally:
        engine.dispose()


def test_password_change_ends_other_sessions_and_app_tokens(hub: HubProcess) -> None:
    app = register_app(hub)
    token = password_token(hub, app, "alice")
    with httpx.Client(base_url=hub.base) as here, httpx.Client(base_url=hub.base) as there:
        assert login(here, "alice", hub.passwords["alice"]).status_code == 303
        assert login(there, "alice", hub.passwords["alice"]).status_code == 303
        page = here.get("/settings")
        assert "Tuskette" in page.text  # connected apps
        wrong = post_form(here, "/settings", "/settings/password",
                          {"current": "nope", "new": "a-new-password", "confirm": "a-new-password"})
        assert wrong.status_code == 422 and "incorrect" in wrong.text
        assert token_works(hub, token) and there.get("/settings").status_code == 200
        mismatch = post_form(here, "/settings", "/settings/password", {
            "current": hub.passwords["alice"], "new": "a-new-password", "confirm": "other-one"})
        assert mismatch.status_code == 422
        done = post_form(here, "/settings", "/settings/password", {
            "current": hub.passwords["alice"], "new": "a-new-password",
            "confirm": "a-new-password"})
        assert done.status_code == 303
        assert here.get("/settings").status_code == 200  # this browser stays logged in
        assert there.get("/settings").status_code == 303  # the other one is logged out
        assert not token_works(hub, token)
    with httpx.Client(base_url=hub.base) as again:
        assert login(again, "alice", hub.passwords["alice"]).status_code == 401
        assert login(again, "alice", "a-new-password").status_code == 303


def test_revoke_a_connected_app(hub: HubProcess) -> None:
    app = register_app(hub)
    token = password_token(hub, app, "bob")
    other = password_token(hub, app, "alice")
    with httpx.Client(base_url=hub.base) as client:
        login(client, "bob", hub.passwords["bob"])
        page = client.get("/settings")
        action = re.search(r'action="(/settings/apps/\d+/revoke)"', page.text)
        assert action is not None
        revoked = client.post(action.group(1), data={"csrf_token": csrf_of(page)})
        assert revoked.status_code == 303
        assert not token_works(hub, token) and token_works(hub, other)
        assert "Tuskette" not in client.get("/settings").text
        again = client.post(action.group(1), data={"csrf_token": csrf_of(page)})
        assert again.status_code == 404


def test_settings_language_and_audience(hub: HubProcess) -> None:
    with httpx.Client(base_url=hub.base) as client:
        login(client, "bob", hub.passwords["bob"])
        page = client.get("/settings")
        assert 'value="private" checked' in page.text  # followers by default
        bad = post_form(client, "/settings", "/settings/audience", {"audience": "everyone"})
        assert bad.status_code == 400 and "text/html" in bad.headers["content-type"]
        done = post_form(client, "/settings", "/settings/audience", {"audience": "unlisted"})
        assert done.status_code == 303
        assert 'value="unlisted" checked' in client.get("/settings").text
        assert post_form(client, "/settings", "/settings/language",
                         {"lang": "de"}).status_code == 400


def test_one_click_consent_for_a_logged_in_member(hub: HubProcess) -> None:
    app = register_app(hub)
    params = {"response_type": "code", "client_id": app["client_id"], "redirect_uri": REDIRECT,
              "scope": "read", "state": "s1"}
    with httpx.Client(base_url=hub.base) as client:
        anonymous = client.get("/oauth/authorize", params=params)
        assert 'name="password"' in anonymous.text and "Vous êtes connecté" not in anonymous.text
        login(client, "alice", hub.passwords["alice"])
        page = client.get("/oauth/authorize", params=params)
        assert page.status_code == 200 and "@alice" in page.text
        hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page.text))
        form = {**params, "form_token": hidden["form_token"], "decision": "approve"}
        forged = client.post("/oauth/authorize", data=form)  # no CSRF token: no code
        assert forged.status_code == 400 and "location" not in forged.headers
        approved = client.post("/oauth/authorize", data={**form, "csrf_token": csrf_of(page)})
        assert approved.status_code == 302
        query = parse_qs(urlsplit(approved.headers["location"]).query)
        assert query["state"] == ["s1"] and query["code"]


def test_login_is_rate_limited_and_suspended_members_have_no_session(hub: HubProcess) -> None:
    with httpx.Client(base_url=hub.base) as client:
        assert login(client, "bob", hub.passwords["bob"]).status_code == 303
        assert client.get("/settings").status_code == 200
        set_disabled(hub, "bob")
        assert client.get("/settings").status_code == 303
        assert login(client, "bob", hub.passwords["bob"]).status_code == 401
    with httpx.Client(base_url=hub.base) as client:
        codes = [login(client, "alice", "wrong").status_code for _ in range(4)]
        assert codes[:3] == [401, 401, 401] and codes[3] == 429
        limited = login(client, "alice", hub.passwords["alice"])
        assert limited.status_code == 429 and "Trop de tentatives" in limited.text


def test_error_pages_html_for_pages_json_for_apis(hub: HubProcess) -> None:
    html = {"Accept": "text/html,application/xhtml+xml"}
    page = httpx.get(f"{hub.base}/nowhere", headers={**html, "Accept-Language": "fr"})
    assert page.status_code == 404 and "Page introuvable" in page.text
    assert page.headers["content-type"].startswith("text/html") and 'lang="fr"' in page.text
    english = httpx.get(f"{hub.base}/nowhere", headers={**html, "Accept-Language": "en-US"})
    assert "Page not found" in english.text and 'lang="en"' in english.text
    api = httpx.get(f"{hub.base}/api/v1/nowhere", headers=html)
    assert api.status_code == 404 and api.headers["content-type"].startswith("application/json")
    machine = httpx.get(f"{hub.base}/nowhere", headers={"Accept": "application/activity+json"})
    assert machine.status_code == 404 and "error" in machine.json()
    # a site route answers HTML even to a client that did not ask for it
    forbidden = httpx.post(f"{hub.base}/settings/language", data={"lang": "en"})
    assert forbidden.status_code == 403 and forbidden.headers["content-type"].startswith(
        "text/html")
    wrong_method = httpx.put(f"{hub.base}/login", headers=html)
    assert wrong_method.status_code in (403, 405)
    assert wrong_method.headers["content-type"].startswith("text/html")
