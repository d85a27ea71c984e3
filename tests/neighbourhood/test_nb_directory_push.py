"""Directory freshness across two real hubs: a member who joins, changes their profile or
leaves shows up so in the linked hub's directory within seconds (their hub pushes the
``Person``), not at the next hourly sync; after an unlink, neither hub finds the other's
members any more. On SQLite and PostgreSQL. Then, in process: every way a member joins
(the invite page, an approved application, the command line) queues their Person for the
linked hubs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from neighbourhood_world import link_state, set_profile, user_token
from sqlalchemy import select
from starlette.testclient import TestClient
from support.hubs import HubProcess, wait_for
from support.world import query

from fedi.app import create_app
from fedi.config import Settings, load_settings, render_config
from fedi.db import make_engine, make_sessionmaker, transaction
from fedi.ids import new_id
from fedi.migrate import upgrade
from fedi.models import Delivery, Neighbour, NeighbourSync, OutboxActivity
from fedi.services.invites import create_invite


def _client_token(hub: HubProcess) -> str:
    """An app's own token (client credentials), as a Mastodon app gets before a sign-up."""
    app = httpx.post(f"{hub.base}/api/v1/apps", timeout=30, data={
        "client_name": "annuaire", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
        "scopes": "read write follow"}).json()
    token = httpx.post(f"{hub.base}/oauth/token", timeout=30, data={
        "grant_type": "client_credentials", "client_id": app["client_id"],
        "client_secret": app["client_secret"], "scope": "read write follow"})
    assert token.status_code == 200, token.text
    return str(token.json()["access_token"])


def _sign_up(hub: HubProcess, username: str, trade: str, business: str) -> str:
    """Sign-up through ``POST /api/v1/accounts`` with an invite; the new member's token."""
    invite = hub.cli("invites", "create").stdout.split("/invite/", 1)[1].split()[0]
    made = httpx.post(f"{hub.base}/api/v1/accounts", timeout=30,
                      headers={"Authorization": f"Bearer {_client_token(hub)}"},
                      json={"invite_code": invite, "username": username,
                            "email": f"{username}@example.org", "password": "a-long-password",
                            "agreement": True, "locale": "fr", "postal_code": "75012",
                            "trade": trade, "business_name": business, "relation": "works",
                            "display_name": username.title()})
    assert made.status_code == 200, made.text
    return str(made.json()["access_token"])


class Searcher:
    """A member of one hub searching through its client API, as an app does."""

    def __init__(self, hub: HubProcess, username: str) -> None:
        self.hub = hub
        self.headers = {"Authorization": f"Bearer {user_token(hub, username)}"}

    def directory(self, **params: str) -> list[str]:
        r = httpx.get(f"{self.hub.base}/api/v1/directory", params=params,
                      headers=self.headers, timeout=30)
        assert r.status_code == 200, r.text
        return [a["acct"] for a in r.json()]

    def accounts(self, q: str) -> list[str]:
        r = httpx.get(f"{self.hub.base}/api/v2/search", headers=self.headers, timeout=30,
                      params={"q": q, "type": "accounts"})
        assert r.status_code == 200, r.text
        return [a["acct"] for a in r.json()["accounts"]]

    def finds(self, acct: str, **params: str) -> bool:
        return acct in self.directory(**params)


def _synced_at(hub: HubProcess, other: HubProcess) -> datetime | None:
    return query(hub, lambda s: s.scalar(select(NeighbourSync.synced_at).where(
        NeighbourSync.domain == other.domain)))


def _on(hub: HubProcess, name: str) -> str:
    return f"{name}@{hub.domain}"


@pytest.mark.multihub
@pytest.mark.timeout(900)  # two hubs, five CLI commands and a sign-up: slow on a busy machine
@pytest.mark.parametrize("backend", ["sqlite",
                                     pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_directory_follows_members_as_they_come_change_and_go(
        make_hub: Callable[..., HubProcess], backend: str) -> None:
    # The periodic sync is an hour away: only a push can make the directory fresh.
    mesh = "\n[mesh]\nrefresh_seconds = 3600\n"
    onze = make_hub("onze", backend=backend, territory=("75011",), extra_config=mesh)
    douze = make_hub("douze", backend=backend, territory=("75012",), extra_config=mesh)
    for hub, name, postal in ((onze, "olivier", "75011"), (douze, "denis", "75012")):
        hub.add_user(name)
        set_profile(hub, name, trade="plombier", postal_code=postal,
                    business_name=f"Plomberie du {postal[-2:]}", display_name=name.title())
    onze.cli("neighbours", "add", douze.domain)
    douze.cli("neighbours", "add", onze.domain)
    douze.start()
    onze.start()
    wait_for(lambda: link_state(onze, douze) == link_state(douze, onze) == "linked",
             timeout=90, what="the two hubs to link")
    at_11, at_12 = Searcher(onze, "olivier"), Searcher(douze, "denis")
    wait_for(lambda: at_11.finds(_on(douze, "denis"), trade="plombier"), timeout=30,
             what="11 to list 12's plumber (the sync when the link forms)")
    wait_for(lambda: at_12.finds(_on(onze, "olivier"), trade="plombier"), timeout=30,
             what="12 to list 11's plumber")
    synced = _synced_at(onze, douze)

    # A new member of 12, signed up from an app, is found on 11 within seconds.
    nadia = _on(douze, "nadia")
    token = _sign_up(douze, "nadia", "electricien", "Nadia Courant")
    wait_for(lambda: at_11.finds(nadia, trade="electricien"), timeout=30,
             what="12's new member in 11's directory")
    assert nadia in at_11.directory(q="Nadia Courant")
    assert nadia in at_11.accounts("electricienne")

    # Her profile change (business name, trade) reaches 11's directory too.
    changed = httpx.patch(f"{douze.base}/api/v1/accounts/update_credentials", timeout=30,
                          headers={"Authorization": f"Bearer {token}"},
                          json={"business_name": "Atelier Voltaïque", "trade": "serrurier"})
    assert changed.status_code == 200, changed.text
    wait_for(lambda: at_11.finds(nadia, trade="serrurier"), timeout=30,
             what="the new trade on 11")
    assert nadia in at_11.directory(q="voltaique")
    assert nadia not in at_11.directory(trade="electricien")
    assert nadia not in at_11.directory(q="Courant")
    # She leaves the directory of her own will, then comes back.
    hidden = httpx.patch(f"{douze.base}/api/v1/accounts/update_credentials", timeout=30,
                         headers={"Authorization": f"Bearer {token}"},
                         json={"discoverable": False})
    assert hidden.status_code == 200, hidden.text
    wait_for(lambda: nadia not in at_11.directory(trade="serrurier"), timeout=30,
             what="11 to drop a member who asked not to be listed")
    httpx.patch(f"{douze.base}/api/v1/accounts/update_credentials", timeout=30,
                headers={"Authorization": f"Bearer {token}"}, json={"discoverable": True})
    wait_for(lambda: at_11.finds(nadia, trade="serrurier"), timeout=30,
             what="11 to list her again")

    # A departure: 12 suspends its plumber; 11's directory drops him at once.
    douze.cli("users", "suspend", "denis", "--reason", "départ")
    wait_for(lambda: _on(douze, "denis") not in at_11.directory(trade="plombier"), timeout=30,
             what="11 to drop 12's suspended member")
    assert at_11.directory(trade="plombier") == ["olivier"]
    # All of it came by push: 11 has not read 12's /members since the link formed.
    assert _synced_at(onze, douze) == synced

    # 11 unlinks 12: neither hub finds the other's members any more, by any search.
    assert "removed" in onze.cli("neighbours", "remove", douze.domain).stdout
    assert at_11.directory() == ["olivier"]
    for q in ("nadia", "serrurier", "voltaique", f"nadia@{douze.domain}"):
        assert at_11.accounts(q) == [], q
    wait_for(lambda: link_state(douze, onze) == "unlinked", timeout=30,
             what="12 to learn of the unlink")
    at_12_too = Searcher(douze, "nadia")
    assert at_12_too.directory() == ["nadia"]
    for q in ("olivier", "plombier", "Plomberie"):
        assert _on(onze, "olivier") not in at_12_too.accounts(q), q


# --- every way in, in process: each queues the new member's Person for the linked hub -------

DOUZE_INBOX = "https://douze.test/inbox"


@pytest.fixture
def onze(tmp_path: Path, database_url: str) -> Iterator[Settings]:
    """A hub (pages, no workers) linked with douze.test, on SQLite and PostgreSQL."""
    text = render_config(domain="onze.test", name="Onze", scheme="https", territory=["75011"],
                         database_url=database_url)
    (tmp_path / "voisins.toml").write_text(
        text.replace("port = 8000", "port = 8000\nrun_workers = false"), encoding="utf-8")
    settings = load_settings(str(tmp_path / "voisins.toml"), env={})
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    with transaction(make_sessionmaker(engine)) as s:
        s.add(Neighbour(id=new_id(), domain="douze.test", state="linked", source="admin",
                        territory=["75012"]))
    engine.dispose()
    yield settings


def _person_updates(settings: Settings) -> dict[str, set[str]]:
    """Actor URI → inboxes of the queued ``Update`` activities of local members."""
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine)() as s:
            rows = s.execute(select(OutboxActivity.object_uri, Delivery.inbox_url)
                             .join(Delivery, Delivery.activity_id == OutboxActivity.id)
                             .where(OutboxActivity.type == "Update")).all()
    finally:
        engine.dispose()
    out: dict[str, set[str]] = {}
    for uri, inbox in rows:
        out.setdefault(uri, set()).add(inbox)
    return out


def _cli(settings: Settings, *args: str) -> int:
    from fedi.cli import main

    assert settings.config_path is not None
    return main(["--config", settings.config_path, *args])


def test_every_way_in_pushes_the_new_member(onze: Settings) -> None:
    engine = make_engine(onze.database_url)
    sessions = make_sessionmaker(engine)
    with transaction(sessions) as s:
        codes = [create_invite(s, None).code for _ in range(2)]
    engine.dispose()
    # The invite page.
    with TestClient(create_app(onze), base_url="https://onze.test") as client:
        page = client.post(f"/invite/{codes[0]}", data={
            "display_name": "Nina", "username": "nina", "email": "nina@example.org",
            "password": "a-long-password", "trade": "plombier", "business_name": "",
            "postal_code": "75011", "relation": "lives", "lang": "fr", "agreement": "on"})
        assert page.status_code == 200, page.text[:300]
    assert _person_updates(onze) == {"https://onze.test/users/nina": {DOUZE_INBOX}}
    # The command line: an admin's account, then an approved application.
    assert _cli(onze, "users", "create", "remi", "--email", "remi@example.org",
                "--password", "a-long-password") == 0
    assert _cli(onze, "settings", "set", "registration_mode", "approval") == 0
    with TestClient(create_app(onze), base_url="https://onze.test") as client:
        client.post(f"/invite/{codes[1]}", data={
            "display_name": "Lou", "username": "lou", "email": "lou@example.org",
            "password": "a-long-password", "trade": "avocat", "business_name": "",
            "postal_code": "75011", "relation": "lives", "lang": "fr", "agreement": "on"})
    assert "https://onze.test/users/lou" not in _person_updates(onze)  # not a member yet
    assert _cli(onze, "applications", "approve", "lou") == 0
    assert set(_person_updates(onze)) == {f"https://onze.test/users/{n}"
                                          for n in ("nina", "remi", "lou")}
