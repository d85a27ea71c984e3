"""Sign-up by co-optation: every bad input gets a clear answer and creates nothing; modes,
the trade rule, the waiting list and the invite tree. Services, the page and the API."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from fedi.api.auth import token_hash
from fedi.app import create_app
from fedi.config import Settings, load_settings, render_config
from fedi.db import make_engine, make_sessionmaker, transaction, utcnow
from fedi.ids import new_id
from fedi.migrate import upgrade
from fedi.models import (
    Actor,
    Application,
    Invite,
    OAuthApp,
    OAuthToken,
    Sponsorship,
    TradeWaitlistEntry,
    User,
)
from fedi.services import invites, registration, trades
from fedi.services.accounts import create_user
from fedi.services.hub_settings import set_setting
from fedi.services.registration import RegistrationError, SignupForm, register


class World:
    def __init__(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        self.settings = settings
        self.sessions = sessions

    def member(self, username: str, trade: str | None = None, sponsor_invite: str | None = None
               ) -> User:
        with transaction(self.sessions) as s:
            user = create_user(s, self.settings, username, email=f"{username}@onze.test",
                               password="long-enough-pw")
            actor = s.get(Actor, user.actor_id)
            assert actor is not None
            actor.trade = trade
            return user

    def invite(self, inviter: User | None, **kwargs: Any) -> str:
        with transaction(self.sessions) as s:
            user = s.get(User, inviter.id) if inviter else None
            return invites.create_invite(s, user, **kwargs).code

    def setting(self, key: str, value: Any) -> None:
        with transaction(self.sessions) as s:
            set_setting(s, key, value)

    def counts(self) -> tuple[int, ...]:
        with self.sessions() as s:
            return tuple(s.scalar(select(func.count()).select_from(m)) or 0
                         for m in (User, Actor, Application, Sponsorship, TradeWaitlistEntry)) + (
                sum(s.scalars(select(Invite.uses))),)

    def signup(self, **overrides: Any) -> registration.Outcome:
        fields: dict[str, Any] = {
            "invite_code": "", "username": "nina", "email": "nina@example.org",
            "password": "a-long-password", "postal_code": "75011", "relation": "works",
            "trade": "plombier", "display_name": "Nina Martin", "business_name": "Nina Plomberie"}
        fields.update(overrides)
        with transaction(self.sessions) as s:
            return register(s, self.settings, SignupForm(**fields))


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    text = render_config(domain="onze.test", name="Onze", scheme="https", territory=["75011"],
                         database_url=f"sqlite:///{tmp_path / 'hub.db'}")
    # The pages and the API only: no delivery or inbox worker in these tests.
    text = text.replace("port = 8000", "port = 8000\nrun_workers = false")
    (tmp_path / "voisins.toml").write_text(text, encoding="utf-8")
    settings = load_settings(str(tmp_path / "voisins.toml"), env={})
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    yield World(settings, make_sessionmaker(engine))
    engine.dispose()


def test_signup__member_made_with_sponsor_profile_and_one_use(world: World) -> None:
    sophie = world.member("sophie", trade="fleuriste")
    code = world.invite(sophie, max_uses=2)
    outcome = world.signup(invite_code=code)
    assert outcome.state == "member" and outcome.user is not None
    with world.sessions() as s:
        user = s.get(User, outcome.user.id)
        actor = s.get(Actor, user.actor_id)
        assert user.sponsor_id == sophie.id
        assert (actor.trade, actor.postal_code, actor.business_name, actor.display_name) == (
            "plombier", "75011", "Nina Plomberie", "Nina Martin")
        assert s.scalar(select(Invite.uses).where(Invite.code == code)) == 1
        admission = s.scalar(select(Sponsorship).where(Sponsorship.member_user_id == user.id))
        assert admission.sponsor_username == "sophie" and admission.relation == "works"


def _expired(world: World, sponsor: User) -> str:
    code = world.invite(sponsor, lifetime=timedelta(minutes=5))
    with transaction(world.sessions) as s:
        s.scalar(select(Invite).where(Invite.code == code)).expires_at = utcnow() - timedelta(1)
    return code


def _used_up(world: World, sponsor: User) -> str:
    code = world.invite(sponsor, max_uses=1)
    world.signup(invite_code=code, username="first", email="first@example.org", trade="avocat")
    return code


def _revoked(world: World, sponsor: User) -> str:
    code = world.invite(sponsor)
    with transaction(world.sessions) as s:
        invites.revoke(s, code)
    return code


BAD_INPUTS: list[tuple[str, Callable[[World, User], dict[str, Any]], str, str, str]] = [
    ("no invite", lambda w, u: {"invite_code": ""}, "invite_code", "invitation", "invite"),
    ("unknown invite", lambda w, u: {"invite_code": "nope"}, "invite_code", "pas valide",
     "not valid"),
    ("expired invite", lambda w, u: {"invite_code": _expired(w, u)}, "invite_code", "expiré",
     "expired"),
    ("used-up invite", lambda w, u: {"invite_code": _used_up(w, u)}, "invite_code", "déjà servi",
     "already been used"),
    ("revoked invite", lambda w, u: {"invite_code": _revoked(w, u)}, "invite_code", "retiré",
     "withdrawn"),
    ("outside territory", lambda w, u: {"postal_code": "75001"}, "postal_code",
     "hors du territoire", "outside this hub's territory"),
    ("bad postal code", lambda w, u: {"postal_code": "7501"}, "postal_code", "5 chiffres",
     "5 digits"),
    ("trade taken", lambda w, u: (w.setting("trade_rule", True), {"trade": "fleuriste"})[1],
     "trade", "un membre par métier", "one-member-per-trade rule"),
    ("unknown trade", lambda w, u: {"trade": "astronaute"}, "trade", "liste", "list"),
    ("duplicate email", lambda w, u: {"email": "SOPHIE@onze.test"}, "email", "déjà inscrite",
     "already registered"),
    ("duplicate username", lambda w, u: {"username": "sophie"}, "username", "déjà pris",
     "already taken"),
    ("short password", lambda w, u: {"password": "short"}, "password", "8 caractères",
     "8 characters"),
    ("closed", lambda w, u: (w.setting("registration_mode", "closed"), {})[1], "base", "fermées",
     "closed"),
]


@pytest.mark.parametrize(("case", "make", "field", "fr", "en"), BAD_INPUTS,
                         ids=[b[0] for b in BAD_INPUTS])
def test_signup__bad_input_gets_a_clear_message_and_creates_nothing(
        world: World, case: str, make: Callable[[World, User], dict[str, Any]], field: str,
        fr: str, en: str) -> None:
    sophie = world.member("sophie", trade="fleuriste")
    good_code = world.invite(sophie)
    overrides = {"invite_code": good_code, **make(world, sophie)}
    before = world.counts()
    with pytest.raises(RegistrationError) as caught:
        world.signup(**overrides)
    assert caught.value.field == field
    assert fr in caught.value.message("fr") and en in caught.value.message("en")
    assert world.counts() == before, f"{case}: something was written"


def test_signup_page__french_first_english_too_and_errors_create_nothing(world: World) -> None:
    sophie = world.member("sophie")
    code = world.invite(sophie)
    with TestClient(create_app(world.settings)) as client:
        fr = client.get(f"/invite/{code}")
        assert fr.status_code == 200 and "Rejoindre" in fr.text and "Métier" in fr.text
        en = client.get(f"/invite/{code}", headers={"Accept-Language": "en-GB,en;q=0.9"})
        assert "Join" in en.text and "Trade" in en.text and "Plumber" in en.text
        bad = client.get("/invite/not-a-code")
        assert bad.status_code == 404 and "pas valide" in bad.text
        before = world.counts()
        form = {"display_name": "Nina", "username": "nina", "email": "nina@example.org",
                "password": "a-long-password", "trade": "plombier", "business_name": "",
                "postal_code": "75020", "relation": "lives", "agreement": "on"}
        outside = client.post(f"/invite/{code}", data=form)
        assert outside.status_code == 422 and "hors du territoire" in outside.text
        assert 'value="nina@example.org"' in outside.text and "a-long-password" not in outside.text
        assert world.counts() == before
        ok = client.post(f"/invite/{code}", data={**form, "postal_code": "75011", "lang": "en"})
        assert ok.status_code == 200 and "Welcome, @nina" in ok.text
        again = client.post(f"/invite/{code}", data={**form, "username": "other",
                                                      "email": "o@example.org"})
        assert again.status_code == 403 and "déjà servi" in again.text


def _app_token(world: World) -> str:
    token = secrets.token_urlsafe(24)
    with transaction(world.sessions) as s:
        app = OAuthApp(id=new_id(), name="toot", client_id=secrets.token_hex(8),
                       client_secret=secrets.token_hex(16), redirect_uris="urn:ietf:wg:oauth:2.0:oob",
                       scopes="read write follow")
        s.add(app)
        s.flush()
        s.add(OAuthToken(id=new_id(), token_hash=token_hash(token), app_id=app.id, user_id=None,
                         scopes="read write follow"))
    return token


def test_api_register__refuses_without_a_valid_invite(world: World) -> None:
    sophie = world.member("sophie")
    code = world.invite(sophie)
    world.member("taken")
    auth = {"Authorization": f"Bearer {_app_token(world)}"}
    body = {"username": "nina", "email": "nina@example.org", "password": "a-long-password",
            "agreement": True, "locale": "en", "postal_code": "75011", "trade": "plombier",
            "relation": "both"}
    with TestClient(create_app(world.settings)) as client:
        before = world.counts()
        missing = client.post("/api/v1/accounts", json=body, headers=auth)
        assert missing.status_code == 403
        assert "invite" in missing.json()["error"]
        expired = client.post("/api/v1/accounts", json={**body, "invite_code": _expired(world, sophie)},
                              headers=auth)
        assert expired.status_code == 403 and "expired" in expired.json()["error"]
        taken = client.post("/api/v1/accounts", headers=auth,
                            json={**body, "invite_code": code, "username": "taken"})
        assert taken.status_code == 422
        assert taken.json()["details"]["username"][0]["error"] == "ERR_TAKEN"
        no_trade = client.post("/api/v1/accounts", headers=auth,
                               json={**body, "invite_code": code, "trade": "", "locale": "fr"})
        assert no_trade.status_code == 422 and "métier" in no_trade.json()["error"]
        assert world.counts()[:4] == before[:4]
        anonymous = client.post("/api/v1/accounts", json={**body, "invite_code": code})
        assert anonymous.status_code == 401
        ok = client.post("/api/v1/accounts", json={**body, "invite_code": code}, headers=auth)
        assert ok.status_code == 200, ok.text
        token = ok.json()["access_token"]
    with world.sessions() as s:
        row = s.scalar(select(OAuthToken).where(OAuthToken.token_hash == token_hash(token)))
        user = s.get(User, row.user_id)
        assert user.sponsor_id == sophie.id


def test_approval_mode__application_waits_sponsor_and_applicant_see_it(world: World) -> None:
    sophie = world.member("sophie")
    world.setting("registration_mode", "approval")
    code = world.invite(sophie)
    outcome = world.signup(invite_code=code)
    assert outcome.state == "pending" and outcome.user is None and outcome.status_token
    with world.sessions() as s:
        assert s.scalar(select(func.count()).select_from(User)) == 1
        seen = invites.applications_of_sponsor(s, sophie.id)
        assert [(a.username, a.state) for a in seen] == [("nina", "pending")]
    # A second sign-up cannot take the same username while the first waits.
    with pytest.raises(RegistrationError, match="already taken"):
        world.signup(invite_code=world.invite(sophie), email="other@example.org")
    with TestClient(create_app(world.settings)) as client:
        page = client.get(f"/signup/status/{outcome.status_token}")
        assert 'data-state="pending"' in page.text and "En attente" in page.text
        with transaction(world.sessions) as s:
            registration.approve(s, world.settings, registration.find_application(s, "nina"))
        page = client.get(f"/signup/status/{outcome.status_token}?lang=en")
        assert 'data-state="approved"' in page.text and "Approved" in page.text
        assert client.get("/signup/status/wrong").status_code == 404
    with world.sessions() as s:
        nina = invites.user_by_username(s, "nina")
        assert nina is not None and nina.sponsor_id == sophie.id
        assert registration.list_applications(s) == []


def test_trade_rule__waiting_list_and_turning_it_on_removes_nobody(world: World) -> None:
    sophie = world.member("sophie", trade="plombier")
    world.member("paul", trade="plombier")
    world.member("lea", trade="autre")
    world.member("marc", trade="autre")
    with transaction(world.sessions) as s:
        crowded = trades.set_trade_rule(s, True)
    assert [(c.slug, c.members) for c in crowded] == [("plombier", ("paul", "sophie"))]
    with world.sessions() as s:
        assert len(trades.holders(s, "plombier")) == 2  # nobody removed
    world.setting("trade_rule_action", "waitlist")
    outcome = world.signup(invite_code=world.invite(sophie))
    assert outcome.state == "waitlisted"
    with transaction(world.sessions) as s:
        app = registration.find_application(s, "nina")
        with pytest.raises(registration.ApplicationError, match="one-member-per-trade"):
            registration.approve(s, world.settings, app)
    with transaction(world.sessions) as s:
        registration.approve(s, world.settings, registration.find_application(s, "nina"),
                             force=True)
    # A profile change to a taken trade is refused and, in waitlist mode, queued.
    with transaction(world.sessions) as s:
        lea = s.scalar(select(Actor).where(Actor.username == "lea"))
        with pytest.raises(trades.TradeTaken, match="one-member-per-trade") as caught:
            trades.check_trade_change(s, lea, "Plombier·ère")
        assert caught.value.waitlisted
        assert trades.check_trade_change(s, lea, "Fleuriste") == "fleuriste"


def test_invite_tree__both_ways_and_after_a_member_leaves(world: World) -> None:
    anne = world.member("anne")
    b = world.signup(invite_code=world.invite(anne), username="bruno", email="b@example.org")
    c = world.signup(invite_code=world.invite(b.user), username="chloe", email="c@example.org",
                     trade="avocat")
    d = world.signup(invite_code=world.invite(b.user), username="david", email="d@example.org",
                     trade="notaire")
    with world.sessions() as s:
        assert [e.username for e in invites.invited_by(s, anne.id)] == ["bruno", "chloe", "david"]
        assert [e.username for e in invites.invited_by(s, anne.id, transitive=False)] == ["bruno"]
        assert [e.username for e in invites.sponsor_chain(s, d.user.id)] == ["bruno", "anne"]
    with transaction(world.sessions) as s:  # bruno leaves: his rows are deleted
        bruno = s.get(User, b.user.id)
        s.delete(s.get(Actor, bruno.actor_id))
    with world.sessions() as s:
        assert s.get(User, b.user.id) is None
        assert s.get(User, c.user.id).sponsor_id is None  # the foreign key let go…
        assert [e.username for e in invites.sponsor_chain(s, c.user.id)] == ["bruno", "anne"]
        assert [e.username for e in invites.invited_by(s, anne.id)] == ["bruno", "chloe", "david"]


def test_cli__invites_applications_trades_settings(world: World, tmp_path: Path) -> None:
    import contextlib
    import io
    from types import SimpleNamespace

    from fedi.cli import main

    def run(*args: str) -> SimpleNamespace:
        """``voisins ARGS`` in this process (the same main() the console script calls)."""
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["--config", str(tmp_path / "voisins.toml"), *args])
        return SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())

    world.member("sophie")
    made = run("invites", "create", "--user", "sophie", "--uses", "3", "--note", "voisins du 11")
    assert made.returncode == 0, made.stderr
    code = re.search(r"/invite/(\S+)", made.stdout).group(1)
    assert "uses: 3" in made.stdout
    assert run("settings", "set", "registration_mode", "approval").returncode == 0
    bad = run("settings", "set", "registration_mode", "sometimes")
    assert bad.returncode == 2 and "registration_mode" in bad.stderr
    assert "registration_mode\tapproval" in run("settings", "list").stdout
    world.signup(invite_code=code)
    listed = run("invites", "list", "--user", "sophie")
    assert f"{code}\topen\t@sophie\t1/3" in listed.stdout and "application @nina: pending" in listed.stdout
    assert "pending\t@nina" in run("applications", "list").stdout
    approved = run("applications", "approve", "nina")
    assert approved.returncode == 0 and "approved @nina" in approved.stdout
    assert "application" in run("applications", "approve", "nina").stderr
    tree = run("invites", "tree", "sophie")
    assert "@nina" in tree.stdout
    assert run("invites", "revoke", code).returncode == 0
    assert f"{code}\trevoked" in run("invites", "list").stdout
    added = run("trades", "add", "Torréfacteur·rice", "--en", "Coffee roaster")
    assert added.returncode == 0 and "torrefacteur" in added.stdout
    assert "already exists" in run("trades", "add", "Torréfacteur").stderr
    world.member("paul", trade="plombier")
    rule = run("trades", "rule", "on")
    assert "already several in plombier: @nina, @paul" in rule.stdout
    listing = run("trades", "list")
    assert "one member per trade: on" in listing.stdout and "torrefacteur\tTorréfacteur·rice" in listing.stdout
    assert run("trades", "remove", "torrefacteur").returncode == 0
    assert "torrefacteur" not in run("trades", "list").stdout


def _consent_of(world: World, username: str) -> Any:
    with world.sessions() as s:
        return s.scalar(select(User.privacy_consent_at).join(Actor, Actor.id == User.actor_id)
                        .where(Actor.username == username, Actor.local))


def test_signup_page__consent_is_required_and_recorded(world: World) -> None:
    sophie = world.member("sophie")
    code = world.invite(sophie)
    form = {"display_name": "Nina", "username": "nina", "email": "nina@example.org",
            "password": "a-long-password", "trade": "plombier", "business_name": "",
            "postal_code": "75011", "relation": "lives"}
    with TestClient(create_app(world.settings)) as client:
        page = client.get(f"/invite/{code}")
        assert 'name="agreement"' in page.text and 'href="/privacy-policy?lang=fr"' in page.text
        before = world.counts()
        refused = client.post(f"/invite/{code}", data=form)
        assert refused.status_code == 422
        assert "Il faut accepter les règles et la politique" in refused.text
        english = client.post(f"/invite/{code}", data={**form, "lang": "en"})
        assert english.status_code == 422 and "You must accept the hub" in english.text
        assert world.counts() == before
        done = client.post(f"/invite/{code}", data={**form, "agreement": "on"})
        assert done.status_code == 200, done.text[:500]
    assert _consent_of(world, "nina") is not None


def test_api_register__agreement_is_required_and_recorded(world: World) -> None:
    sophie = world.member("sophie")
    code = world.invite(sophie)
    auth = {"Authorization": f"Bearer {_app_token(world)}"}
    body = {"username": "nina", "email": "nina@example.org", "password": "a-long-password",
            "locale": "en", "postal_code": "75011", "trade": "plombier", "relation": "both",
            "invite_code": code}
    with TestClient(create_app(world.settings)) as client:
        before = world.counts()
        for refused_body in (body, {**body, "agreement": False}):
            refused = client.post("/api/v1/accounts", json=refused_body, headers=auth)
            assert refused.status_code == 422, refused.text
            assert "privacy policy" in refused.json()["error"]
            assert refused.json()["details"]["agreement"][0]["error"] == "ERR_ACCEPTED"
        french = client.post("/api/v1/accounts", json={**body, "locale": "fr"}, headers=auth)
        assert "politique de confidentialité" in french.json()["error"]
        assert world.counts() == before
        done = client.post("/api/v1/accounts", json={**body, "agreement": True}, headers=auth)
        assert done.status_code == 200, done.text
    assert _consent_of(world, "nina") is not None


def test_application__consent_reaches_the_approved_member(world: World) -> None:
    sophie = world.member("sophie")
    world.setting("registration_mode", "approval")
    outcome = world.signup(invite_code=world.invite(sophie), agreement=True)
    assert outcome.state == "pending" and outcome.application is not None
    with transaction(world.sessions) as s:
        application = s.get(Application, outcome.application.id)
        assert application.privacy_consent_at is not None
        registration.approve(s, world.settings, application)
    assert _consent_of(world, "nina") is not None


def test_signup__new_member_key_is_made_while_others_can_write(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """RSA key generation (50 to 200 ms) happens outside the sign-up's transaction, on the
    page and in the API alike: while a key is being made another writer gets SQLite's write
    lock at once, and the member gets exactly that key."""
    import sqlite3

    from fedi import keys
    from fedi.api import registration as api_registration
    from fedi.services import accounts
    from fedi.web import members

    db_path = world.settings.database_url.removeprefix("sqlite:///")
    made: list[tuple[str, bool]] = []

    def watched() -> str:
        other = sqlite3.connect(db_path, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            free = True
        except sqlite3.OperationalError:  # "database is locked": the sign-up holds it
            free = False
        finally:
            other.close()
        pem = keys.generate_private_key_pem()
        made.append((pem, free))
        return pem

    for module in (api_registration, members, accounts):
        monkeypatch.setattr(module, "generate_private_key_pem", watched, raising=False)
    sophie = world.member("sophie")
    page_code, api_code = world.invite(sophie), world.invite(sophie)
    form = {"display_name": "Nina", "username": "nina", "email": "nina@example.org",
            "password": "a-long-password", "trade": "plombier", "business_name": "",
            "postal_code": "75011", "relation": "lives", "agreement": "on"}
    body = {"username": "omar", "email": "omar@example.org", "password": "a-long-password",
            "agreement": True, "locale": "fr", "postal_code": "75011", "trade": "fleuriste",
            "relation": "both", "invite_code": api_code}
    with TestClient(create_app(world.settings)) as client:
        made.clear()  # the hub's own actor, made once at its first start
        page = client.post(f"/invite/{page_code}", data=form)
        assert page.status_code == 200, page.text[:500]
        api = client.post("/api/v1/accounts", json=body,
                          headers={"Authorization": f"Bearer {_app_token(world)}"})
        assert api.status_code == 200, api.text
    assert [free for _, free in made] == [True, True]
    # An application approved later (the console makes the key before its transaction).
    world.setting("registration_mode", "approval")
    assert world.signup(invite_code=world.invite(sophie), username="lea",
                        email="lea@example.org").state == "pending"
    pem = keys.generate_private_key_pem()
    with transaction(world.sessions) as s:
        registration.approve(s, world.settings, registration.find_application(s, "lea"),
                             private_key_pem=pem)
    assert made[2:] == []
    with world.sessions() as s:
        stored = dict(s.execute(select(Actor.username, Actor.private_key_pem)
                                .where(Actor.username.in_(("nina", "omar", "lea")))).all())
    assert set(stored.values()) == {pem for pem, _ in made} | {pem}
    assert stored["lea"] == pem
