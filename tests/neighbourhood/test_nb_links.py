"""The link protocol seen from one hub, in process: what a stranger's link request does (and
never does), what an admin's decisions queue, and who may send to or receive from whom."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from fedi.app import create_app
from fedi.config import Settings, load_settings, render_config
from fedi.db import make_engine, make_sessionmaker, transaction
from fedi.ids import Urls, new_id
from fedi.keys import generate_private_key_pem, public_pem_from_private
from fedi.migrate import upgrade
from fedi.models import Delivery, Neighbour, OutboxActivity
from fedi.peers import Peers
from fedi.services import neighbours
from fedi.signatures import sign_request
from outbox.context import PublishContext

STRANGER = "stranger.test"
KEY = generate_private_key_pem()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Iterator[Settings]:
    """A hub (pages and inbox, no workers) on SQLite and on PostgreSQL."""
    text = render_config(domain="onze.test", name="Onze", scheme="https", territory=["75011"],
                         database_url=database_url)
    text = text.replace("port = 8000", "port = 8000\nrun_workers = false")
    (tmp_path / "voisins.toml").write_text(text, encoding="utf-8")
    loaded = load_settings(str(tmp_path / "voisins.toml"), env={})
    upgrade(loaded.database_url)
    yield loaded


def link_request(territory: list[str], *, kind: str = "Follow",
                 key: str = KEY) -> tuple[bytes, dict[str, str]]:
    doc = {"@context": "https://www.w3.org/ns/activitystreams",
           "id": f"https://{STRANGER}/actor/follows/{new_id()}", "type": kind,
           "actor": f"https://{STRANGER}/actor", "object": "https://onze.test/actor",
           "territory": territory}
    body = json.dumps(doc).encode()
    headers = sign_request("POST", "https://onze.test/actor/inbox",
                           headers={"Content-Type": "application/activity+json"}, body=body,
                           private_key_pem=key, key_id=f"https://{STRANGER}/actor#main-key",
                           now=datetime.now(UTC))
    return body, headers


def rows(settings: Settings) -> list[tuple[str, str, str]]:
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            return [(r.domain, r.state, r.source) for r in session.scalars(select(Neighbour))]
    finally:
        engine.dispose()


def queued(settings: Settings) -> list[tuple[str, str]]:
    """(activity type, inbox) of every pending delivery."""
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            return sorted(session.execute(
                select(OutboxActivity.type, Delivery.inbox_url)
                .join(Delivery, Delivery.activity_id == OutboxActivity.id)
                .where(Delivery.state == "pending")).tuples())
    finally:
        engine.dispose()


def cli(settings: Settings, *args: str) -> int:
    from fedi.cli import main

    assert settings.config_path is not None
    return main(["--config", settings.config_path, *args])


def stranger_actor(territory: list[str]) -> dict[str, object]:
    uri = f"https://{STRANGER}/actor"
    return {"@context": ["https://www.w3.org/ns/activitystreams"], "id": uri,
            "type": "Application", "preferredUsername": STRANGER, "inbox": f"{uri}/inbox",
            "territory": territory,
            "publicKey": {"id": f"{uri}#main-key", "owner": uri,
                          "publicKeyPem": public_pem_from_private(KEY)}}


def serve_stranger(hub, territory: list[str]) -> list[str]:  # type: ignore[no-untyped-def]
    """Answer the hub's outgoing requests as the stranger's server would; returns the
    list of URLs fetched."""
    fetched: list[str] = []

    async def fake(request, **kwargs):  # type: ignore[no-untyped-def]
        fetched.append(str(request.url))
        if str(request.url) == f"https://{STRANGER}/actor":
            return httpx.Response(200, json=stranger_actor(territory), request=request,
                                  headers={"Content-Type": "application/activity+json"})
        return httpx.Response(404, request=request)

    hub.fetcher.client.send = fake
    return fetched


def test_stranger__link_request_verified_then_waits(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        hub = client.app.state.hub  # type: ignore[attr-defined]
        fetched = serve_stranger(hub, ["75001"])
        # Anything but a link request from a hub we do not know: refused, nothing fetched.
        body, headers = link_request(["75001"], kind="Create")
        assert client.post("/actor/inbox", content=body, headers={**headers, "Host": "onze.test"}
                           ).status_code == 403
        assert fetched == []
        # A link request signed with another key: its /actor is fetched (that one URL),
        # the signature fails, nothing is stored.
        body, headers = link_request(["75012"], key=generate_private_key_pem())
        answer = client.post("/actor/inbox", content=body, headers={**headers, "Host": "onze.test"})
        assert answer.status_code == 401, answer.text
        assert rows(settings) == []
        assert fetched == [f"https://{STRANGER}/actor"]
        hub.extras["link_verifications"].clear()  # the once-per-10-s throttle
        # Signed by the stranger, claiming to border us (its /actor says 75001): it is
        # kept for the admins, 202, and that one URL is all we fetched.
        body, headers = link_request(["75012"])
        answer = client.post("/actor/inbox", content=body, headers={**headers, "Host": "onze.test"})
        assert answer.status_code == 202, answer.text
        assert rows(settings) == [(STRANGER, "pending", "remote")]
        assert set(fetched) == {f"https://{STRANGER}/actor"}
        assert queued(settings) == []  # no Accept, no Follow: an admin decides
        # Its members still cannot deliver to us.
        body, headers = link_request(["75001"], kind="Create")
        assert client.post("/inbox", content=body, headers={**headers, "Host": "onze.test"}
                           ).status_code == 403

    # The admin refuses: a Reject is queued, and the stranger is refused from now on.
    assert cli(settings, "neighbours", "refuse", STRANGER) == 0
    assert rows(settings) == [(STRANGER, "refused", "admin")]
    assert queued(settings) == [("Reject", f"https://{STRANGER}/actor/inbox")]
    engine = make_engine(settings.database_url)
    peers = Peers(settings, make_sessionmaker(engine))
    assert not peers.is_allowed(STRANGER) and peers.may_contact(STRANGER)
    engine.dispose()
    with TestClient(create_app(settings)) as client:
        serve_stranger(client.app.state.hub, ["75001"])  # type: ignore[attr-defined]
        body, headers = link_request(["75001"])
        again = client.post("/actor/inbox", content=body, headers={**headers, "Host": "onze.test"})
        assert again.status_code == 403 and "declined" in again.json()["error"]


def test_admin_approves_a_waiting_request(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        serve_stranger(client.app.state.hub, ["75008"])  # type: ignore[attr-defined]
        body, headers = link_request(["75008"])
        assert client.post("/actor/inbox", content=body,
                           headers={**headers, "Host": "onze.test"}).status_code == 202
    assert cli(settings, "neighbours", "approve", STRANGER) == 0
    assert rows(settings) == [(STRANGER, "requested", "admin")]
    # Accept of their Follow and our own Follow, both to their instance actor's inbox.
    assert queued(settings) == [("Accept", f"https://{STRANGER}/actor/inbox"),
                                ("Follow", f"https://{STRANGER}/actor/inbox")]
    engine = make_engine(settings.database_url)
    peers = Peers(settings, make_sessionmaker(engine))
    assert peers.is_allowed(STRANGER) and not peers.is_linked(STRANGER)
    assert STRANGER not in peers.allowed()  # not linked yet: no neighbourhood post goes there
    engine.dispose()
    assert cli(settings, "neighbours", "approve", STRANGER) == 2  # nothing waits any more


@contextmanager
def linking(settings: Settings) -> Iterator[tuple[sessionmaker[Session], Peers, PublishContext]]:
    """Sessions, peers and a publish context of the hub, as the link services use them."""
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    peers = Peers(settings, sessions)
    try:
        yield sessions, peers, PublishContext(settings=settings, urls=Urls(settings.base_url),
                                              is_allowed=peers.is_allowed,
                                              linked_domains=peers.allowed)
    finally:
        engine.dispose()


def test_unlink_drops_what_is_queued_and_sends_an_undo(settings: Settings) -> None:
    with linking(settings) as (sessions, peers, ctx):
        with transaction(sessions) as session:
            row = neighbours.request_link(session, ctx, "douze.test")
            row.incoming_accepted = row.outgoing_accepted = True
            row.follow_in_uri = "https://douze.test/actor/follows/1"
            row.state = "linked"
        peers.invalidate()
        assert peers.is_linked("douze.test")
        with transaction(sessions) as session:
            neighbours.request_link(session, ctx, "vingt.test")  # a second, still requested
        with transaction(sessions) as session:
            neighbours.unlink(session, ctx, "douze.test")
        peers.invalidate()
        assert not peers.is_allowed("douze.test") and peers.may_contact("douze.test")
        assert [t for t, inbox in queued(settings) if "douze" in inbox] == ["Undo"]
        with sessions() as session:  # our Follow, still queued for douze, was dropped
            dropped = session.execute(select(OutboxActivity.type, Delivery.last_error).join(
                Delivery, Delivery.activity_id == OutboxActivity.id).where(
                Delivery.domain == "douze.test", Delivery.state == "dropped")).all()
        assert [t for t, _ in dropped] == ["Follow"] and "ended" in dropped[0][1]
        assert [t for t, inbox in queued(settings) if "vingt" in inbox] == ["Follow"]
        with transaction(sessions) as session:
            with pytest.raises(neighbours.LinkError, match="not a neighbour"):
                neighbours.unlink(session, ctx, "douze.test")
            with pytest.raises(neighbours.LinkError, match="this hub itself"):
                neighbours.request_link(session, ctx, "onze.test")
            # The mesh never proposes again a hub an admin refused.
            again = neighbours.request_link(session, ctx, "douze.test", source="mesh")
            assert again.state == "refused"


def test_unlinking_a_hub_listed_in_the_config_holds(settings: Settings) -> None:
    """A hub listed in ``federation.neighbours`` is linked from the start; an admin who
    unlinks it (console or CLI) is obeyed until they link it again: not linked, not a
    voucher, not trusted for automatic links, no longer reachable for signed requests."""
    from dataclasses import replace

    from fedi.services import trust

    listed = replace(settings, neighbours=("douze.test",))
    with linking(listed) as (sessions, peers, ctx):
        with transaction(sessions) as session:
            row = neighbours.request_link(session, ctx, "douze.test")
            row.incoming_accepted = row.outgoing_accepted = True
            row.state = "linked"
        peers.invalidate()
        assert peers.is_linked("douze.test") and "douze.test" in peers.linked()
        with sessions() as session:
            assert "douze.test" in trust.vouchers(session, listed)
            assert trust.is_listed(listed, neighbours.find_row(session, "douze.test"),
                                   "douze.test")
        with transaction(sessions) as session:
            neighbours.unlink(session, ctx, "douze.test")
        peers.invalidate()
        assert not peers.is_linked("douze.test") and "douze.test" not in peers.linked()
        assert not peers.is_allowed("douze.test")
        with sessions() as session:
            assert "douze.test" not in trust.vouchers(session, listed)
            assert not trust.is_listed(listed, neighbours.find_row(session, "douze.test"),
                                       "douze.test")
        with transaction(sessions) as session:  # the admin links it again
            neighbours.request_link(session, ctx, "douze.test")
        peers.invalidate()
        assert peers.is_linked("douze.test")
