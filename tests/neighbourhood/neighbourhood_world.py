"""Helpers for the neighbourhood tests: act as a hub (signed requests with its instance key),
read its link state, give members a profile and an API token. Imported by test modules of
this folder (no conftest here: the shared fixtures stay in tests/conftest.py)."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select
from support.hubs import HubProcess
from support.world import hub_session, query

from fedi.api.auth import token_hash
from fedi.ids import new_id
from fedi.models import Actor, Neighbour, OAuthApp, OAuthToken, User
from fedi.signatures import sign_request
from fedi.vocab.context import ACCEPT_AP


def instance_key(hub: HubProcess) -> tuple[str, str]:
    """(keyId, private key PEM) of the hub's instance actor, from its database."""
    def read(session):  # type: ignore[no-untyped-def]
        actor = session.scalar(select(Actor).where(Actor.local, Actor.type == "Application"))
        return actor.key_id, actor.private_key_pem

    return query(hub, read)


def signed_get(signer: HubProcess, url: str) -> httpx.Response:
    """A GET of ``url`` signed by ``signer``'s instance actor, as its hub would send it."""
    key_id, pem = instance_key(signer)
    headers = sign_request("GET", url, headers={"Accept": ACCEPT_AP}, body=None,
                           private_key_pem=pem, key_id=key_id, now=datetime.now(UTC))
    return httpx.get(url, headers=headers, timeout=10)


def signed_post(signer: HubProcess, url: str, doc: dict[str, Any]) -> httpx.Response:
    key_id, pem = instance_key(signer)
    body = json.dumps(doc).encode()
    headers = sign_request("POST", url, headers={"Content-Type": "application/activity+json"},
                           body=body, private_key_pem=pem, key_id=key_id, now=datetime.now(UTC))
    return httpx.post(url, content=body, headers=headers, timeout=10)


def link_state(hub: HubProcess, other: HubProcess) -> str | None:
    return query(hub, lambda s: s.scalar(select(Neighbour.state).where(
        Neighbour.domain == other.domain)))


def link_row(hub: HubProcess, other: HubProcess) -> Neighbour | None:
    return query(hub, lambda s: s.scalar(select(Neighbour).where(
        Neighbour.domain == other.domain)))


def set_profile(hub: HubProcess, username: str, *, trade: str, postal_code: str,
                business_name: str = "", display_name: str = "") -> None:
    with hub_session(hub) as (session, _ctx):
        actor = session.scalar(select(Actor).where(Actor.local, Actor.username == username))
        actor.trade = trade
        actor.postal_code = postal_code
        actor.business_name = business_name or None
        actor.display_name = display_name or username


def user_token(hub: HubProcess, username: str) -> str:
    """A bearer token of ``username`` for the client API, written straight to the database."""
    token = secrets.token_urlsafe(24)
    with hub_session(hub) as (session, _ctx):
        user = session.scalar(select(User).join(Actor, Actor.id == User.actor_id)
                              .where(Actor.username == username))
        app = OAuthApp(id=new_id(), name="test", client_id=secrets.token_hex(8),
                       client_secret=secrets.token_hex(16), redirect_uris="urn:ietf:wg:oauth:2.0:oob",
                       scopes="read write follow")
        session.add(app)
        session.flush()
        session.add(OAuthToken(id=new_id(), token_hash=token_hash(token), app_id=app.id,
                               user_id=user.id, scopes="read write follow"))
    return token
