"""The delivery worker: claim due rows, POST them concurrently, settle each by the retry policy.

One batch at a time: claim (lease + commit), deliver under a global and a per-host limit,
then record every result in one transaction (SQLite commits are fsync-bound, so they are
grouped). A worker killed at any point loses nothing: its rows stay pending under a lease
that expires, and another worker sends them again (at-least-once; receivers dedupe by
activity id). Several workers may run at once; on PostgreSQL they skip each other's rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import KW_ONLY, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from sqlalchemy.orm import Session, sessionmaker

from fedi.config import ConfigError, Settings
from fedi.db import transaction, utcnow
from fedi.http import Fetcher, Signer
from fedi.models import Delivery
from outbox import queue
from outbox.breaker import CircuitBreaker
from outbox.deliver import DeliveryOutcome, deliver
from outbox.retry import Action, decide, parse_retry_after

log = logging.getLogger("voisins.delivery")

Kind = Literal["attempted", "postponed", "dropped", "unsendable"]


@dataclass(frozen=True)
class _Result:
    """What happened to one claimed row during a batch, before it is written back."""

    row: Delivery
    kind: Kind
    outcome: DeliveryOutcome | None = None
    reason: str = ""


@dataclass
class WorkerCounters:
    """Running totals since the worker started, for logs and benchmarks."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    dead: int = 0
    dropped: int = 0
    postponed: int = 0


class _HubLike(Protocol):
    """The parts of fedi.web.state.Hub the worker needs (outbox sits below fedi.web)."""

    settings: Settings
    sessions: sessionmaker[Session]
    fetcher: Fetcher | None
    peers: Any
    extras: dict[str, Any]


@dataclass
class DeliveryWorker:
    """Sends pending deliveries; ``run_once()`` for tests, ``run_forever()`` for processes."""

    sessions: sessionmaker[Session]
    fetcher: Fetcher
    _: KW_ONLY
    clock: Callable[[], datetime] = utcnow
    breaker: CircuitBreaker = field(default_factory=CircuitBreaker)
    concurrency: int = 16
    per_host: int = 4
    batch: int = 64
    # Longer than the fetcher's deadline, so a live worker's batch never outlasts its lease.
    lease: timedelta = timedelta(seconds=60)
    idle_poll: float = 0.5
    is_allowed: Callable[[str], bool] | None = None
    rng: Callable[[], float] = random.random
    give_up_after: timedelta = timedelta(days=7)
    counters: WorkerCounters = field(default_factory=WorkerCounters)
    _wakeup: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        """Refuse limits that would deadlock or never claim anything."""
        for name in ("concurrency", "per_host", "batch"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.is_allowed is None:
            self.is_allowed = self.fetcher.is_allowed

    # --- one batch ---------------------------------------------------------------------

    async def run_once(self) -> int:
        """Claim one batch of due deliveries, send them, record results; returns rows claimed."""
        # Sync SQLAlchemy in a thread: the web process shares this event loop.
        rows, payloads, signers = await asyncio.to_thread(self._claim, self.clock())
        if not rows:
            return 0
        self.counters.claimed += len(rows)
        results = await self._send_all(rows, payloads, signers)
        await asyncio.to_thread(self._settle, results)
        return len(rows)

    def _claim(
        self, now: datetime
    ) -> tuple[list[Delivery], dict[int, bytes], dict[int, Signer]]:
        """Lease a batch and load its bodies and keys; committed before any HTTP work."""
        with transaction(self.sessions) as session:
            rows = queue.claim_due(session, now=now, limit=self.batch, lease=self.lease)
            if not rows:
                return [], {}, {}
            payloads = queue.load_payloads(session, (r.activity_id for r in rows))
            signers = queue.load_signers(session, (r.actor_id for r in rows))
        return rows, payloads, signers

    async def _send_all(
        self, rows: list[Delivery], payloads: Mapping[int, bytes], signers: Mapping[int, Signer]
    ) -> list[_Result]:
        """Deliver the batch concurrently: at most `concurrency` in all, `per_host` per host."""
        overall = asyncio.Semaphore(self.concurrency)
        hosts: dict[str, asyncio.Semaphore] = {}

        async def one(row: Delivery) -> _Result:
            assert self.is_allowed is not None
            if not self.is_allowed(row.domain):
                return _Result(row, "dropped", reason=f"{row.domain} is no longer a linked hub")
            payload, signer = payloads.get(row.activity_id), signers.get(row.actor_id)
            if payload is None or signer is None:
                return _Result(row, "unsendable", reason="activity or its author's key is gone")
            host = hosts.setdefault(row.domain, asyncio.Semaphore(self.per_host))
            # Host slot first: a task queued behind a busy host must not hold a global slot.
            async with host, overall:
                # Asked as late as possible, so rows queued behind failures see the circuit
                # open and are not sent to a host that just went down.
                if not self.breaker.allow(row.domain, self._seconds()):
                    return _Result(row, "postponed")
                outcome = await deliver(self.fetcher, row, payload, signer)
            self._record_health(row.domain, outcome)
            return _Result(row, "attempted", outcome)

        gathered = await asyncio.gather(*(one(r) for r in rows), return_exceptions=True)
        results: list[_Result] = []
        for row, item in zip(rows, gathered, strict=True):
            if isinstance(item, _Result):
                results.append(item)
            elif isinstance(item, Exception):
                # A bug in our own code, not a remote problem: count it as a failed attempt
                # with the reason, so the row neither spins nor vanishes.
                log.error("delivery %s to %s failed internally", row.id, row.inbox_url,
                          exc_info=item)
                outcome = DeliveryOutcome(status=None, error=f"internal error: {item!r}")
                results.append(_Result(row, "attempted", outcome))
            else:
                raise item  # CancelledError and friends: stop, leases cover the rows.
        return results

    def _seconds(self) -> float:
        # The breaker runs on the injected clock too, so one frozen clock drives both.
        return self.clock().timestamp()

    def _record_health(self, domain: str, outcome: DeliveryOutcome) -> None:
        """Tell the breaker whether the host answered like a healthy server."""
        if outcome.refused:
            return
        status = outcome.status
        if status is None or status >= 500 or status in (408, 429):
            self.breaker.record_failure(domain, self._seconds())
        else:
            # Any other answer (even 410) proves the host is up and talking to us.
            self.breaker.record_success(domain, self._seconds())

    def _settle(self, results: list[_Result]) -> None:
        """Write every result of the batch back in one transaction."""
        now = self.clock()
        postponed: list[int] = []
        dropped_domains: set[str] = set()
        with transaction(self.sessions) as session:
            for result in results:
                row, outcome = result.row, result.outcome
                if result.kind == "postponed":
                    postponed.append(row.id)
                elif result.kind == "dropped" or (
                    outcome is not None and outcome.refused and not self._allowed(row.domain)
                ):
                    dropped_domains.add(row.domain)
                elif result.kind == "unsendable" or outcome is None:
                    queue.mark_dead(session, row.id, status=None, reason=result.reason,
                                    count_attempt=False)
                    self.counters.dead += 1
                elif outcome.refused:
                    # Refused locally for a reason other than the peer list (plain http …):
                    # the same URL will be refused again, so dead-letter it visibly.
                    queue.mark_dead(session, row.id, status=None,
                                    reason=f"refused: {outcome.error}", count_attempt=False)
                    self.counters.dead += 1
                else:
                    self._apply(session, row, outcome, now)
            if postponed:
                # Back after about one cooldown, jittered so a host's rows do not return in
                # one burst; the breaker lets a single probe through when they do.
                delay = self.breaker.cooldown * (0.5 + 0.5 * self.rng())
                queue.postpone(session, postponed, until=now + timedelta(seconds=delay))
                self.counters.postponed += len(postponed)
            for domain in sorted(dropped_domains):
                self.counters.dropped += queue.drop_for_domain(session, domain)

    def _allowed(self, domain: str) -> bool:
        assert self.is_allowed is not None
        return self.is_allowed(domain)

    def _apply(
        self, session: Session, row: Delivery, outcome: DeliveryOutcome, now: datetime
    ) -> None:
        """Apply the retry policy to one attempted delivery."""
        decision = decide(
            row.attempts + 1,
            now,
            outcome.status,
            retry_after=parse_retry_after(outcome.retry_after, now),
            # The horizon runs from when the delivery was queued (Mastodon-like 7 days).
            first_attempt_at=row.created_at,
            rng=self.rng,
            give_up_after=self.give_up_after,
            error=outcome.error,
        )
        if decision.action is Action.SENT:
            assert outcome.status is not None
            queue.mark_sent(session, row.id, now=now, status=outcome.status)
            self.counters.sent += 1
        elif decision.action is Action.RETRY:
            queue.reschedule(session, row.id, decision, status=outcome.status)
            self.counters.retried += 1
        else:
            queue.mark_dead(session, row.id, status=outcome.status, reason=decision.reason)
            self.counters.dead += 1
            log.warning("delivery %s to %s is dead: %s", row.id, row.inbox_url, decision.reason)

    # --- forever -------------------------------------------------------------------------

    def wake(self) -> None:
        """Nudge an idle worker to claim now (publish calls this); safe from any thread."""
        loop = self._loop
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is None or running is loop:
            self._wakeup.set()
        else:
            loop.call_soon_threadsafe(self._wakeup.set)

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Loop on run_once until ``stop`` is set; when idle, wait for wake() or a short poll."""
        self._loop = asyncio.get_running_loop()
        # A fresh event bound to this loop (a worker object may outlive one asyncio.run).
        self._wakeup = asyncio.Event()
        while not stop.is_set():
            # Cleared before claiming: a wake() during the batch makes the next wait return
            # at once instead of being lost.
            self._wakeup.clear()
            try:
                claimed = await self.run_once()
            except Exception:  # noqa: BLE001 - a service loop must outlive a DB outage
                # Logged with its traceback; the batch's rows stay leased and come back when
                # the lease runs out, so retrying after a pause is safe.
                log.exception("delivery batch failed; retrying after %.1f s", self.idle_poll)
                claimed = 0
            if claimed == 0:
                await self._idle(stop)

    async def _idle(self, stop: asyncio.Event) -> None:
        """Wait for wake(), stop, or the poll interval (leases expiring, retries falling due)."""
        waiters = [asyncio.ensure_future(self._wakeup.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waiters, timeout=self.idle_poll, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()


# --- wiring into a hub ----------------------------------------------------------------------

_OPTIONS = {
    "concurrency": int,
    "per_host": int,
    "batch": int,
    "lease_seconds": float,
    "idle_poll_seconds": float,
}


def delivery_options(settings: Settings) -> dict[str, Any]:
    """DeliveryWorker keyword arguments from the optional ``[delivery]`` config table."""
    table = settings.extra.get("delivery", {})
    if not isinstance(table, Mapping):
        raise ConfigError("delivery", "must be a table")
    options: dict[str, Any] = {}
    for key, value in table.items():
        kind = _OPTIONS.get(key)
        if kind is None:
            raise ConfigError(f"delivery.{key}", f"unknown key (known: {', '.join(_OPTIONS)})")
        try:
            number = kind(value)
        except (TypeError, ValueError):
            raise ConfigError(f"delivery.{key}", f"expected a number, got {value!r}") from None
        if isinstance(value, bool) or not number > 0:
            raise ConfigError(f"delivery.{key}", f"must be a positive number, got {value!r}")
        if key == "lease_seconds":
            options["lease"] = timedelta(seconds=number)
        elif key == "idle_poll_seconds":
            options["idle_poll"] = number
        else:
            options[key] = number
    return options


async def start_delivery_worker(
    hub: _HubLike,
) -> tuple[asyncio.Task[None], asyncio.Event, DeliveryWorker]:
    """Start a DeliveryWorker task on this loop; set the event (then await the task) to stop.

    Call after fedi.app.start_federation(hub). The worker is kept as
    ``hub.extras["delivery_worker"]`` so publish can ``wake()`` it.
    """
    if hub.fetcher is None:
        raise RuntimeError("start_federation(hub) must run before start_delivery_worker(hub)")
    worker = DeliveryWorker(
        hub.sessions, hub.fetcher, is_allowed=hub.peers.is_allowed,
        **delivery_options(hub.settings),
    )
    hub.extras["delivery_worker"] = worker
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run_forever(stop), name="delivery-worker")
    return task, stop, worker


async def stop_delivery_worker(
    task: asyncio.Task[None], stop: asyncio.Event, *, timeout: float = 20.0
) -> None:
    """Let the current batch finish (bounded), then cancel; unfinished rows keep their lease."""
    stop.set()
    try:
        await asyncio.wait_for(asyncio.shield(task), timeout)
    except TimeoutError:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
