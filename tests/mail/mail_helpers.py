"""A real SMTP server for the mail tests (aiosmtpd on loopback), and small HTTP helpers."""

from __future__ import annotations

import email
import re
import threading
from collections.abc import Callable
from email.message import EmailMessage
from email.policy import default
from typing import Any

import httpx
from aiosmtpd.controller import Controller
from sqlalchemy import text
from support.hubs import HubProcess

from fedi.db import make_engine

CSRF_RE = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
LINK_RE = re.compile(r"https?://\S+")


class Inbox:
    """Every message the SMTP server accepted."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=default)
        with self.lock:
            self.messages.append(message)  # type: ignore[arg-type]
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if m["To"] == address]


def start_smtp(port: int, inbox: Inbox) -> Controller:
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller


def email_config(port: int) -> str:
    return ("\n[email]\n"
            'host = "127.0.0.1"\n'
            f"port = {port}\n"
            'security = "none"\n'
            'from = "Voisins <hub@voisins.test>"\n'
            "interval = 0.2\n"
            "retry_base = 0.2\n"
            "retry_cap = 0.5\n"
            "timeout = 5\n")


def body_of(message: EmailMessage, subtype: str = "plain") -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None, message
    return str(part.get_content())


def link_in(message: EmailMessage, path: str) -> str:
    links = [link for link in LINK_RE.findall(body_of(message)) if path in link]
    assert links, body_of(message)
    return str(links[0])


def csrf_of(page: httpx.Response) -> str:
    match = CSRF_RE.search(page.text)
    assert match, page.text[:2000]
    return match.group(1)


def post_page_form(client: httpx.Client, page: str, action: str, data: dict[str, str]
                   ) -> httpx.Response:
    form = client.get(page)
    assert form.status_code == 200, form.text[:500]
    return client.post(action, data={**data, "csrf_token": csrf_of(form)})


def site_login(client: httpx.Client, login: str, password: str) -> httpx.Response:
    return post_page_form(client, "/login", "/login",
                          {"login": login, "password": password, "next": "/settings"})


def sql(hub: HubProcess, query: str, **params: Any) -> list[Any]:
    engine = make_engine(hub.settings().database_url)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(query), params)
            return list(result.fetchall()) if result.returns_rows else []
    finally:
        engine.dispose()


def mail_hub(make_hub: Callable[..., HubProcess], port: int,
             backend: str = "sqlite") -> HubProcess:
    """A started hub mailing through ``port``: alice (admin, French), bob (English)."""
    hub = make_hub("mail", backend=backend, extra_config=email_config(port))
    hub.add_user("alice", role="admin")
    hub.add_user("bob")
    sql(hub, "UPDATE users SET locale = 'en' WHERE email LIKE 'bob@%'")
    hub.start()
    return hub
