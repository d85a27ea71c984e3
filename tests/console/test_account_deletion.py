"""Deleting an account, over real HTTP between two linked hubs: a member with posts, followed
from the linked hub, deletes their account from the site's settings (password, CSRF); their
profile and posts are gone on both hubs, their token gets 401, their username cannot be
registered again (API sign-up, invitation form, command line). A wrong password changes
nothing. An admin deletes a member from the console (confirmation, audit log), with a grace
period the privacy job honours; login records are kept 30 days."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from console_world import console_post, logged_in
from site_http import csrf_of, login, post_form
from sqlalchemy import func, select
from support.hubs import HubProcess, wait_for
from support.world import hub_session, query

from fedi.db import make_engine, make_sessionmaker, utcnow
from fedi.ids import new_id
from fedi.models import (
    AccountDeletion,
    Actor,
    AuditEntry,
    Follow,
    LoginRecord,
    OAuthToken,
    OutgoingMail,
    Sponsorship,
    Status,
    User,
    WebSession,
)
from fedi.services import invites
from fedi.services.hub_settings import set_setting
from fedi.services.invites import user_by_username
from fedi.services.privacy_job import PrivacyJob
from fedi.services.retention import prune_logins, record_login

pytestmark = pytest.mark.multihub


class Api:
    """A member's token on their hub (password grant, as apps do)."""

    def __init__(self, hub: HubProcess, name: str) -> None:
        self.base = hub.base
        app = httpx.post(f"{hub.base}/api/v1/apps", data={
            "client_name": "t", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
            "scopes": "read write follow"}).json()
        token = httpx.post(f"{hub.base}/oauth/token", data={
            "grant_type": "password", "client_id": app["client_id"],
            "client_secret": app["client_secret"], "username": name,
            "password": hub.passwords[name], "scope": "read write follow"},
            headers={"User-Agent": "Tusky/25"}).json()
        self.headers = {"Authorization": f"Bearer {token['access_token']}"}

    def call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return httpx.request(method, self.base + path, headers=self.headers, timeout=20, **kw)

    def get(self, path: str, **params: Any) -> Any:
        r = self.call("GET", path, params=params)
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
        return r.json()

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        r = self.call("POST", path, json=body or {})
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
        return r.json()


def link_by_config(hub: HubProcess, other: HubProcess) -> None:
    """Linked from the start (``federation.neighbours``): no handshake to wait for."""
    text = hub.config_path.read_text(encoding="utf-8")
    assert "neighbours = []" in text
    hub.config_path.write_text(text.replace("neighbours = []",
                                            f'neighbours = ["{other.domain}"]'), encoding="utf-8")


def secrets_in(statuses: list[dict[str, Any]]) -> set[str]:
    return {w for s in statuses for w in ("secretNB", "secretFOL") if w in s["content"]}


def statuses_of(hub: HubProcess, uri: str) -> int:
    return int(query(hub, lambda s: s.scalar(select(func.count()).select_from(Status).join(
        Actor, Actor.id == Status.actor_id).where(Actor.uri == uri))))


def french_cli(hub: HubProcess, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("VOISINS_", "LC_"))},
           "LANG": "fr_FR.UTF-8"}
    return subprocess.run([sys.executable, "-m", "fedi.cli", "--config", str(hub.config_path),
                           *args], capture_output=True, text=True, env=env, cwd=hub.workdir,
                          timeout=120, check=False)


def invite_code(hub: HubProcess, sponsor: str) -> str:
    with hub_session(hub) as (session, _ctx):
        return str(invites.create_invite(session, user_by_username(session, sponsor)).code)


def api_signup(hub: HubProcess, username: str, code: str) -> httpx.Response:
    """``POST /api/v1/accounts`` with an app token, as a client app signs up."""
    app = httpx.post(f"{hub.base}/api/v1/apps", data={
        "client_name": "signup", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
        "scopes": "read write"}).json()
    token = httpx.post(f"{hub.base}/oauth/token", data={
        "grant_type": "client_credentials", "client_id": app["client_id"],
        "client_secret": app["client_secret"], "scope": "read write"}).json()["access_token"]
    return httpx.post(f"{hub.base}/api/v1/accounts", headers={
        "Authorization": f"Bearer {token}"}, json={
        "username": username, "email": f"{username}-new@example.org",
        "password": "a-long-password", "agreement": True, "locale": "fr",
        "postal_code": "75011", "trade": "plombier", "relation": "both", "invite_code": code})


def test_member_deletes_account_gone_here_and_on_the_linked_hub(
        make_hub: Callable[..., HubProcess], db_backend: str) -> None:
    a, b = make_hub("del", backend=db_backend), make_hub("nbr", backend=db_backend)
    link_by_config(a, b)
    link_by_config(b, a)
    a.add_user("claire", role="admin")
    a.add_user("bob")
    a.add_user("alice")
    b.add_user("olga")
    a.start()
    b.start()
    bob, alice, olga = Api(a, "bob"), Api(a, "alice"), Api(b, "olga")
    bob_uri = f"{a.base}/users/bob"
    # olga, on the linked hub, follows bob (locked: he accepts).
    found = olga.get("/api/v2/search", q=f"bob@{a.domain}", resolve="true", type="accounts")
    bob_on_b = found["accounts"][0]["id"]
    assert olga.post(f"/api/v1/accounts/{bob_on_b}/follow")["requested"] is True
    asked = wait_for(lambda: bob.get("/api/v1/follow_requests"), what="olga's request on A")
    bob.post(f"/api/v1/follow_requests/{asked[0]['id']}/authorize")
    wait_for(lambda: olga.get("/api/v1/accounts/relationships", id=bob_on_b)[0]["following"],
             what="the Accept on B")
    nb = bob.post("/api/v1/statuses", {"status": "secretNB vide-grenier", "visibility": "public"})
    bob.post("/api/v1/statuses", {"status": "secretFOL entre nous", "visibility": "private"})
    wait_for(lambda: secrets_in(olga.get("/api/v1/timelines/home")) == {"secretNB", "secretFOL"},
             what="bob's posts on B")
    assert alice.call("GET", f"/api/v1/statuses/{nb['id']}").status_code == 200
    assert statuses_of(b, bob_uri) == 2

    with httpx.Client(base_url=a.base, timeout=20) as browser:
        assert login(browser, "bob", a.passwords["bob"]).status_code == 303
        settings = browser.get("/settings")
        assert 'href="/settings/delete"' in settings.text
        page = browser.get("/settings/delete")
        assert page.status_code == 200 and "ne peut pas être annulé" in page.text
        # A wrong password: the form again, nothing changed.
        wrong = post_form(browser, "/settings/delete", "/settings/delete", {"password": "nope"})
        assert wrong.status_code == 422 and "pas été supprimé" in wrong.text
        # Without the form's CSRF token: refused, nothing changed.
        forged = browser.post("/settings/delete", data={"password": a.passwords["bob"]})
        assert forged.status_code == 403
        assert bob.call("GET", "/api/v1/accounts/verify_credentials").status_code == 200
        assert query(a, lambda s: s.scalar(select(func.count()).select_from(AccountDeletion))) == 0
        done = post_form(browser, "/settings/delete", "/settings/delete",
                         {"password": a.passwords["bob"]})
        assert done.status_code == 200 and "Compte supprimé" in done.text, done.text[:500]
        assert "données personnelles ont été effacées" in done.text
        assert browser.get("/settings").status_code == 303  # logged out
        assert login(browser, "bob", a.passwords["bob"]).status_code != 303

    # On A: the token is refused, posts and profile are gone, personal data erased.
    assert bob.call("GET", "/api/v1/accounts/verify_credentials").status_code == 401
    assert alice.call("GET", f"/api/v1/statuses/{nb['id']}").status_code == 404
    assert alice.call("GET", "/api/v1/accounts/lookup", params={"acct": "bob"}).status_code == 404
    assert statuses_of(a, bob_uri) == 0

    def local_bob(session: Any) -> tuple[Any, ...]:
        user, actor = session.execute(select(User, Actor).join(Actor, Actor.id == User.actor_id)
                                      .where(Actor.uri == bob_uri)).one()
        return (user.email, user.password_hash, actor.display_name, actor.deleted_at is not None,
                session.scalar(select(func.count()).select_from(OAuthToken).where(
                    OAuthToken.user_id == user.id)),
                session.scalar(select(func.count()).select_from(WebSession).where(
                    WebSession.user_id == user.id)),
                session.scalar(select(func.count()).select_from(LoginRecord).where(
                    LoginRecord.user_id == user.id)),
                session.scalar(select(func.count()).select_from(Follow).where(
                    (Follow.follower_id == actor.id) | (Follow.followee_id == actor.id))))
    email, password_hash, name, deleted, tokens, sessions, logins, follows = query(a, local_bob)
    assert email.endswith("@invalid") and "bob" not in email and password_hash == "!"
    assert (name, deleted, tokens, sessions, logins, follows) == ("", True, 0, 0, 0, 0)

    # On B: the Delete(Person) erased the copy of the profile, the posts and the follow.
    wait_for(lambda: statuses_of(b, bob_uri) == 0, timeout=60,
             what="bob's posts to be erased on B")

    def remote_bob(session: Any) -> tuple[Any, ...]:
        actor = session.scalar(select(Actor).where(Actor.uri == bob_uri))
        return (actor.deleted_at is not None, actor.display_name,
                session.scalar(select(func.count()).select_from(Follow).where(
                    (Follow.follower_id == actor.id) | (Follow.followee_id == actor.id))))
    assert query(b, remote_bob) == (True, "", 0)
    assert secrets_in(olga.get("/api/v1/timelines/home")) == set()
    assert olga.call("GET", f"/api/v1/accounts/{bob_on_b}").status_code == 404

    # The username is reserved: API sign-up, invitation form, command line.
    code = invite_code(a, "alice")
    again = api_signup(a, "bob", code)
    assert again.status_code == 422, again.text
    assert "compte supprimé" in again.json()["error"]
    form = httpx.get(f"{a.base}/invite/{code}")
    assert form.status_code == 200
    fields = {"username": "bob", "email": "bob2@example.org", "password": "a-long-password",
              "postal_code": "75011", "relation": "lives", "trade": "plombier",
              "display_name": "Bob", "business_name": "", "lang": "fr", "agreement": "on"}
    if 'name="csrf_token"' in form.text:
        fields["csrf_token"] = csrf_of(form)
    by_invite = httpx.post(f"{a.base}/invite/{code}", data=fields, cookies=form.cookies)
    assert by_invite.status_code == 422 and "compte supprimé" in by_invite.text
    refused = a.cli("users", "create", "bob", "--email", "b3@example.org", "--password",
                    "a-long-password", check=False)
    assert refused.returncode != 0 and "deleted account" in refused.stderr
    # Someone else may still sign up with the invite.
    assert api_signup(a, "bobette", code).status_code == 200
    audit = query(a, lambda s: [(e.actor_username, e.action, e.target)
                                for e in s.scalars(select(AuditEntry))])
    assert ("bob", "member.delete", "@bob") in audit


def test_console_delete_with_grace_period_and_cli(make_hub: Callable[..., HubProcess],
                                                  db_backend: str) -> None:
    hub = make_hub("cons", backend=db_backend)
    hub.add_user("claire", role="admin")
    hub.add_user("manon", role="moderator")
    hub.add_user("sophie")
    hub.add_user("nina")
    hub.add_user("paul")
    with hub_session(hub) as (session, _ctx):
        set_setting(session, "deletion_grace_days", "7")
        sophie_id = user_by_username(session, "sophie").id
        nina_id = user_by_username(session, "nina").id
        session.get(User, nina_id).sponsor_id = sophie_id
        session.add(Sponsorship(id=1, member_user_id=nina_id, member_username="nina",
                                sponsor_user_id=sophie_id, sponsor_username="sophie",
                                relation="lives"))
    hub.start()
    nina_api = Api(hub, "nina")
    posted = nina_api.post("/api/v1/statuses", {"status": "Bonjour", "visibility": "unlisted"})
    # A password grant is a login: recorded with its address and app.
    records = query(hub, lambda s: [(r.kind, r.ip, r.user_agent) for r in s.scalars(
        select(LoginRecord).where(LoginRecord.user_id == nina_id))])
    assert len(records) == 1 and records[0][0] == "app" and records[0][2] == "Tusky/25"
    assert records[0][1].startswith("127.")
    with logged_in(hub, "manon") as manon:  # moderators may not delete
        assert manon.get("/console/members/nina/delete").status_code == 403
        assert console_post(manon, "/console/members/nina", "/console/members/nina/delete",
                            {"confirm": "nina"}).status_code == 403
    with logged_in(hub, "claire") as claire:
        assert "/console/members/nina/delete" in claire.get("/console/members/nina").text
        wrong = console_post(claire, "/console/members/nina/delete",
                             "/console/members/nina/delete", {"confirm": "nono"})
        assert wrong.status_code == 422 and "Tapez l'identifiant" in wrong.text
        assert nina_api.call("GET", "/api/v1/accounts/verify_credentials").status_code == 200
        mine = console_post(claire, "/console/members/claire/delete",
                            "/console/members/claire/delete", {"confirm": "claire"})
        assert mine.status_code == 422 and "paramètres" in mine.text
        done = console_post(claire, "/console/members/nina/delete",
                            "/console/members/nina/delete",
                            {"confirm": "@nina", "reason": "demande par courrier"})
        assert done.status_code == 303 and done.headers["location"].endswith("done=deleted")
        assert "Le compte est supprimé." in claire.get(done.headers["location"]).text
        assert claire.get("/console/members/nina").status_code == 404
    # Suspended at once (token 401, post hidden), not yet erased: 7 days of grace.
    assert nina_api.call("GET", "/api/v1/accounts/verify_credentials").status_code == 401
    assert Api(hub, "sophie").call("GET", f"/api/v1/statuses/{posted['id']}").status_code == 404
    nina_uri = f"{hub.base}/users/nina"
    assert statuses_of(hub, nina_uri) == 1
    audit = query(hub, lambda s: [(e.actor_username, e.actor_role, e.action, e.target,
                                   e.details) for e in s.scalars(select(AuditEntry))])
    assert ("claire", "admin", "member.delete", "@nina", {"grace_days": 7}) in audit
    assert ("claire", "admin", "member.delete.reason", "@nina",
            {"reason": "demande par courrier"}) in audit

    # The privacy job erases after the grace period only.
    settings = hub.settings()
    engine = make_engine(settings.database_url)
    try:
        sessions = make_sessionmaker(engine)
        deleted_files: list[str] = []
        early = PrivacyJob(sessions, deleted_files.append,
                           clock=lambda: utcnow() + timedelta(days=6)).run_once()
        assert early.erased == 0 and statuses_of(hub, nina_uri) == 1
        late = PrivacyJob(sessions, deleted_files.append,
                          clock=lambda: utcnow() + timedelta(days=8)).run_once()
        assert late.erased == 1 and statuses_of(hub, nina_uri) == 0
        assert PrivacyJob(sessions, deleted_files.append,
                          clock=lambda: utcnow() + timedelta(days=9)).run_once().erased == 0
    finally:
        engine.dispose()

    def tree(session: Any) -> tuple[Any, ...]:
        user = session.get(User, nina_id)
        edge = session.scalar(select(Sponsorship).where(Sponsorship.member_user_id == nina_id))
        return (user.sponsor_id, user.email.endswith("@invalid"), edge.sponsor_user_id,
                edge.member_username, edge.relation)
    assert query(hub, tree) == (sophie_id, True, sophie_id, "nina", None)

    # The command line, in French; then English; an unknown name is a clear error.
    out = french_cli(hub, "users", "delete", "paul", "--reason", "départ")
    assert out.returncode == 0 and "@paul est supprimé" in out.stdout, out.stderr
    unknown = french_cli(hub, "users", "delete", "personne")
    assert unknown.returncode == 2 and "aucun membre" in unknown.stderr
    assert ("(command line)", "cli", "member.delete", "@paul", {"grace_days": 7}) in query(
        hub, lambda s: [(e.actor_username, e.actor_role, e.action, e.target, e.details)
                        for e in s.scalars(select(AuditEntry))])
    refused = api_signup(hub, "paul", invite_code(hub, "sophie"))
    assert refused.status_code == 422 and "compte supprimé" in refused.json()["error"]


def test_login_records_are_kept_thirty_days(make_hub: Callable[..., HubProcess],
                                            db_backend: str) -> None:
    hub = make_hub("ret", backend=db_backend)
    hub.add_user("alice")
    now = utcnow()
    with hub_session(hub) as (session, _ctx):
        uid = user_by_username(session, "alice").id
        record_login(session, uid, ip="203.0.113.9", user_agent="Old", now=now - timedelta(days=31))
        record_login(session, uid, ip="203.0.113.8", user_agent="Recent",
                     now=now - timedelta(days=29))
        session.add(WebSession(token_hash="a" * 64, user_id=uid, user_agent="Firefox old",
                               created_at=now - timedelta(days=40),
                               expires_at=now + timedelta(days=1)))
        session.add(WebSession(token_hash="b" * 64, user_id=uid, user_agent="Firefox new",
                               created_at=now - timedelta(days=2),
                               expires_at=now + timedelta(days=28)))
        session.add(WebSession(token_hash="c" * 64, user_id=uid, user_agent="Expired",
                               created_at=now - timedelta(days=3),
                               expires_at=now - timedelta(days=1)))
        for subject, status, days in (("old notice", "sent", 31), ("new notice", "sent", 2),
                                      ("waiting", "pending", 31)):
            session.add(OutgoingMail(id=new_id(), kind="new_login", recipient="a@b.test",
                                     subject=subject, text="203.0.113.9", status=status,
                                     created_at=now - timedelta(days=days),
                                     sent_at=now - timedelta(days=days)
                                     if status == "sent" else None))
    with hub_session(hub) as (session, _ctx):
        assert prune_logins(session, now) == 1
        assert set(session.scalars(select(OutgoingMail.subject))) == {"new notice", "waiting"}
    with hub_session(hub) as (session, _ctx):
        kept = [(r.ip, r.user_agent) for r in session.scalars(select(LoginRecord))]
        assert kept == [("203.0.113.8", "Recent")]
        agents = dict(session.execute(select(WebSession.token_hash, WebSession.user_agent)).all())
        assert agents == {"a" * 64: "", "b" * 64: "Firefox new"}
