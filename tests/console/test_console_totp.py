"""The TOTP second factor over real HTTP: set-up and turning off in the member's settings,
refusals at the site login and at the OAuth login apps use (missing, wrong, reused code,
too many wrong codes), no password grant past it, and the hub setting that keeps admins
without it out of the console (changed in the console, audited)."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import httpx
import pyotp
from console_world import console_post, logged_in
from site_http import csrf_of, post_form
from sqlalchemy import select
from support.hubs import HubProcess
from support.world import query
from totp_world import code_next, code_now, enable_totp, wrong_code

from fedi.models import AuditEntry, User
from fedi.services.hub_settings import get_setting
from fedi.services.invites import user_by_username

REDIRECT = "http://127.0.0.1:9/callback"


def site_login(client: httpx.Client, hub: HubProcess, name: str, code: str | None
               ) -> httpx.Response:
    form = client.get("/login?next=/settings")
    data = {"login": name, "password": hub.passwords[name], "next": "/settings",
            "csrf_token": csrf_of(form)}
    if code is not None:
        data["code"] = code
    return client.post("/login", data=data)


def test_site_login_asks_for_a_fresh_code(make_hub: Callable[..., HubProcess],
                                          db_backend: str) -> None:
    hub = make_hub("totp", backend=db_backend,
                   extra_config="\n[api]\nlogin_rate_limit_account = 5\n")
    hub.add_user("claire", role="admin")
    hub.add_user("alice")
    hub.start()
    secret = enable_totp(hub, "claire")
    with httpx.Client(base_url=hub.base) as browser:
        missing = site_login(browser, hub, "claire", None)
        assert missing.status_code == 401
        assert "code à 6 chiffres" in missing.text and "aria-invalid" in missing.text
        assert browser.get("/settings").status_code == 303  # not logged in
        wrong = site_login(browser, hub, "claire", wrong_code(secret))
        assert wrong.status_code == 401 and "incorrect ou trop ancien" in wrong.text
        code = code_now(secret)
        ok = site_login(browser, hub, "claire", code)
        assert ok.status_code == 303 and ok.headers["location"] == "/settings"
        assert browser.get("/settings").status_code == 200
    with httpx.Client(base_url=hub.base, headers={"Accept-Language": "en"}) as other:
        reused = site_login(other, hub, "claire", code)
        assert reused.status_code == 401 and "already used" in reused.text
        # A wrong password says nothing about the second factor.
        form = other.get("/login")
        bad = other.post("/login", data={"login": "claire", "password": "nope-nope",
                                         "csrf_token": csrf_of(form)})
        assert bad.status_code == 401 and "Wrong email, username or password" in bad.text
        assert site_login(other, hub, "claire", code_next(secret)).status_code == 303
    # A member without the second factor logs in as before (the code field is ignored).
    with httpx.Client(base_url=hub.base) as alice:
        assert site_login(alice, hub, "alice", None).status_code == 303
    # Wrong and replayed codes count against the account (two so far, five allowed):
    # past the limit, even the right code waits.
    with httpx.Client(base_url=hub.base) as guesser:
        statuses = [site_login(guesser, hub, "claire", wrong_code(secret)).status_code
                    for _ in range(3)]
        assert statuses == [401] * 3
        limited = site_login(guesser, hub, "claire", code_now(secret))
        assert limited.status_code == 429
    # A lost phone: an admin of the machine turns it off from the command line (audited).
    out = hub.cli("users", "totp-off", "claire")
    assert "@claire" in out.stdout
    with httpx.Client(base_url=hub.base) as browser:
        assert site_login(browser, hub, "claire", None).status_code == 303
    assert hub.cli("users", "totp-off", "nobody", check=False).returncode == 2
    audit = query(hub, lambda s: [(e.actor_role, e.action, e.target) for e in s.scalars(
        select(AuditEntry).order_by(AuditEntry.id))])
    assert audit == [("cli", "member.totp_off", "@claire")]


def authorize(hub: HubProcess, app: dict[str, str], name: str, code: str | None,
              lang: str = "fr") -> httpx.Response:
    url = (f"{hub.base}/oauth/authorize?response_type=code&client_id={app['client_id']}"
           f"&redirect_uri={REDIRECT}&scope=read+write&state=s1&lang={lang}")
    page = httpx.get(url)
    assert page.status_code == 200
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    fields.update(login=name, password=hub.passwords[name], decision="approve")
    if code is not None:
        fields["code"] = code
    return httpx.post(url.split("?")[0], data=fields, follow_redirects=False)


def test_oauth_login_asks_for_a_fresh_code_and_password_grant_is_closed(
        make_hub: Callable[..., HubProcess]) -> None:
    hub = make_hub("totpoauth")
    hub.add_user("claire", role="admin")
    hub.start()
    secret = enable_totp(hub, "claire")
    app = httpx.post(f"{hub.base}/api/v1/apps", data={
        "client_name": "Tuskette", "redirect_uris": REDIRECT, "scopes": "read write"}).json()
    missing = authorize(hub, app, "claire", None)
    assert missing.status_code == 401 and "code à 6 chiffres" in missing.text
    wrong = authorize(hub, app, "claire", wrong_code(secret), lang="en")
    assert wrong.status_code == 401 and "wrong or too old" in wrong.text
    code = code_now(secret)
    ok = authorize(hub, app, "claire", code)
    assert ok.status_code == 302, ok.text
    query_ = parse_qs(urlsplit(ok.headers["location"]).query)
    assert query_["state"] == ["s1"] and query_["code"]
    token = httpx.post(f"{hub.base}/oauth/token", data={
        "grant_type": "authorization_code", "code": query_["code"][0],
        "client_id": app["client_id"], "client_secret": app["client_secret"],
        "redirect_uri": REDIRECT})
    assert token.status_code == 200, token.text
    reused = authorize(hub, app, "claire", code)
    assert reused.status_code == 401 and "déjà servi" in reused.text
    # The password alone gets no token.
    grant = httpx.post(f"{hub.base}/oauth/token", data={
        "grant_type": "password", "client_id": app["client_id"],
        "client_secret": app["client_secret"], "username": "claire",
        "password": hub.passwords["claire"], "scope": "read"})
    assert grant.status_code == 400 and grant.json()["error"] == "invalid_grant"


def totp_state(hub: HubProcess, name: str) -> tuple[bool, bool]:
    def read(session: object) -> tuple[bool, bool]:
        user = user_by_username(session, name)  # type: ignore[arg-type]
        assert user is not None
        return user.totp_secret is not None, user.totp_enabled_at is not None
    return query(hub, read)


def test_admins_without_totp_are_kept_out_until_they_set_it_up(
        make_hub: Callable[..., HubProcess]) -> None:
    hub = make_hub("totpreq")
    hub.add_user("claire", role="admin")
    hub.add_user("zoe", role="admin")
    hub.add_user("manon", role="moderator")
    hub.start()
    secret = enable_totp(hub, "claire")
    with httpx.Client(base_url=hub.base) as claire:
        assert site_login(claire, hub, "claire", code_now(secret)).status_code == 303
        page = claire.get("/console/settings")
        assert "totp_required_for_admins" in page.text
        saved = claire.post("/console/settings", data={
            "registration_mode": "invite", "trade_rule_action": "refuse",
            "auto_link_adjacent": "on", "propose_adjacent": "on", "members_may_invite": "on",
            "totp_required_for_admins": "on", "csrf_token": csrf_of(page)})
        assert saved.status_code == 303, saved.text[:500]
        assert claire.get("/console").status_code == 200  # she has it
    assert query(hub, lambda s: get_setting(s, "totp_required_for_admins")) is True
    audit = query(hub, lambda s: [(e.actor_username, e.action, e.target) for e in s.scalars(
        select(AuditEntry).order_by(AuditEntry.id))])
    assert ("claire", "settings.set", "totp_required_for_admins") in audit
    with logged_in(hub, "manon") as manon:  # moderators are not concerned
        assert manon.get("/console").status_code == 200
    with logged_in(hub, "zoe") as zoe:
        for path in ("/console", "/console/members", "/console/settings"):
            sent = zoe.get(path)
            assert sent.status_code == 303 and sent.headers["location"] == (
                "/settings/totp?required=1"), path
        posted = console_post(zoe, "/settings", "/console/members/manon/suspend",
                              {"reason": "x"})
        assert posted.status_code == 303 and "totp" in posted.headers["location"]
        page = zoe.get("/settings/totp?required=1")
        assert "demande à ses admins" in page.text
        # Set-up: a secret and its otpauth:// address, then a first code.
        started = post_form(zoe, "/settings/totp?required=1", "/settings/totp/start",
                            {"required": "1"})
        assert started.status_code == 303
        page = zoe.get("/settings/totp")
        typed = re.search(r'<code id="totp-secret">([A-Z2-7 ]+)</code>', page.text)
        assert typed is not None and "otpauth://totp/" in page.text
        new_secret = typed.group(1).replace(" ", "")
        assert totp_state(hub, "zoe") == (True, False)
        assert zoe.get("/console").status_code == 303  # not on before a code confirms it
        bad = post_form(zoe, "/settings/totp", "/settings/totp/confirm",
                        {"code": wrong_code(new_secret)})
        assert bad.status_code == 422 and "incorrect ou trop ancien" in bad.text
        empty = post_form(zoe, "/settings/totp", "/settings/totp/confirm", {"code": ""})
        assert empty.status_code == 422 and "Tapez le code" in empty.text
        assert totp_state(hub, "zoe") == (True, False)
        first = pyotp.TOTP(new_secret).now()
        on = post_form(zoe, "/settings/totp", "/settings/totp/confirm", {"code": first})
        assert on.status_code == 303 and on.headers["location"] == "/settings/totp?saved=on"
        assert totp_state(hub, "zoe") == (True, True)
        assert zoe.get("/console").status_code == 200
        # Turning it off needs the password and a fresh code.
        no_password = post_form(zoe, "/settings/totp", "/settings/totp/disable",
                                {"password": "nope", "code": code_next(new_secret)})
        assert no_password.status_code == 422 and "mot de passe actuel" in no_password.text
        replayed = post_form(zoe, "/settings/totp", "/settings/totp/disable",
                             {"password": hub.passwords["zoe"], "code": first})
        assert replayed.status_code == 422 and "déjà servi" in replayed.text
        off = post_form(zoe, "/settings/totp", "/settings/totp/disable",
                        {"password": hub.passwords["zoe"], "code": code_next(new_secret)})
        assert off.status_code == 303 and off.headers["location"] == "/settings/totp?saved=off"
        assert totp_state(hub, "zoe") == (False, False)
        assert zoe.get("/console").status_code == 303
    assert query(hub, lambda s: s.scalar(select(User.totp_secret).where(
        User.role == "moderator"))) is None
