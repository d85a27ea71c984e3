"""Mail about a member's own account, against a real ``voisins serve`` and a real SMTP
server (aiosmtpd): changing the email address from the settings (link to the new address,
notice to the old one, no enumeration), a sign-in from an unknown browser or app, and event
reminders by mail for the members who ask for them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import httpx
from mail_helpers import (
    Inbox,
    body_of,
    email_config,
    link_in,
    mail_hub,
    post_page_form,
    site_login,
    sql,
)
from support.hubs import HubProcess, wait_for


def _email_of(hub: HubProcess, name: str) -> str:
    rows = sql(hub, "SELECT u.email FROM users u JOIN actors a ON a.id = u.actor_id "
                    "WHERE a.username = :name AND a.local", name=name)
    return str(rows[0][0])


def _ask(client: httpx.Client, address: str, password: str) -> httpx.Response:
    return post_page_form(client, "/settings", "/settings/email",
                          {"email": address, "password": password})


def test_change_of_email_end_to_end(make_hub: Callable[..., HubProcess], db_backend: str,
                                    smtp: tuple[int, Inbox]) -> None:
    port, inbox = smtp
    hub = mail_hub(make_hub, port, db_backend)
    old, new = f"bob@{hub.host}.test", "bob.new@example.org"
    alice = f"alice@{hub.host}.test"
    with httpx.Client(base_url=hub.base) as client:
        assert site_login(client, "bob", hub.passwords["bob"]).status_code == 303
        assert "/settings/email" in client.get("/settings").text
        # a wrong password: the form again, nothing changed, nothing mailed
        wrong = _ask(client, new, "not-the-password")
        assert wrong.status_code == 422 and 'action="/settings/email"' in wrong.text
        bad = _ask(client, "not an address", hub.passwords["bob"])
        assert bad.status_code == 422
        # an address another member uses: the same answer as a free one, nothing changes
        taken = _ask(client, alice.upper(), hub.passwords["bob"])
        asked = _ask(client, new, hub.passwords["bob"])
        assert taken.status_code == asked.status_code == 303
        assert taken.headers["location"] == asked.headers["location"] == "/settings?saved=email#email"
        page = client.get(asked.headers["location"])
        assert "If this address can be used" in page.text
        link_mail = wait_for(lambda: inbox.to(new), what="the link to the new address")[0]
        notices = wait_for(lambda: inbox.to(old) if len(inbox.to(old)) >= 2 else [],
                           what="two notices to the old address")
        assert _email_of(hub, "bob") == old  # not before the link is opened
        # Bob reads English: the link and the notice are in English
        assert link_mail["Subject"] == "Confirm your new email address on mail"
        assert "24 hours" in body_of(link_mail) and link_mail["Content-Language"] == "en"
        link = link_in(link_mail, "/email/change/")
        for notice in notices:
            assert notice["Subject"] == "A change of your email address on mail was asked"
            assert "/email/change/" not in body_of(notice)
            assert "/email/change/" not in body_of(notice, "html")
        assert inbox.to(alice) == [] and inbox.to(alice.upper()) == []
        path = link.split(hub.domain, 1)[1]
        opened = client.get(path)
        assert opened.status_code == 200 and "Email address changed" in opened.text
        assert _email_of(hub, "bob") == new
        assert client.get(path).status_code == 404  # once only
        assert _email_of(hub, alice.split("@")[0]) == alice
    with httpx.Client(base_url=hub.base) as fresh:
        assert site_login(fresh, new, hub.passwords["bob"]).status_code == 303
    with httpx.Client(base_url=hub.base) as fresh:
        assert site_login(fresh, old, hub.passwords["bob"]).status_code == 401


def test_a_newer_change_ends_the_earlier_link_and_french_by_default(
        make_hub: Callable[..., HubProcess], smtp: tuple[int, Inbox]) -> None:
    port, inbox = smtp
    hub = mail_hub(make_hub, port)
    with httpx.Client(base_url=hub.base) as client:
        assert site_login(client, "alice", hub.passwords["alice"]).status_code == 303
        assert _ask(client, "first@example.org", hub.passwords["alice"]).status_code == 303
        first = wait_for(lambda: inbox.to("first@example.org"), what="first link")[0]
        assert _ask(client, "second@example.org", hub.passwords["alice"]).status_code == 303
        second = wait_for(lambda: inbox.to("second@example.org"), what="second link")[0]
        assert second["Subject"] == "Confirmez votre nouvelle adresse e-mail sur mail"
        old_path = link_in(first, "/email/change/").split(hub.domain, 1)[1]
        assert client.get(old_path).status_code == 404
        new_path = link_in(second, "/email/change/").split(hub.domain, 1)[1]
        assert client.get(new_path).status_code == 200
    assert _email_of(hub, "alice") == "second@example.org"


def _login_as(hub: HubProcess, name: str, browser: str) -> None:
    with httpx.Client(base_url=hub.base, headers={"User-Agent": browser}) as client:
        assert site_login(client, name, hub.passwords[name]).status_code == 303


def _app_token(hub: HubProcess, name: str, app: str) -> dict[str, str]:
    made = httpx.post(f"{hub.base}/api/v1/apps", data={
        "client_name": app, "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
        "scopes": "read write"}).json()
    return _password_grant(hub, name, made)


def _password_grant(hub: HubProcess, name: str, app: dict[str, str]) -> dict[str, str]:
    token = httpx.post(f"{hub.base}/oauth/token", headers={"User-Agent": "Browser-A"}, data={
        "grant_type": "password", "client_id": app["client_id"],
        "client_secret": app["client_secret"], "username": f"{name}@{hub.host}.test",
        "password": hub.passwords[name], "scope": "read write"}).json()
    return {"Authorization": f"Bearer {token['access_token']}"}


def _new_logins(inbox: Inbox, address: str) -> list[EmailMessage]:
    return [m for m in inbox.to(address) if "new sign-in" in str(m["Subject"]).lower()
            or "nouvelle connexion" in str(m["Subject"]).lower()]


def test_a_sign_in_from_a_new_browser_or_app_is_mailed_once(
        make_hub: Callable[..., HubProcess], smtp: tuple[int, Inbox]) -> None:
    port, inbox = smtp
    hub = mail_hub(make_hub, port)
    bob, alice = f"bob@{hub.host}.test", f"alice@{hub.host}.test"
    _login_as(hub, "bob", "Browser-A")  # the first sign-in of the account: nothing to tell
    _login_as(hub, "bob", "Browser-B")
    mail = wait_for(lambda: _new_logins(inbox, bob), what="the new sign-in mail")[0]
    assert mail["Subject"] == "A new sign-in to your account on mail"  # Bob reads English
    text = body_of(mail)
    assert "Browser-B" in text and "127.0.0.1" in text and " UTC" in text
    assert link_in(mail, "/settings").endswith("/settings#password")
    assert "Browser-B" in body_of(mail, "html")
    _login_as(hub, "bob", "Browser-B")  # the same browser again: no mail
    _login_as(hub, "bob", "Browser-A")
    # an app never authorized, from a known browser: told, with the app's name
    headers = _app_token(hub, "bob", "Appli Inconnue")
    assert httpx.get(f"{hub.base}/api/v1/accounts/verify_credentials",
                     headers=headers).status_code == 200
    app_mail = wait_for(lambda: _new_logins(inbox, bob)[1:], what="the new app mail")[0]
    assert "Appli Inconnue" in body_of(app_mail)
    _login_as(hub, "bob", "Browser-C")  # a marker: its mail comes after any earlier one
    wait_for(lambda: len(_new_logins(inbox, bob)) >= 3, what="the marker mail")
    assert ["Browser-C" in body_of(m) for m in _new_logins(inbox, bob)] == [False, False, True]
    assert len(sql(hub, "SELECT id FROM outgoing_mail WHERE kind = 'new_login'")) == 3
    # Alice reads French
    _login_as(hub, "alice", "Browser-A")
    _login_as(hub, "alice", "Browser-Z")
    french = wait_for(lambda: _new_logins(inbox, alice), what="Alice's mail")[0]
    assert french["Subject"] == "Nouvelle connexion à votre compte sur mail"


def test_event_reminders_by_mail_only_for_members_who_asked(
        make_hub: Callable[..., HubProcess], smtp: tuple[int, Inbox]) -> None:
    port, inbox = smtp
    hub = make_hub("mail", extra_config=email_config(port)
                   + "\n[events]\nreminder_interval = 0.2\n")
    for name in ("alice", "bob", "carol", "dave"):
        hub.add_user(name)
    sql(hub, "UPDATE users SET locale = 'en' WHERE email LIKE 'bob@%'")
    hub.start()
    bob, carol, dave = (f"{n}@{hub.host}.test" for n in ("bob", "carol", "dave"))
    for name, wanted in (("bob", True), ("dave", True), ("dave", False)):
        with httpx.Client(base_url=hub.base) as client:
            assert site_login(client, name, hub.passwords[name]).status_code == 303
            page = client.get("/settings")
            assert 'name="remind_by_email"' in page.text
            assert ('name="remind_by_email" value="on" checked' in page.text) is (name == "dave"
                                                                                 and not wanted)
            saved = post_page_form(client, "/settings", "/settings/reminders",
                                   {"remind_by_email": "on"} if wanted else {})
            assert saved.status_code == 303
            checked = 'name="remind_by_email" value="on" checked' in client.get("/settings").text
            assert checked is wanted
    tokens = {n: _app_token(hub, n, "Agenda") for n in ("alice", "bob", "carol", "dave")}
    later = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    made = httpx.post(f"{hub.base}/api/v1/events", headers=tokens["alice"], json={
        "title": "Repair café", "description": "Bring a toaster.", "start_time": later,
        "place": {"name": "Salle des fêtes", "locality": "Paris"}, "visibility": "public"})
    assert made.status_code == 200, made.text
    event_id = made.json()["id"]
    for name in ("bob", "carol", "dave"):
        joined = httpx.post(f"{hub.base}/api/v1/events/{event_id}/join", headers=tokens[name])
        assert joined.status_code == 200, joined.text
    soon = (datetime.now(UTC) + timedelta(hours=20)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    moved = httpx.put(f"{hub.base}/api/v1/events/{event_id}", headers=tokens["alice"],
                      json={"start_time": soon})
    assert moved.status_code == 200, moved.text

    def reminders(address: str) -> list[EmailMessage]:
        return [m for m in inbox.to(address) if "Repair café" in str(m["Subject"])]

    mail = wait_for(lambda: reminders(bob), what="Bob's reminder")[0]
    assert mail["Subject"] == "Reminder: Repair café"
    text = body_of(mail)
    assert "Salle des fêtes" in text and f"/events/{event_id}" in text and "Europe/Paris" in text
    # queued in the same transaction as Bob's: none for Carol (never asked) nor Dave (stopped)
    queued = sql(hub, "SELECT recipient FROM outgoing_mail WHERE kind = 'event_reminder'")
    assert [row[0] for row in queued] == [bob]
    assert reminders(carol) == [] and reminders(dave) == []
