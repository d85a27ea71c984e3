"""Link requests from hubs nobody listed (issue 13, items 2 and 12).

They used to be stored unverified: 100 ``Follow``s signed with keys on invented domains
filled the waiting list and a real request then got 429. Now the signature is verified
(the requester's ``/actor`` fetched under the outgoing-request guards) before anything is
stored, the waiting list is capped per domain and in total, and requests expire.
On a real hub listing nobody, with small caps (4 in total, 2 per domain), on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import timedelta
from types import SimpleNamespace

import httpx
import pytest
from sqlalchemy import func, select, update
from support.fakehub import FakeHub
from support.hostile import HostileRemote, pg_database_url, start_hub
from support.hubs import HubProcess
from support.world import query

from fedi.db import utcnow
from fedi.keys import generate_private_key_pem
from fedi.models import Actor, Neighbour
from fedi.signatures import sign_request

FLOOD = 100


@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    url = pg_database_url(request, "pending") if request.param == "postgresql" else None
    with ExitStack() as stack:
        hub = start_hub(tmp_path_factory.mktemp(f"pending-{request.param}"), "pending",
                        database_url=url,
                        federation="max_pending_links = 4\nmax_pending_links_per_domain = 2\n")
        stack.callback(hub.stop)
        yield SimpleNamespace(hub=hub, stack=stack)


def fake_hub(world: SimpleNamespace, territory: str = "75001",
             host: str | None = None) -> FakeHub:
    return FakeHub(world.stack.enter_context(HostileRemote(host)), [territory])


def pending(hub: HubProcess) -> list[str]:
    return sorted(query(hub, lambda s: list(s.scalars(select(Neighbour.domain).where(
        Neighbour.state == "pending")))))


def forged_request(hub: HubProcess, n: int, key: str) -> tuple[bytes, dict[str, str]]:
    """A link request whose keyId is on a domain that does not exist."""
    base = f"http://forged-{n}.invalid"
    doc = {"@context": "https://www.w3.org/ns/activitystreams",
           "id": f"{base}/actor/follows/{n}", "type": "Follow", "actor": f"{base}/actor",
           "object": f"{hub.base}/actor", "territory": ["75002"]}
    body = json.dumps(doc).encode()
    url = f"{hub.base}/actor/inbox"
    headers = sign_request("POST", url, headers={"Content-Type": "application/activity+json"},
                           body=body, private_key_pem=key, key_id=f"{base}/actor#main-key",
                           now=utcnow())
    return body, headers


def test_100_unverifiable_requests_store_nothing(world: SimpleNamespace) -> None:
    hub = world.hub
    key = generate_private_key_pem()
    requests = [forged_request(hub, n, key) for n in range(FLOOD)]

    async def flood() -> list[httpx.Response]:
        limit = asyncio.Semaphore(16)
        async with httpx.AsyncClient(timeout=30) as client:
            async def one(body: bytes, headers: dict[str, str]) -> httpx.Response:
                async with limit:
                    return await client.post(f"{hub.base}/actor/inbox", content=body,
                                             headers=headers)

            return await asyncio.gather(*(one(b, h) for b, h in requests))

    answers = asyncio.run(flood())
    assert [a.status_code for a in answers] == [401] * FLOOD, answers[0].text
    assert "cannot get key" in answers[0].json()["error"]
    assert pending(hub) == []
    assert query(hub, lambda s: s.scalar(select(func.count()).select_from(Neighbour))) == 0
    assert query(hub, lambda s: s.scalar(select(func.count()).select_from(Actor).where(
        Actor.domain.like("forged-%")))) == 0
    # A real request afterwards is verified and kept for the admins.
    real = fake_hub(world)
    response = real.ask_to_link(hub)
    assert response.status_code == 202, response.text
    assert pending(hub) == [real.domain]
    assert f"{real.domain}\tpending" in hub.cli("neighbours", "list").stdout


def test_real_key_wrong_signature__stores_nothing(world: SimpleNamespace) -> None:
    """A hub that exists, but the request is not signed with its key: its /actor is
    fetched once, nothing is stored, not even the actor document."""
    hub = world.hub
    other = fake_hub(world)
    response = other.remote.post(f"{hub.base}/actor/inbox", other.follow_doc(hub), other.actor,
                                 private_key_pem=generate_private_key_pem())
    assert response.status_code == 401, response.text
    assert other.remote.count("/actor", "GET") == 1
    assert other.domain not in pending(hub)
    assert query(hub, lambda s: s.scalar(select(Actor).where(Actor.uri == other.uri))) is None


def test_caps_per_domain_and_in_total(world: SimpleNamespace) -> None:
    hub = world.hub
    before = pending(hub)
    assert len(before) <= 1
    first = fake_hub(world)
    host = first.remote.host
    same = [first, fake_hub(world, host=host), fake_hub(world, host=host)]
    assert same[0].ask_to_link(hub).status_code == 202
    room = 4 - len(before) - 1
    if room >= 2:
        assert same[1].ask_to_link(hub).status_code == 202
        # A third from the same domain (another port of the same address): refused.
        third = same[2].ask_to_link(hub)
        assert third.status_code == 429, third.text
        assert "too many" in third.json()["error"]
        assert same[2].domain not in pending(hub)
    while len(pending(hub)) < 4:
        assert fake_hub(world).ask_to_link(hub).status_code == 202
    late = fake_hub(world)
    refused = late.ask_to_link(hub)
    assert refused.status_code == 429, refused.text
    assert "too many link requests" in refused.json()["error"]
    assert len(pending(hub)) == 4 and late.domain not in pending(hub)


def test_expired_requests_are_dropped(world: SimpleNamespace) -> None:
    hub = world.hub
    while len(pending(hub)) < 4:
        assert fake_hub(world).ask_to_link(hub).status_code == 202
    old = pending(hub)
    # 15 days ago (the default expiry is 14 days): the row's own timestamp, no sleep.
    query(hub, lambda s: (s.execute(update(Neighbour).where(Neighbour.state == "pending")
                                    .values(updated_at=utcnow() - timedelta(days=15))),
                          s.commit()))
    fresh = fake_hub(world)
    response = fresh.ask_to_link(hub)
    assert response.status_code == 202, response.text
    assert pending(hub) == [fresh.domain]
    gone = hub.cli("neighbours", "approve", old[0], check=False)
    assert gone.returncode != 0 and "no link request waiting" in gone.stderr


def test_nested_json_link_request__400_before_any_fetch(world: SimpleNamespace) -> None:
    """Deeply nested bodies from an unknown signer get 400, never a 500 (item 12), and
    the signer's key is not even fetched."""
    hub = world.hub
    nested = fake_hub(world)
    for depth in (100_000, 300):
        body = (b'{"type": "Follow", "x": ' + b"[" * depth + b"]" * depth + b"}")
        headers = nested.remote.sign("POST", f"{hub.base}/actor/inbox", nested.actor, body)
        response = nested.remote.send("POST", f"{hub.base}/actor/inbox", headers, body)
        assert response.status_code == 400, response.text
        assert "nested" in response.json()["error"]
    assert nested.remote.count("/actor", "GET") == 0
    assert nested.domain not in pending(hub)
