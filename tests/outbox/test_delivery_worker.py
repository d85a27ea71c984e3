"""The delivery worker against a scripted, hostile or unreachable remote (httpx.MockTransport).

A frozen clock drives retries, Retry-After and the breaker: nothing here sleeps to wait.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from fedi.app import build_hub, start_federation, stop_federation
from fedi.config import ConfigError, Settings, load_settings, render_config
from fedi.db import make_engine, make_sessionmaker, transaction
from fedi.http import Fetcher
from fedi.ids import new_id
from fedi.migrate import upgrade
from fedi.models import Actor, Delivery, OutboxActivity
from fedi.signatures import verify_request
from outbox import queue
from outbox.breaker import CircuitBreaker
from outbox.worker import (
    DeliveryWorker,
    delivery_options,
    start_delivery_worker,
    stop_delivery_worker,
)

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
Reply = int | tuple[int, dict[str, str]] | Exception


class Clock:
    """A frozen clock that tests move by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@dataclass
class FakeRemote:
    """Inboxes on any host: answers from a per-host script (then 202), records every request."""

    script: dict[str, list[Reply]] = field(default_factory=lambda: defaultdict(list))
    requests: list[httpx.Request] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    latency: float = 0.0
    in_flight: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    max_in_flight: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    block: asyncio.Event | None = None
    stalled: dict[str, asyncio.Event] = field(default_factory=dict)

    def to(self, host: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.host == host]

    async def handle(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        self.requests.append(request)
        self.bodies.append(await request.aread())
        self.in_flight[host] += 1
        self.in_flight["*"] += 1
        self.max_in_flight[host] = max(self.max_in_flight[host], self.in_flight[host])
        self.max_in_flight["*"] = max(self.max_in_flight["*"], self.in_flight["*"])
        try:
            if self.block is not None:
                await self.block.wait()
            if host in self.stalled:
                await self.stalled[host].wait()
            if self.latency:
                # Simulated service time so that concurrent requests overlap.
                await asyncio.sleep(self.latency)
            reply: Reply = self.script[host].pop(0) if self.script[host] else 202
        finally:
            self.in_flight[host] -= 1
            self.in_flight["*"] -= 1
        if isinstance(reply, Exception):
            raise reply
        status, headers = reply if isinstance(reply, tuple) else (reply, {})
        text = "" if status < 300 else f"error {status} from {host}"
        return httpx.Response(status, headers=headers, text=text)


@dataclass
class World:
    """Alice on sender.test, a fake remote, an allow-list, and a frozen clock."""

    settings: Settings
    sessions: sessionmaker[Session]
    author: Actor
    remote: FakeRemote
    clock: Clock
    allowed: set[str]
    fetcher: Fetcher

    def post(self, inboxes: list[str]) -> OutboxActivity:
        aid = new_id()
        uri = f"{self.author.uri}/activities/{aid}"
        payload = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": uri,
            "type": "Create",
            "actor": self.author.uri,
            "to": ["https://b.example/members"],
            "object": {"id": f"{uri}/note", "type": "Note", "content": "Café à 19 h"},
        }
        with transaction(self.sessions) as session:
            activity = OutboxActivity(
                id=aid,
                uri=uri,
                actor_id=self.author.id,
                type="Create",
                object_uri=f"{uri}/note",
                payload=payload,
            )
            session.add(activity)
            queue.enqueue_deliveries(session, activity, inboxes, now=self.clock())
        return activity

    def worker(self, **kwargs: Any) -> DeliveryWorker:
        kwargs.setdefault("breaker", CircuitBreaker(threshold=3, cooldown=60))
        # Jitter pinned to its maximum: backoff after the first failure is exactly 30 s.
        kwargs.setdefault("rng", lambda: 1.0)
        return DeliveryWorker(self.sessions, self.fetcher, clock=self.clock, **kwargs)

    def rows(self) -> list[Delivery]:
        with self.sessions() as session:
            return list(session.scalars(select(Delivery).order_by(Delivery.id)))

    def stats(self) -> dict[str, int]:
        with self.sessions() as session:
            return queue.stats(session)


@pytest.fixture
def world(
    db_backend: str, new_database_url: Callable[[str, str], str], tmp_path: Path
) -> Iterator[World]:
    from fedi.services.accounts import create_user

    config = tmp_path / "voisins.toml"
    config.write_text(
        render_config(
            domain="sender.test",
            name="Sender",
            territory=["75011"],
            database_url=new_database_url(db_backend, "worker"),
        )
    )
    settings = load_settings(str(config), env={})
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    with transaction(sessions) as session:
        user = create_user(
            session, settings, "alice", email="alice@sender.test", password="alice-password"
        )
        author = session.get(Actor, user.actor_id)
        assert author is not None
    remote = FakeRemote()
    clock = Clock(T0)
    allowed = {"b.example", "c.example", "down.example", "up.example", "stalled.example"}
    client = httpx.AsyncClient(transport=httpx.MockTransport(remote.handle))
    fetcher = Fetcher(client, is_allowed=lambda d: d in allowed, allow_http=False, clock=clock)
    yield World(settings, sessions, author, remote, clock, allowed, fetcher)
    engine.dispose()


def run(coro: Any) -> Any:
    return asyncio.run(coro)


# --- outcomes ---------------------------------------------------------------------------------


def test_202__sent_once_with_a_valid_signature(world: World) -> None:
    activity = world.post(["https://b.example/inbox"])
    assert run(world.worker().run_once()) == 1

    (row,) = world.rows()
    assert (row.state, row.attempts, row.last_status, row.sent_at) == ("sent", 1, 202, T0)
    (request,) = world.remote.requests
    body = world.remote.bodies[0]
    assert json.loads(body) == activity.payload
    assert request.headers["content-type"] == "application/activity+json"
    check = verify_request(
        "POST",
        request.url.raw_path.decode(),
        request.headers,
        body,
        public_key_pem=world.author.public_key_pem or "",
        now=T0,
    )
    assert check.ok, check.detail
    assert check.key_id == world.author.key_id
    assert run(world.worker().run_once()) == 0


def test_500_then_202__retried_after_the_backoff_then_sent(world: World) -> None:
    world.remote.script["b.example"] = [500]
    world.post(["https://b.example/inbox"])
    worker = world.worker()
    assert run(worker.run_once()) == 1

    (row,) = world.rows()
    assert (row.state, row.attempts, row.last_status) == ("pending", 1, 500)
    assert row.last_error == "HTTP 500: error 500 from b.example"
    assert row.next_attempt_at == T0 + timedelta(seconds=30)
    assert row.locked_until is None

    world.clock.advance(seconds=29)
    assert run(worker.run_once()) == 0
    world.clock.advance(seconds=1)
    assert run(worker.run_once()) == 1
    (row,) = world.rows()
    assert (row.state, row.attempts, row.last_status, row.last_error) == ("sent", 2, 202, None)
    assert len(world.remote.requests) == 2


def test_410__dead_with_the_reason_visible(world: World) -> None:
    world.remote.script["b.example"] = [410]
    world.post(["https://b.example/inbox"])
    worker = world.worker()
    run(worker.run_once())
    (row,) = world.rows()
    assert (row.state, row.attempts, row.last_status) == ("dead", 1, 410)
    assert row.last_error == "permanent failure: HTTP 410: error 410 from b.example"
    world.clock.advance(days=1)
    assert run(worker.run_once()) == 0
    assert len(world.remote.requests) == 1


@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_429_with_retry_after__next_attempt_not_before_it(world: World, form: str) -> None:
    value = "3600" if form == "seconds" else format_datetime(T0 + timedelta(hours=1), usegmt=True)
    world.remote.script["b.example"] = [(429, {"Retry-After": value})]
    world.post(["https://b.example/inbox"])
    worker = world.worker()
    run(worker.run_once())
    (row,) = world.rows()
    assert (row.state, row.last_status, row.next_attempt_at) == (
        "pending",
        429,
        T0 + timedelta(hours=1),
    )

    world.clock.advance(seconds=3599)
    assert run(worker.run_once()) == 0
    world.clock.advance(seconds=1)
    assert run(worker.run_once()) == 1
    assert world.rows()[0].state == "sent"


def test_network_error__retried_with_the_error_kept(world: World) -> None:
    world.remote.script["b.example"] = [httpx.ConnectError("connection refused")]
    world.post(["https://b.example/inbox"])
    run(world.worker().run_once())
    (row,) = world.rows()
    assert (row.state, row.attempts, row.last_status) == ("pending", 1, None)
    assert row.last_error is not None and row.last_error.startswith("network error:")
    assert "connection refused" in row.last_error


def test_failures_past_the_horizon__dead_not_dropped(world: World) -> None:
    world.remote.script["b.example"] = [503]
    world.post(["https://b.example/inbox"])
    world.clock.advance(days=7)
    run(world.worker().run_once())
    (row,) = world.rows()
    assert row.state == "dead"
    assert row.last_error is not None and row.last_error.startswith("gave up after 1 attempts")


def test_domain_no_longer_allowed__dropped_without_a_request(world: World) -> None:
    world.post(["https://b.example/inbox"])
    world.post(["https://c.example/inbox"])
    world.allowed.discard("b.example")
    assert run(world.worker().run_once()) == 2
    assert [(r.domain, r.state) for r in world.rows()] == [
        ("b.example", "dropped"),
        ("c.example", "sent"),
    ]
    assert [r.url.host for r in world.remote.requests] == ["c.example"]


# --- breaker and limits -----------------------------------------------------------------------


def test_breaker__opens_after_repeated_failures_and_skips_the_host(world: World) -> None:
    world.remote.script["down.example"] = [503] * 3
    for _ in range(5):
        world.post(["https://down.example/inbox"])
    world.post(["https://up.example/inbox"])
    breaker = CircuitBreaker(threshold=3, cooldown=60)
    worker = world.worker(breaker=breaker, per_host=1)

    assert run(worker.run_once()) == 6
    assert len(world.remote.to("down.example")) == 3
    assert breaker.state("down.example") == "open"
    down = [r for r in world.rows() if r.domain == "down.example"]
    tried, skipped = down[:3], down[3:]
    assert all((r.attempts, r.last_status) == (1, 503) for r in tried)
    # Skipped rows were not attempted: no attempt counted, back after about one cooldown.
    assert all(
        (r.state, r.attempts, r.last_status, r.locked_until) == ("pending", 0, None, None)
        for r in skipped
    )
    assert all(r.next_attempt_at == T0 + timedelta(seconds=60) for r in skipped)
    assert [r.state for r in world.rows() if r.domain == "up.example"] == ["sent"]

    # The failed rows fall due at +30 s, but the circuit is still open: no request at all.
    world.clock.advance(seconds=30)
    assert run(worker.run_once()) == 3
    assert len(world.remote.to("down.example")) == 3
    assert [r.attempts for r in world.rows() if r.domain == "down.example"] == [1, 1, 1, 0, 0]

    # After the cooldown the host is back: one probe closes the circuit, the rest follow.
    world.clock.advance(seconds=60)
    while run(worker.run_once()):
        pass
    assert breaker.state("down.example") == "closed"
    assert world.stats() == {"pending": 0, "sent": 6, "dead": 0, "dropped": 0}
    assert len(world.remote.to("down.example")) == 3 + 5


def test_limits__global_and_per_host_concurrency(world: World) -> None:
    for _ in range(8):
        world.post(["https://b.example/inbox", "https://c.example/inbox"])
    world.remote.latency = 0.02
    worker = world.worker(concurrency=3, per_host=2, batch=64)
    assert run(worker.run_once()) == 16
    assert world.remote.max_in_flight["*"] == 3
    assert world.remote.max_in_flight["b.example"] <= 2
    assert world.remote.max_in_flight["c.example"] <= 2
    assert world.stats()["sent"] == 16


def test_batch__claims_at_most_batch_rows(world: World) -> None:
    for _ in range(5):
        world.post(["https://b.example/inbox"])
    worker = world.worker(batch=2)
    assert [run(worker.run_once()) for _ in range(4)] == [2, 2, 1, 0]


# --- crashes and the loop ---------------------------------------------------------------------


def test_killed_mid_delivery__another_worker_sends_after_the_lease(world: World) -> None:
    world.post(["https://b.example/inbox", "https://c.example/inbox"])
    lease = timedelta(seconds=60)

    async def die_mid_delivery() -> None:
        world.remote.block = asyncio.Event()  # the remote never answers
        task = asyncio.create_task(world.worker(lease=lease).run_once())
        while len(world.remote.requests) < 2:
            await asyncio.sleep(0)
        task.cancel()  # the process dies with both POSTs in flight
        with pytest.raises(asyncio.CancelledError):
            await task

    run(die_mid_delivery())
    world.remote.block = None
    assert all(
        (r.state, r.attempts, r.locked_until) == ("pending", 0, T0 + lease) for r in world.rows()
    )
    other = world.worker(lease=lease)
    assert run(other.run_once()) == 0  # still leased by the dead worker
    world.clock.advance(seconds=60)
    assert run(other.run_once()) == 2
    assert world.stats()["sent"] == 2
    assert len(world.remote.requests) == 4  # duplicates are the receiver's to absorb


def test_run_forever__wake_starts_a_delivery_without_waiting_for_the_poll(world: World) -> None:
    async def scenario() -> None:
        # A poll this long means only wake() can explain a prompt delivery.
        worker = world.worker(idle_poll=60.0)
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run_forever(stop))
        await asyncio.sleep(0.05)  # let it go idle; not a synchronisation point
        await asyncio.to_thread(world.post, ["https://b.example/inbox"])
        # Publishing runs in a request thread: wake() must be safe from there.
        await asyncio.to_thread(worker.wake)
        async with asyncio.timeout(10):
            while world.stats()["sent"] != 1:
                await asyncio.sleep(0.01)
        await stop_delivery_worker(task, stop)
        assert task.done()

    run(scenario())


def test_run_forever__a_stalled_host_does_not_hold_back_the_others(world: World) -> None:
    async def scenario() -> None:
        release = world.remote.stalled["stalled.example"] = asyncio.Event()
        world.post(["https://stalled.example/inbox", "https://b.example/inbox"])
        worker = world.worker(idle_poll=60.0)
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run_forever(stop))
        async with asyncio.timeout(10):
            while world.stats()["sent"] != 1:
                await asyncio.sleep(0.01)
            # A later post goes out while the stalled POST is still hanging.
            await asyncio.to_thread(world.post, ["https://b.example/inbox"])
            worker.wake()
            while world.stats()["sent"] != 2:
                await asyncio.sleep(0.01)
        assert world.remote.in_flight["stalled.example"] == 1
        # Stopping lets what is in flight finish, and records it.
        stop.set()
        release.set()
        await asyncio.wait_for(task, 10)
        assert world.stats() == {"pending": 0, "sent": 3, "dead": 0, "dropped": 0}
        assert len(world.remote.requests) == 3

    run(scenario())


def test_slot_wait__rows_stuck_behind_a_stalled_host_are_released_untried(world: World) -> None:
    release = world.remote.stalled["stalled.example"] = asyncio.Event()
    for _ in range(3):
        world.post(["https://stalled.example/inbox"])
    world.post(["https://b.example/inbox"])
    worker = world.worker(per_host=1, slot_wait=0.05)

    async def scenario() -> int:
        task = asyncio.create_task(worker.run_once())
        async with asyncio.timeout(10):
            while worker.counters.deferred < 2:
                await asyncio.sleep(0.01)
        release.set()
        return await task

    assert run(scenario()) == 4
    stalled = [r for r in world.rows() if r.domain == "stalled.example"]
    assert [(r.state, r.attempts) for r in stalled] == [("sent", 1), ("pending", 0), ("pending", 0)]
    # Released untried: no attempt, no lease, back after `defer_for` (jitter pinned to 1.0).
    assert all(
        (r.locked_until, r.last_status, r.next_attempt_at)
        == (None, None, T0 + timedelta(seconds=10))
        for r in stalled[1:]
    )
    assert len(world.remote.to("stalled.example")) == 1
    assert [r.state for r in world.rows() if r.domain == "b.example"] == ["sent"]


def test_delivery_options__read_from_the_delivery_table(world: World) -> None:
    settings = dataclasses.replace(
        world.settings,
        extra={
            "delivery": {"lease_seconds": "5", "batch": 8, "per_host": 2, "slot_wait_seconds": 0.5}
        },
    )
    assert delivery_options(settings) == {
        "lease": timedelta(seconds=5),
        "batch": 8,
        "per_host": 2,
        "slot_wait": 0.5,
    }
    for bad in ({"lease": 5}, {"batch": "many"}, {"concurrency": 0}, {"batch": True}):
        with pytest.raises(ConfigError):
            delivery_options(dataclasses.replace(world.settings, extra={"delivery": bad}))


def test_start_delivery_worker__registers_on_the_hub_and_stops(world: World) -> None:
    async def scenario() -> None:
        hub = build_hub(world.settings)
        await start_federation(hub)
        try:
            task, stop, worker = await start_delivery_worker(hub)
            assert hub.extras["delivery_worker"] is worker
            assert worker.is_allowed == hub.peers.is_allowed
            await stop_delivery_worker(task, stop)
            assert task.done() and task.exception() is None
        finally:
            await stop_federation(hub)

    run(scenario())
