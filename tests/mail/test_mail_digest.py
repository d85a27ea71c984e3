"""The weekly digest (« Recevoir le résumé hebdomadaire du hub »), on SQLite and PostgreSQL:
a member ticks the box on the real settings page; the digest job queues one mail for her,
which the mail sender hands to a real SMTP server (aiosmtpd on loopback). It lists the new
members, the coming event and the posts she may see, never a followers-only post of
someone she does not follow; a second pass the same week sends nothing; a member who did
not tick the box gets nothing, though the same posts are there for him."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import httpx
from api.apiworld import LINKED, ApiWorld
from mail_helpers import (
    Inbox,
    body_of,
    email_config,
    post_page_form,
    site_login,
    sql,
)
from support.hubs import HubProcess, wait_for

from fedi.db import utcnow
from fedi.mail.sender import MailSender
from fedi.mail.settings import mail_settings
from fedi.mail.transport import SmtpTransport
from fedi.models import Actor, OutgoingMail, User
from fedi.peers import Peers
from fedi.services.digest import Digests
from fedi.services.events import create_event


def email_options(port: int) -> dict[str, object]:
    return {"email": {"host": "127.0.0.1", "port": port, "security": "none",
                      "from": "Voisins <hub@voisins.test>", "timeout": 5}}


def test_weekly_digest_goes_once_to_members_who_opted_in(database_url: str,
                                                         smtp: tuple[int, Inbox]) -> None:
    port, inbox = smtp
    world = ApiWorld(database_url, extra=email_options(port))
    try:
        alice, bob, carol, dave, erin = (world.member(p) for p in
                                         ("alice", "bob", "carol", "dave", "erin"))
        world.follow(alice, erin)
        world.follow(bob, dave)
        world.post(carol, "Vide-grenier rue Oberkampf", "hub")
        world.post(dave, "Le code de la porte est 1234", "followers")
        world.post(erin, "Atelier vélo pour mes abonnés", "followers")
        neighbour = world.remote("ines", LINKED)
        world.remote_status(neighbour, "Concert au square du quartier voisin", "neighbourhood")
        world.remote_status(neighbour, "Réservé à mes abonnés du hub voisin", "followers")
        with world.session() as s:
            create_event(s, world.ctx(), s.get(Actor, carol.actor_id), {
                "title": "Repas de quartier",
                "start_time": (utcnow() + timedelta(days=3)).isoformat()}, "hub")
            s.get(User, alice.user_id).locale = "fr"
            s.get(User, bob.user_id).locale = "fr"

        # Alice ticks the box on the settings page; Bob leaves it as it is (off).
        assert site_login(world.client, alice.username, alice.password).status_code in (200, 303)
        page = world.client.get("/settings")
        assert "Recevoir le résumé hebdomadaire du hub" in page.text
        assert 'name="digest" value="on" checked' not in page.text
        form = world.client.post("/settings/digest", data={
            "digest": "on", "csrf_token": page.text.split('name="csrf_token" value="')[1]
            .split('"')[0]}, follow_redirects=False)
        assert form.status_code == 303, form.text[:300]
        assert 'name="digest" value="on" checked' in world.client.get("/settings").text

        with world.session() as s:  # the sign-in above, from a browser new to alice, was
            # told to her by mail: not this test's subject
            assert [m.kind for m in s.query(OutgoingMail).all()] == ["new_login"]
            s.query(OutgoingMail).delete()
        peers = Peers(world.settings, world.sessions)
        job = Digests(world.sessions, world.settings, peers.is_linked)
        options = mail_settings(world.settings.extra)
        assert options is not None
        sender = MailSender(world.sessions, options, SmtpTransport(options))
        assert job.run_once() == 1
        assert sender.run_once() == 1

        assert [m["To"] for m in inbox.messages] == [alice.email]
        mail = inbox.messages[0]
        assert mail["Subject"] == "Cette semaine sur Voisins du 11e"
        text, html = body_of(mail), body_of(mail, "html")
        for expected in ("Nouveaux membres", f"@{bob.username}", "Repas de quartier",
                         "Vide-grenier rue Oberkampf", "Atelier vélo pour mes abonnés",
                         "Concert au square du quartier voisin"):
            assert expected in text, (expected, text)
        assert "Repas de quartier" in html and "Vide-grenier" in html
        for hidden in ("Le code de la porte", "Réservé à mes abonnés"):
            assert hidden not in text and hidden not in html

        # The same week: nothing more, even after a restart (a new job object).
        again = Digests(world.sessions, world.settings, peers.is_linked)
        assert again.run_once() == 0
        assert sender.run_once() == 0
        assert len(inbox.messages) == 1
        with world.session() as s:
            kinds = [m.kind for m in s.query(OutgoingMail).all()]
            assert kinds.count("digest") == 1
            assert s.get(User, alice.user_id).digest_sent_at is not None
            assert s.get(User, bob.user_id).digest_sent_at is None

        # A week later Alice is due again (her week since then was quiet: nothing goes).
        later = Digests(world.sessions, world.settings, peers.is_linked,
                        clock=lambda: utcnow() + timedelta(days=7, minutes=1))
        assert later.run_once() == 0
        with world.session() as s:
            assert s.get(User, alice.user_id).digest_sent_at > utcnow() + timedelta(days=6)
    finally:
        world.close()


def test_a_quiet_week_sends_nothing(database_url: str, smtp: tuple[int, Inbox]) -> None:
    port, inbox = smtp
    world = ApiWorld(database_url, extra=email_options(port))
    try:
        quiet = world.member("quiet")
        peers = Peers(world.settings, world.sessions)
        with world.session() as s:
            s.get(User, quiet.user_id).digest_opt_in = True
        job = Digests(world.sessions, world.settings, peers.is_linked)
        assert job.run_once() == 0
        options = mail_settings(world.settings.extra)
        assert options is not None
        assert MailSender(world.sessions, options, SmtpTransport(options)).run_once() == 0
        assert inbox.messages == []
        with world.session() as s:
            assert s.query(OutgoingMail).count() == 0
            assert s.get(User, quiet.user_id).digest_sent_at is not None
    finally:
        world.close()


def test_serve_mails_the_digest_after_a_member_opts_in(make_hub: Callable[..., HubProcess],
                                                       smtp: tuple[int, Inbox]) -> None:
    """The same through a real ``voisins serve``: its worker runs the digest job."""
    port, inbox = smtp
    hub = make_hub("digest", extra_config=email_config(port) + "\n[digest]\ninterval = 0.3\n")
    for name in ("alice", "bob", "carol"):
        hub.add_user(name)
    hub.start()
    carol = api_token(hub, "carol")
    for text, audience in (("Troc de graines samedi", "unlisted"),
                           ("Pour mes abonnés seulement", "private")):
        answer = httpx.post(f"{hub.base}/api/v1/statuses", headers=carol,
                            json={"status": text, "visibility": audience})
        assert answer.status_code == 200, answer.text[:300]
    with httpx.Client(base_url=hub.base) as client:
        assert site_login(client, "alice", hub.passwords["alice"]).status_code in (200, 303)
        answer = post_page_form(client, "/settings", "/settings/digest", {"digest": "on"})
        assert answer.status_code in (200, 303), answer.text[:300]
    address = sql(hub, "SELECT email FROM users WHERE digest_opt_in = :yes", yes=True)[0][0]
    mail = wait_for(lambda: inbox.to(address), what="the digest")[0]
    text = body_of(mail)
    assert "Troc de graines samedi" in text and "@bob" in text
    assert "Pour mes abonnés seulement" not in text
    assert [m["To"] for m in inbox.messages] == [address]


def api_token(hub: HubProcess, name: str) -> dict[str, str]:
    app = httpx.post(f"{hub.base}/api/v1/apps", data={
        "client_name": "t", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
        "scopes": "read write"}).json()
    token = httpx.post(f"{hub.base}/oauth/token", data={
        "grant_type": "password", "client_id": app["client_id"],
        "client_secret": app["client_secret"], "username": f"{name}@{hub.host}.test",
        "password": hub.passwords[name], "scope": "read write"}).json()
    return {"Authorization": f"Bearer {token['access_token']}"}
