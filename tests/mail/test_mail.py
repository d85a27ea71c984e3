"""Mail against a real ``voisins serve`` and a real SMTP server (aiosmtpd) on loopback:
invitation, confirmation at sign-up, password reset end to end, the recipient's language,
mail waiting while the SMTP server is down, and no user enumeration on reset."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import httpx
from mail_helpers import (
    Inbox,
    body_of,
    link_in,
    mail_hub,
    post_page_form,
    site_login,
    sql,
    start_smtp,
)
from support.hubs import HubProcess, free_port, wait_for

from fedi.mail.retry import gives_up, retry_delay


def _token(hub: HubProcess, name: str) -> dict[str, str]:
    app = httpx.post(f"{hub.base}/api/v1/apps", data={
        "client_name": "t", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
        "scopes": "read write"}).json()
    token = httpx.post(f"{hub.base}/oauth/token", data={
        "grant_type": "password", "client_id": app["client_id"],
        "client_secret": app["client_secret"], "username": f"{name}@{hub.host}.test",
        "password": hub.passwords[name], "scope": "read write"}).json()
    return {"Authorization": f"Bearer {token['access_token']}"}


def _forgot(client: httpx.Client, address: str) -> httpx.Response:
    return post_page_form(client, "/password/forgot", "/password/forgot", {"email": address})


def test_retry_policy_doubles_up_to_the_cap_and_gives_up() -> None:
    assert [retry_delay(n, 10, 60) for n in (1, 2, 3, 4, 5, 99)] == [10, 20, 40, 60, 60, 60]
    assert not gives_up(3, 40, permanent=False) and gives_up(40, 40, permanent=False)
    assert gives_up(1, 40, permanent=True)


def test_password_reset_end_to_end(make_hub: Callable[..., HubProcess], db_backend: str,
                                   smtp: tuple[int, Inbox]) -> None:
    port, inbox = smtp
    hub = mail_hub(make_hub, port, db_backend)
    bob = f"bob@{hub.host}.test"
    api = _token(hub, "bob")
    assert httpx.get(f"{hub.base}/api/v1/accounts/verify_credentials", headers=api).status_code == 200
    with httpx.Client(base_url=hub.base) as other, httpx.Client(base_url=hub.base) as client:
        assert site_login(other, "bob", hub.passwords["bob"]).status_code == 303
        assert other.get("/settings").status_code == 200
        login_page = client.get("/login")
        assert 'href="/password/forgot"' in login_page.text
        asked = _forgot(client, bob)
        assert asked.status_code == 303 and asked.headers["location"] == "/password/forgot?sent=1"
        mail = wait_for(lambda: inbox.to(bob), what="the reset mail")[0]
        # Bob chose English: the message is in English, text and HTML
        assert mail["Subject"] == "Reset your password on mail"
        assert "works once, for one hour" in body_of(mail)
        assert "<a href=" in body_of(mail, "html") and mail["Content-Language"] == "en"
        link = link_in(mail, "/password/reset/")
        path = link.split(hub.domain, 1)[1]
        form = client.get(path)
        assert form.status_code == 200 and 'name="confirmation"' in form.text
        short = post_page_form(client, path, path, {"password": "short", "confirmation": "short"})
        assert short.status_code == 422
        done = post_page_form(client, path, path, {"password": "a-brand-new-password",
                                                   "confirmation": "a-brand-new-password"})
        assert done.status_code == 200, done.text[:500]
        # the link works once
        assert client.get(path).status_code == 404
        again = client.post(path, data={"password": "another-password-1",
                                        "confirmation": "another-password-1",
                                        "csrf_token": "x"})
        assert again.status_code in (403, 404)
        # the other browser is logged out, the API token revoked, the old password refused
        assert other.get("/settings").status_code == 303
        assert httpx.get(f"{hub.base}/api/v1/accounts/verify_credentials",
                         headers=api).status_code == 401
    with httpx.Client(base_url=hub.base) as fresh:
        assert site_login(fresh, "bob", hub.passwords["bob"]).status_code == 401
    with httpx.Client(base_url=hub.base) as fresh:
        assert site_login(fresh, "bob", "a-brand-new-password").status_code == 303
    rows = sql(hub, "SELECT token_hash FROM mail_tokens WHERE purpose = 'reset'")
    assert rows and all(len(r[0]) == 64 and r[0] not in link for r in rows)


def test_invitation_then_signup_confirmation_in_the_recipients_language(
        make_hub: Callable[..., HubProcess], smtp: tuple[int, Inbox]) -> None:
    port, inbox = smtp
    hub = mail_hub(make_hub, port)
    nina = "nina@example.org"
    with httpx.Client(base_url=hub.base) as alice:
        assert site_login(alice, "alice", hub.passwords["alice"]).status_code == 303
        bad = post_page_form(alice, "/invitations", "/invitations",
                             {"uses": "1", "days": "14", "note": "", "email": "not-an-address",
                              "lang": "en"})
        assert bad.status_code == 422
        made = post_page_form(alice, "/invitations", "/invitations",
                              {"uses": "1", "days": "14", "note": "private note",
                               "email": nina, "lang": "en"})
        assert made.status_code == 303, made.text[:300]
        assert nina in alice.get(made.headers["location"]).text
    invitation = wait_for(lambda: inbox.to(nina), what="the invitation")[0]
    assert invitation["Subject"] == "alice invites you to join mail"
    assert "private note" not in body_of(invitation)
    link = link_in(invitation, "/invite/")
    code = link.split("/invite/", 1)[1].split("?", 1)[0]
    with httpx.Client(base_url=hub.base) as browser:
        assert browser.get(link).status_code == 200
        done = browser.post(f"/invite/{code}?lang=en", data={
            "display_name": "Nina", "username": "nina", "email": nina,
            "password": "nina-password-1", "trade": "plombier", "business_name": "",
            "postal_code": "75011", "relation": "lives", "lang": "en", "agreement": "on"})
        assert done.status_code == 200, done.text[:500]
        confirm = wait_for(lambda: [m for m in inbox.to(nina) if "/email/confirm/" in
                                    body_of(m)], what="the confirmation mail")[0]
        assert confirm["Subject"] == "Confirm your email address on mail"
        path = link_in(confirm, "/email/confirm/").split(hub.domain, 1)[1]
        assert sql(hub, "SELECT email_confirmed_at FROM users WHERE email = :e", e=nina) == [(None,)]
        assert browser.get(path).status_code == 200
        assert sql(hub, "SELECT email_confirmed_at FROM users WHERE email = :e", e=nina)[0][0]
        assert browser.get(path).status_code == 404  # once
    # a French recipient gets French
    with httpx.Client(base_url=hub.base) as client:
        _forgot(client, f"alice@{hub.host}.test")
    french = wait_for(lambda: inbox.to(f"alice@{hub.host}.test"), what="alice's mail")[0]
    assert french["Subject"] == "Réinitialisez votre mot de passe sur mail"
    assert "une heure" in body_of(french)


def test_mail_waits_while_smtp_is_down_and_goes_out_once_it_is_back(
        make_hub: Callable[..., HubProcess]) -> None:
    port = free_port("127.0.0.1")
    hub = mail_hub(make_hub, port)  # nothing listens on the SMTP port yet
    addresses = [f"alice@{hub.host}.test", f"bob@{hub.host}.test"]
    with httpx.Client(base_url=hub.base) as client:
        for address in addresses:
            assert _forgot(client, address).status_code == 303

    def tried() -> bool:
        rows = sql(hub, "SELECT attempts, status, last_error FROM outgoing_mail")
        return len(rows) == 2 and all(r[0] >= 2 and r[1] == "pending" and r[2] for r in rows)

    wait_for(tried, what="failed attempts to be recorded")
    listing = hub.cli("mail", "list").stdout
    assert all(a in listing for a in addresses) and "/password/reset/" in listing
    inbox = Inbox()
    controller = start_smtp(port, inbox)
    try:
        wait_for(lambda: all(inbox.to(a) for a in addresses), what="the mail to go out")
        wait_for(lambda: sql(hub, "SELECT count(*) FROM outgoing_mail WHERE status = 'sent'")
                 == [(2,)], what="both marked sent")
        assert len(inbox.messages) == 2
        assert "no mail waiting" in hub.cli("mail", "list").stdout
    finally:
        controller.stop()


def test_without_email_settings_mail_waits_for_the_admin(
        make_hub: Callable[..., HubProcess]) -> None:
    hub = make_hub("nomail")
    hub.add_user("alice", role="admin")
    hub.start()
    with httpx.Client(base_url=hub.base) as client:
        assert _forgot(client, f"alice@{hub.host}.test").status_code == 303
    listing = hub.cli("mail", "list").stdout
    assert f"alice@{hub.host}.test" in listing
    link = next(line.strip() for line in listing.splitlines() if "/password/reset/" in line)
    with httpx.Client(base_url=hub.base) as client:
        assert client.get(link.split(hub.domain, 1)[1]).status_code == 200


def test_reset_does_not_tell_whether_an_address_is_registered(
        make_hub: Callable[..., HubProcess], smtp: tuple[int, Inbox]) -> None:
    port, inbox = smtp
    hub = mail_hub(make_hub, port)
    known, unknown = f"alice@{hub.host}.test", "nobody-here@example.org"
    timings: dict[str, list[float]] = {known: [], unknown: []}
    answers: dict[str, set[tuple[int, str, bytes]]] = {known: set(), unknown: set()}
    with httpx.Client(base_url=hub.base) as client:
        _forgot(client, "warm-up@example.org")
        for _round in range(4):
            for address in (known, unknown):
                page = client.get("/password/forgot")
                token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
                start = time.perf_counter()
                answer = client.post("/password/forgot", data={"email": address,
                                                               "csrf_token": token})
                timings[address].append(time.perf_counter() - start)
                answers[address].add((answer.status_code, answer.headers.get("location", ""),
                                      answer.content))
        assert answers[known] == answers[unknown] and len(answers[known]) == 1
        # the per-address limit answers the same way for both, too
        first = {_forgot(client, a).status_code for a in (known, unknown)}
        limited = {_forgot(client, a).status_code for a in (known, unknown)}
        assert first == {303} and limited == {429}
    fast, slow = sorted((statistics.median(timings[known]), statistics.median(timings[unknown])))
    assert slow < fast * 4 + 0.05, timings
    wait_for(lambda: len(inbox.to(known)) == 5, what="the known member's mails")
    assert inbox.to(unknown) == []


def test_applications_are_acknowledged_then_approved_or_refused_by_mail(
        make_hub: Callable[..., HubProcess], smtp: tuple[int, Inbox]) -> None:
    port, inbox = smtp
    hub = mail_hub(make_hub, port)
    hub.cli("settings", "set", "registration_mode", "approval")
    code = hub.cli("invites", "create").stdout.split("/invite/", 1)[1].split()[0]
    two = hub.cli("invites", "create").stdout.split("/invite/", 1)[1].split()[0]
    for invite, name, lang, trade in ((code, "nina", "en", "plombier"),
                                      (two, "remi", "fr", "avocat")):
        done = httpx.post(f"{hub.base}/invite/{invite}?lang={lang}", data={
            "display_name": name, "username": name, "email": f"{name}@example.org",
            "password": "a-long-password", "trade": trade, "business_name": "",
            "postal_code": "75011", "relation": "lives", "lang": lang, "agreement": "on"})
        assert done.status_code == 200, done.text[:300]
    received = wait_for(lambda: inbox.to("nina@example.org"), what="the acknowledgement")[0]
    assert received["Subject"] == "Your application to mail has been received"
    status = link_in(received, "/signup/status/")
    assert httpx.get(status).status_code == 200
    remi = wait_for(lambda: inbox.to("remi@example.org"), what="remi's acknowledgement")[0]
    assert remi["Subject"] == "Votre demande d'adhésion à mail est bien reçue"
    hub.cli("applications", "approve", "nina")
    hub.cli("applications", "refuse", "remi", "--reason", "Hors du quartier")
    subjects = wait_for(lambda: {m["Subject"] for m in inbox.to("nina@example.org")}
                        if len(inbox.to("nina@example.org")) == 3 else None,
                        what="the approval and the confirmation")
    assert {"Welcome to mail: your application is approved",
            "Confirm your email address on mail"} <= subjects
    refused = wait_for(lambda: inbox.to("remi@example.org")[1:], what="the refusal")[0]
    assert refused["Subject"] == "Votre demande d'adhésion à mail"
    assert "Hors du quartier" in body_of(refused)
