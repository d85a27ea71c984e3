"""Directory freshness across two real hubs: a member who joins, changes their profile or
leaves shows up so in the linked hub's directory within seconds (their hub pushes the
``Person``), not at the next hourly sync; after an unlink, neither hub finds the other's
members any more. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import httpx
import pytest
from neighbourhood_world import link_state, set_profile, user_token
from sqlalchemy import select
from support.hubs import HubProcess, wait_for
from support.world import query

from fedi.models import NeighbourSync

pytestmark = pytest.mark.multihub


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
