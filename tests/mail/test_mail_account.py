"""Mail about a member's own account, against a real ``voisins serve`` and a real SMTP
server (aiosmtpd): changing the email address from the settings (link to the new address,
notice to the old one, no enumeration), a sign-in from an unknown browser or app, and event
reminders by mail for members who ask for them."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
from mail_helpers import (
    Inbox,
    body_of,
    email_config,
    link_in,
    post_page_form,
    site_login,
    sql,
    start_smtp,
)
from support.hubs import HubProcess, free_port, wait_for


@pytest.fixture
def smtp() -> Iterator[tuple[int, Inbox]]:
    port = free_port("127.0.0.1")
    inbox = Inbox()
    controller = start_smtp(port, inbox)
    yield port, inbox
    controller.stop()


def _hub(make_hub: Callable[..., HubProcess], port: int, backend: str = "sqlite") -> HubProcess:
    hub = make_hub("mail", backend=backend, extra_config=email_config(port))
    hub.add_user("alice", role="admin")
    hub.add_user("bob")
    sql(hub, "UPDATE users SET locale = 'en' WHERE email LIKE 'bob@%'")
    hub.start()
    return hub


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
    hub = _hub(make_hub, port, db_backend)
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
    hub = _hub(make_hub, port)
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

