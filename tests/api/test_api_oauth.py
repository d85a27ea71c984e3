"""OAuth 2: app registration, the login + consent page, every grant, revocation, scopes,
and the attacks of security-and-performance.md §5.4 (redirect URI variants, code reuse,
PKCE mismatch → an error page, no redirect, no token)."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from apiworld import ApiWorld, Member, ok
from sqlalchemy import func, select, update

from fedi.db import utcnow
from fedi.models import OAuthCode, OAuthToken

GOOD = "https://app.example/callback"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiWorld]:
    path: Path = tmp_path_factory.mktemp("oauth")
    w = ApiWorld(f"sqlite:///{path / 'hub.db'}",
                 extra={"api": {"rate_limit": 100000, "login_rate_limit_ip": 1000,
                                "login_rate_limit_account": 1000}})
    yield w
    w.close()


@pytest.fixture(scope="module")
def alice(world: ApiWorld) -> Member:
    return world.member("alice")


def register(world: ApiWorld, redirect: str | list[str] = GOOD, scopes: str = "read write follow",
             as_json: bool = False) -> dict[str, Any]:
    body = {"client_name": "Appli", "redirect_uris": redirect, "scopes": scopes,
            "website": "https://app.example"}
    response = (world.client.post("/api/v1/apps", json=body) if as_json
                else world.client.post("/api/v1/apps", data=body))
    return ok(response)


def authorize_params(app: dict[str, Any], **extra: str) -> dict[str, str]:
    params = {"response_type": "code", "client_id": app["client_id"], "redirect_uri": GOOD,
              "scope": "read write", "state": "xyz"}
    params.update(extra)
    return params


def consent(world: ApiWorld, params: dict[str, str], member: Member, *,
            decision: str = "approve", password: str | None = None,
            tamper: dict[str, str] | None = None) -> Any:
    page = world.client.get("/oauth/authorize", params=params)
    assert page.status_code == 200, page.text
    token = re.search(r'name="form_token" value="([^"]+)"', page.text).group(1)
    form = {**params, "form_token": token, "login": member.email,
            "password": password or member.password, "decision": decision, **(tamper or {})}
    return world.client.post("/oauth/authorize", data=form, follow_redirects=False)


def code_of(response: Any) -> str:
    assert response.status_code == 302, response.text
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query["state"] == ["xyz"]
    return query["code"][0]


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode()
    return verifier, challenge.rstrip("=")


def exchange(world: ApiWorld, app: dict[str, Any], code: str, **extra: str) -> Any:
    body = {"grant_type": "authorization_code", "code": code, "client_id": app["client_id"],
            "client_secret": app["client_secret"], "redirect_uri": GOOD, **extra}
    return world.client.post("/oauth/token", data=body)


def count_tokens(world: ApiWorld) -> int:
    with world.session() as s:
        return s.scalar(select(func.count()).select_from(OAuthToken))


def test_apps__form_json_and_any_scheme(world: ApiWorld) -> None:
    form = register(world, redirect="urn:ietf:wg:oauth:2.0:oob")
    assert form["redirect_uri"] == "urn:ietf:wg:oauth:2.0:oob" and form["client_secret"]
    assert form["scopes"] == ["read", "write", "follow"] and form["vapid_key"] == ""
    odd = ["com.tapbots.Ivory.10217:/request_token/0b6e", "icecubesapp://",
           "oauth2redirect://com.keylesspalace.tusky/", "http://127.0.0.1:5173/oauth",
           "http://localhost:8080/cb", "https://elk.zone/api/h/oauth/https%3A%2F%2Felk.zone"]
    js = register(world, redirect=odd, as_json=True)
    assert js["redirect_uris"] == odd and js["redirect_uri"] == "\n".join(odd)
    bad = world.client.post("/api/v1/apps", json={"client_name": "x", "redirect_uris": "nope"})
    assert bad.status_code == 422 and "error" in bad.json()
    assert world.client.post("/api/v1/apps", data={"redirect_uris": GOOD}).status_code == 422
    bad_scope = world.client.post("/api/v1/apps", data={"client_name": "x",
                                                         "redirect_uris": GOOD, "scopes": "admin"})
    assert bad_scope.status_code == 422


def test_metadata_lists_grants_and_pkce(world: ApiWorld) -> None:
    meta = ok(world.client.get("/.well-known/oauth-authorization-server"))
    assert meta["token_endpoint"] == "https://hub.test/oauth/token"
    assert "password" in meta["grant_types_supported"]
    assert meta["code_challenge_methods_supported"] == ["S256"]


def test_authorize_page_french_first_english_too(world: ApiWorld) -> None:
    app = register(world)
    fr = world.client.get("/oauth/authorize", params=authorize_params(app))
    assert fr.status_code == 200 and "Se connecter et autoriser" in fr.text and "Appli" in fr.text
    en = world.client.get("/oauth/authorize/", params=authorize_params(app, lang="en"))
    assert "Sign in and authorize" in en.text
    by_header = world.client.get("/oauth/authorize", params=authorize_params(app),
                                 headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "Sign in and authorize" in by_header.text
    # The header's weights count, as on the member site (fedi.i18n.negotiate), not its order.
    weighed = world.client.get("/oauth/authorize", params=authorize_params(app),
                               headers={"Accept-Language": "en;q=0.2, fr;q=0.9"})
    assert "Se connecter et autoriser" in weighed.text


def test_code_flow_with_pkce(world: ApiWorld, alice: Member) -> None:
    app = register(world)
    verifier, challenge = pkce()
    params = authorize_params(app, code_challenge=challenge, code_challenge_method="S256")
    code = code_of(consent(world, params, alice))
    # Wrong verifier: refused, and the code is still unused.
    assert exchange(world, app, code, code_verifier=pkce()[0]).json()["error"] == "invalid_grant"
    token = ok(exchange(world, app, code, code_verifier=verifier))
    assert token["scope"] == "read write" and token["token_type"] == "Bearer"
    assert isinstance(token["created_at"], int) and token["refresh_token"]
    me = ok(world.client.get("/api/v1/accounts/verify_credentials",
                             headers={"Authorization": f"Bearer {token['access_token']}"}))
    assert me["username"] == alice.username
    # Single use.
    before = count_tokens(world)
    again = exchange(world, app, code, code_verifier=verifier)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert count_tokens(world) == before


def test_code_flow_without_pkce_and_refresh(world: ApiWorld, alice: Member) -> None:
    app = register(world)
    code = code_of(consent(world, authorize_params(app), alice))
    missing_secret = world.client.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "client_id": app["client_id"],
        "redirect_uri": GOOD})
    assert missing_secret.status_code == 401 and missing_secret.json()["error"] == "invalid_client"
    wrong_uri = exchange(world, app, code, redirect_uri=GOOD + "/")
    assert wrong_uri.json()["error"] == "invalid_grant"
    token = ok(exchange(world, app, code))
    basic = base64.b64encode(f"{app['client_id']}:{app['client_secret']}".encode()).decode()
    refreshed = ok(world.client.post("/oauth/token", headers={"Authorization": f"Basic {basic}"},
                                     data={"grant_type": "refresh_token",
                                           "refresh_token": token["refresh_token"]}))
    assert refreshed["access_token"] != token["access_token"]
    reuse = world.client.post("/oauth/token", headers={"Authorization": f"Basic {basic}"},
                              data={"grant_type": "refresh_token",
                                    "refresh_token": token["refresh_token"]})
    assert reuse.json()["error"] == "invalid_grant"


def test_expired_code_is_refused(world: ApiWorld, alice: Member) -> None:
    app = register(world)
    code = code_of(consent(world, authorize_params(app), alice))
    with world.session() as s:
        s.execute(update(OAuthCode).where(
            OAuthCode.code_hash == hashlib.sha256(code.encode()).hexdigest())
            .values(expires_at=utcnow() - timedelta(seconds=1)))
    assert exchange(world, app, code).json()["error"] == "invalid_grant"


@pytest.mark.parametrize("variant", [
    "https://app.example/callback/../evil", "https://app.example/callbackx",
    "https://app.example/callback/extra", "https://APP.example/callback",
    "https://app.example/Callback", "https://app.example@evil.example/callback",
    "https://app.example/callback?x=1", "https://app.example/callback#f",
    "//evil.example/callback", "https://app.example/", "https://app.exаmple/callback",
    "https://evil.example/callback", "https://app.example/callback/",
])
def test_redirect_uri_variants__error_page_no_redirect(world: ApiWorld, alice: Member,
                                                       variant: str) -> None:
    app = register(world)
    params = authorize_params(app, redirect_uri=variant)
    page = world.client.get("/oauth/authorize", params=params, follow_redirects=False)
    assert page.status_code == 400 and "location" not in page.headers
    assert "invalid_redirect_uri" in page.text
    # POST re-validates too, even with a form token obtained for the good URI.
    good = world.client.get("/oauth/authorize", params=authorize_params(app))
    token = re.search(r'name="form_token" value="([^"]+)"', good.text).group(1)
    posted = world.client.post("/oauth/authorize", follow_redirects=False, data={
        **params, "form_token": token, "login": alice.email, "password": alice.password,
        "decision": "approve"})
    assert posted.status_code == 400 and "location" not in posted.headers
    with world.session() as s:
        assert s.scalar(select(func.count()).select_from(OAuthCode).where(
            OAuthCode.redirect_uri == variant)) == 0


def test_tampered_form_and_bad_password(world: ApiWorld, alice: Member) -> None:
    app = register(world, scopes="read write follow")
    wider = consent(world, authorize_params(app, scope="read"), alice,
                    tamper={"scope": "read write follow"})
    assert wider.status_code == 400 and "location" not in wider.headers
    wrong = consent(world, authorize_params(app), alice, password="not-the-password")
    assert wrong.status_code == 401 and "location" not in wrong.headers
    assert "mot de passe incorrect" in wrong.text


def test_unknown_client_scope_and_plain_pkce(world: ApiWorld) -> None:
    app = register(world, scopes="read")
    for params in (authorize_params(app, client_id="nope"),
                   authorize_params(app, scope="read write"),
                   authorize_params(app, scope="read", code_challenge="a" * 43,
                                    code_challenge_method="plain"),
                   authorize_params(app, scope="read", response_type="token")):
        page = world.client.get("/oauth/authorize", params=params, follow_redirects=False)
        assert page.status_code == 400 and "location" not in page.headers


def test_deny_and_oob(world: ApiWorld, alice: Member) -> None:
    app = register(world)
    denied = consent(world, authorize_params(app), alice, decision="deny")
    assert denied.status_code == 302
    assert "error=access_denied" in denied.headers["location"]
    assert "state=xyz" in denied.headers["location"]
    oob = register(world, redirect="urn:ietf:wg:oauth:2.0:oob")
    page = consent(world, authorize_params(oob, redirect_uri="urn:ietf:wg:oauth:2.0:oob"), alice)
    code = re.search(r'<code id="code">([^<]+)</code>', page.text).group(1)
    token = ok(world.client.post("/oauth/token", json={
        "grant_type": "authorization_code", "code": code, "client_id": oob["client_id"],
        "client_secret": oob["client_secret"], "redirect_uri": "urn:ietf:wg:oauth:2.0:oob"}))
    assert token["access_token"]


def test_password_and_client_credentials(world: ApiWorld, alice: Member) -> None:
    app = register(world, scopes="read write follow push")
    base = {"client_id": app["client_id"], "client_secret": app["client_secret"]}
    by_email = ok(world.client.post("/oauth/token", data={
        **base, "grant_type": "password", "username": alice.email, "password": alice.password,
        "scope": "read write follow push", "oauth_info[]": "junk", "redirect_uri": "x"}))
    assert by_email["scope"] == "read write follow push"
    by_name = ok(world.client.post("/oauth/token", json={
        **base, "grant_type": "password", "username": alice.username,
        "password": alice.password}))
    assert by_name["scope"] == "read"
    wrong = world.client.post("/oauth/token", data={
        **base, "grant_type": "password", "username": alice.email, "password": "nope"})
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    too_wide = world.client.post("/oauth/token", data={
        **base, "grant_type": "password", "username": alice.email, "password": alice.password,
        "scope": "read admin:read"})
    assert too_wide.json()["error"] == "invalid_scope"
    app_token = ok(world.client.post("/oauth/token", data={
        **base, "grant_type": "client_credentials"}))["access_token"]
    headers = {"Authorization": f"Bearer {app_token}"}
    app_info = ok(world.client.get("/api/v1/apps/verify_credentials", headers=headers))
    assert app_info["name"] == "Appli"
    assert world.client.get("/api/v1/accounts/verify_credentials",
                            headers=headers).status_code == 422
    unknown = world.client.post("/oauth/token", data={"grant_type": "magic", **base})
    assert unknown.json()["error"] == "unsupported_grant_type"


def test_revoke(world: ApiWorld, alice: Member) -> None:
    app = register(world)
    other = register(world)
    base = {"client_id": app["client_id"], "client_secret": app["client_secret"]}
    token = ok(world.client.post("/oauth/token", data={
        **base, "grant_type": "password", "username": alice.email,
        "password": alice.password}))["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    ok(world.client.get("/api/v1/accounts/verify_credentials", headers=headers))
    foreign = world.client.post("/oauth/revoke", data={
        "client_id": other["client_id"], "client_secret": other["client_secret"], "token": token})
    assert foreign.status_code == 403
    assert ok(world.client.post("/oauth/revoke", data={**base, "token": token})) == {}
    assert ok(world.client.post("/oauth/revoke", data={**base, "token": "unknown"})) == {}
    gone = world.client.get("/api/v1/accounts/verify_credentials", headers=headers)
    assert gone.status_code == 401 and gone.json() == {"error": "The access token is invalid"}


def test_scopes_are_honoured(world: ApiWorld) -> None:
    reader = world.member("reader", scopes="read")
    writer = world.member("writer", scopes="write:statuses")
    assert world.post_json(reader, "/api/v1/statuses", {"status": "x"}).status_code == 403
    assert world.get(writer, "/api/v1/timelines/home").status_code == 403
    ok(world.post_json(writer, "/api/v1/statuses", {"status": "écrit"}))
    follower_only = world.member("fol", scopes="follow")
    assert world.get(follower_only, "/api/v1/follow_requests").status_code == 200
    assert world.get(follower_only, "/api/v1/notifications").status_code == 403


def test_login_rate_limits(tmp_path: Path) -> None:
    w = ApiWorld(f"sqlite:///{tmp_path / 'rl.db'}",
                 extra={"api": {"rate_limit": 100000, "login_rate_limit_ip": 50,
                                "login_rate_limit_account": 3}})
    try:
        bob = w.member("bob")
        app = register(w)
        base = {"client_id": app["client_id"], "client_secret": app["client_secret"],
                "grant_type": "password", "username": bob.email}
        for _ in range(3):
            bad = w.client.post("/oauth/token", data={**base, "password": "bad"})
            assert bad.status_code == 400
        locked = w.client.post("/oauth/token", data={**base, "password": bob.password})
        assert locked.status_code == 429 and "x-ratelimit-reset" in locked.headers
    finally:
        w.close()
