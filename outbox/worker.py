"""The delivery worker: claim due rows, POST them concurrently, settle each by the retry policy.

Rows are claimed (lease + commit) before any HTTP work, sent under a global and a per-host
limit, and their results written back in grouped transactions (SQLite commits are
fsync-bound). `run_once()` does one whole batch, for tests; `run_forever()` keeps a window
of `batch` deliveries in flight and claims more as slots free up, so one stalled host holds
only its own slots, not every other hub's deliveries. A worker killed at any point loses
nothing: its rows stay pending under a lease that expires, and another worker sends them
again (at-least-once; receivers dedupe by activity id). Several workers may run at once; on
PostgreSQL they skip each other's rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import KW_ONLY, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from fedi.config import ConfigError, Settings
from fedi.db import transaction, utcnow
from fedi.db_faults import Backoff, is_unavailable
from fedi.http import Fetcher, Signer
from fedi.models import Delivery
from outbox import queue
from outbox.breaker import CircuitBreaker
from outbox.deliver import DeliveryOutcome, deliver
from outbox.retry import Action, decide, parse_retry_after

log = logging.getLogger("voisins.delivery")
_T = TypeVar("_T")

Kind = Literal["attempted", "postponed", "deferred", "dropped", "unsendable"]


@dataclass(frozen=True)
class _Result:
    """What happened to one claimed row during a batch, before it is written back."""

    row: Delivery
    kind: Kind
    outcome: DeliveryOutcome | None = None
    reason: str = ""


@dataclass(frozen=True)
class _Claimed:
    """Leased rows with the bodies and signing keys they need, loaded in the same transaction."""

    rows: list[Delivery]
    payloads: dict[int, bytes]
    signers: dict[int, Signer]


class _Limits:
    """At most `overall` deliveries in flight, and at most `per_host` to any one host."""

    def __init__(self, overall: int, per_host: int) -> None:
        self.overall = asyncio.Semaphore(overall)
        # One per host seen; only linked hubs are ever contacted, so this stays small.
        self.hosts: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(per_host)
        )


@dataclass
class WorkerCounters:
    """Running totals since the worker started, for logs and benchmarks."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    dead: int = 0
    dropped: int = 0
    postponed: int = 0
    deferred: int = 0


class _HubLike(Protocol):
    """The parts of fedi.web.state.Hub the worker needs (outbox sits below fedi.web)."""

    settings: Settings
    sessions: sessionmaker[Session]
    write_sessions: sessionmaker[Session]
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
    # How long a claimed row may wait for a free slot: past that its host is stalling (or
    # every slot is), so the row is released for later rather than pinning the window.
    slot_wait: float = 2.0
    # Results are recorded in groups, at the latest this long after the first one finished.
    settle_after: float = 0.05
    defer_for: timedelta = timedelta(seconds=10)
    is_allowed: Callable[[str], bool] | None = None
    rng: Callable[[], float] = random.random
    give_up_after: timedelta = timedelta(days=7)
    retry_base: float = 30.0  # seconds before the first retry; doubles each time
    counters: WorkerCounters = field(default_factory=WorkerCounters)
    # The pace while the database is away; the hub's shares one DatabaseStatus (fedi.app).
    backoff: Backoff = field(default_factory=Backoff)
    _paused_until: float = field(default=0.0, init=False, repr=False)
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
        claimed = await asyncio.to_thread(self._claim, self.clock(), self.batch)
        limits = _Limits(self.concurrency, self.per_host)
        results = await asyncio.gather(*(self._send_one(r, claimed, limits) for r in claimed.rows))
        if results:
            await asyncio.to_thread(self._settle, list(results))
        return len(results)

    def _claim(self, now: datetime, limit: int) -> _Claimed:
        """Lease due rows and load their bodies and keys; committed before any HTTP work."""
        # Sync SQLAlchemy, called through a thread: the web process shares this event loop.
        with transaction(self.sessions) as session:
            rows = queue.claim_due(session, now=now, limit=limit, lease=self.lease)
            payloads = queue.load_payloads(session, (r.activity_id for r in rows))
            signers = queue.load_signers(session, (r.actor_id for r in rows))
        self.counters.claimed += len(rows)
        return _Claimed(rows, payloads, signers)

    async def _send_one(self, row: Delivery, claimed: _Claimed, limits: _Limits) -> _Result:
        """Deliver one claimed row within the limits; never raises but for cancellation."""
        try:
            return await self._attempt(row, claimed, limits)
        except Exception as exc:  # a bug of ours, not a remote problem (those are outcomes)
            if is_unavailable(exc):  # the database, not the row: sent again after its lease
                return _Result(row, "deferred")
            # Counted as a failed attempt with the reason, so the row neither spins nor vanishes.
            log.error("delivery %s to %s failed internally", row.id, row.inbox_url, exc_info=exc)
            outcome = DeliveryOutcome(status=None, error=f"internal error: {exc!r}")
            return _Result(row, "attempted", outcome)

    async def _attempt(self, row: Delivery, claimed: _Claimed, limits: _Limits) -> _Result:
        if not self._allowed(row.domain):
            return _Result(row, "dropped", reason=f"{row.domain} is no longer a linked hub")
        payload = claimed.payloads.get(row.activity_id)
        signer = claimed.signers.get(row.actor_id)
        if payload is None or signer is None:
            return _Result(row, "unsendable", reason="activity or its author's key is gone")
        host = limits.hosts[row.domain]
        try:
            async with asyncio.timeout(self.slot_wait):
                # Host slot first: a task queued behind a busy host must not hold a global one.
                await host.acquire()
                try:
                    await limits.overall.acquire()
                except BaseException:
                    host.release()
                    raise
        except TimeoutError:
            self.counters.deferred += 1
            return _Result(row, "deferred")
        try:
            # Asked as late as possible, so rows queued behind failures see the circuit
            # open and are not sent to a host that just went down.
            if not self.breaker.allow(row.domain, self._seconds()):
                return _Result(row, "postponed")
            outcome = await deliver(self.fetcher, row, payload, signer)
        finally:
            limits.overall.release()
            host.release()
        if outcome.refused:
            # Refused before sending: an unlinked hub is dropped; anything else (plain http…)
            # would be refused again, so it is dead-lettered visibly.
            kind: Kind = "unsendable" if self._allowed(row.domain) else "dropped"
            return _Result(row, kind, outcome, reason=f"refused: {outcome.error}")
        self._record_health(row.domain, outcome)
        return _Result(row, "attempted", outcome)

    def _seconds(self) -> float:
        # The breaker runs on the injected clock too, so one frozen clock drives both.
        return self.clock().timestamp()

    def _record_health(self, domain: str, outcome: DeliveryOutcome) -> None:
        """Tell the breaker whether the host answered like a healthy server."""
        status = outcome.status
        if status is None or status >= 500 or status in (408, 429):
            self.breaker.record_failure(domain, self._seconds())
        else:
            # Any other answer (even 410) proves the host is up and talking to us.
            self.breaker.record_success(domain, self._seconds())

    def _settle(self, results: list[_Result]) -> None:
        """Write a group of results back in one transaction."""
        now = self.clock()
        postponed: list[int] = []
        deferred: list[int] = []
        dropped_domains: set[str] = set()
        with transaction(self.sessions) as session:
            for result in results:
                row = result.row
                if result.kind == "postponed":
                    postponed.append(row.id)
                elif result.kind == "deferred":
                    deferred.append(row.id)
                elif result.kind == "dropped":
                    dropped_domains.add(row.domain)
                elif result.kind == "unsendable" or result.outcome is None:
                    queue.mark_dead(session, row.id, status=None, reason=result.reason,
                                    count_attempt=False)  # fmt: skip
                    self.counters.dead += 1
                else:
                    self._apply(session, row, result.outcome, now)
            if postponed:
                # Back after about one cooldown, jittered so a host's rows do not return in
                # one burst; the breaker lets a single probe through when they do.
                delay = self.breaker.cooldown * (0.5 + 0.5 * self.rng())
                queue.postpone(session, postponed, until=now + timedelta(seconds=delay))
                self.counters.postponed += len(postponed)
            if deferred:
                # Never tried, so no attempt is counted; jittered like the postponed ones.
                later = now + self.defer_for * (0.5 + 0.5 * self.rng())
                queue.postpone(session, deferred, until=later)
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
            base=self.retry_base,
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
        elif not loop.is_closed():  # after shutdown there is no one left to wake
            loop.call_soon_threadsafe(self._wakeup.set)

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set, keeping up to `batch` rows in flight; then drain.

        Claims again as soon as a quarter of the window is free and more rows may be due
        (the last claim was full, wake() was called, or `idle_poll` passed, for retries
        falling due and leases expiring). On stop, what is in flight finishes (bounded by
        the fetcher's deadline) and is recorded; on cancellation it is left to its lease.
        """
        self._loop = asyncio.get_running_loop()
        # A fresh event bound to this loop (a worker object may outlive one asyncio.run).
        self._wakeup = asyncio.Event()
        limits = _Limits(self.concurrency, self.per_host)
        flying: set[asyncio.Task[_Result]] = set()
        done: list[_Result] = []  # finished, not yet recorded
        stopping = asyncio.ensure_future(stop.wait())
        more_due, last_claim, first_done = True, float("-inf"), 0.0
        try:
            while not stop.is_set():
                room = self.batch - len(flying)
                poll_due = time.monotonic() - last_claim >= self.idle_poll
                # While the database is away nothing is claimed, wake() or not (back-off).
                paused = time.monotonic() < self._paused_until
                if not paused and self._has_room(room) and (
                        more_due or poll_due or self._wakeup.is_set()):
                    # Cleared before claiming: a wake() during the claim is not lost.
                    self._wakeup.clear()
                    last_claim = time.monotonic()
                    claimed = await self._in_thread(self._claim, self.clock(), room)
                    claimed = claimed or _Claimed([], {}, {})
                    for row in claimed.rows:
                        flying.add(asyncio.create_task(self._send_one(row, claimed, limits)))
                    # A full claim means more rows may be waiting: claim again once room frees.
                    more_due = bool(claimed.rows) and len(claimed.rows) == room
                # Wake for a completion or stop; with room, for wake() or the poll too (without
                # room they could not be acted on and would spin); and to record results.
                paused = time.monotonic() < self._paused_until
                can_claim = not paused and self._has_room(self.batch - len(flying))
                timeouts = [self.idle_poll - (time.monotonic() - last_claim)] if can_claim else []
                if paused:
                    timeouts.append(self._paused_until - time.monotonic())
                if done:
                    timeouts.append(self.settle_after - (time.monotonic() - first_done))
                await self._wait(flying, stopping, can_claim, min(timeouts, default=None))
                finished = {task for task in flying if task.done()}
                flying -= finished
                if finished and not done:
                    first_done = time.monotonic()
                done += [task.result() for task in finished]
                # Grouped: one transaction for many results, yet none waits long.
                if done and (len(done) >= self.batch // 4 or not flying
                             or time.monotonic() - first_done >= self.settle_after):  # fmt: skip
                    await self._in_thread(self._settle, done)
                    done = []
            if flying:
                finished, _ = await asyncio.wait(flying)
                done += [task.result() for task in finished]
                flying.clear()
            if done:
                await self._in_thread(self._settle, done)
        finally:
            stopping.cancel()
            for task in flying:
                task.cancel()

    def _has_room(self, room: int) -> bool:
        # Refill in chunks, not one row per completion: each claim is a transaction.
        return room >= max(1, self.batch // 4)

    async def _wait(
        self,
        flying: set[asyncio.Task[_Result]],
        stopping: asyncio.Future[Any],
        watch_wake: bool,
        timeout: float | None,
    ) -> None:
        """Sleep until a delivery finishes, stop is asked, the timeout, or (if asked) wake()."""
        waiters: set[asyncio.Future[Any]] = {*flying, stopping}
        waking = asyncio.ensure_future(self._wakeup.wait()) if watch_wake else None
        if waking is not None:
            waiters.add(waking)
        try:
            await asyncio.wait(
                waiters,
                timeout=None if timeout is None else max(0.0, timeout),
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            if waking is not None:
                waking.cancel()

    async def _in_thread(self, fn: Callable[..., _T], *args: Any) -> _T | None:
        """Run a database step in a thread; log a failure and go on (None), for the loop."""
        try:
            result = await asyncio.to_thread(fn, *args)
        except Exception as exc:  # a service loop must outlive a database outage
            # A failed claim is retried at the next poll; failed results keep their lease,
            # so those rows are sent again once it runs out.
            delay = self.backoff.failed(exc, "the delivery worker")
            if delay is None:
                log.exception("delivery %s failed; going on", fn.__name__.strip("_"))
            else:  # the database is away: claim again after a capped, growing pause
                self._paused_until = time.monotonic() + delay
            return None
        self.backoff.succeeded()
        return result


# --- wiring into a hub ----------------------------------------------------------------------

# fmt: off
_OPTIONS = {"concurrency": int, "per_host": int, "batch": int, "lease_seconds": float,
            "idle_poll_seconds": float, "slot_wait_seconds": float,
            "retry_base_seconds": float, "breaker_cooldown_seconds": float}
# fmt: on


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
        if key == "breaker_cooldown_seconds":
            options["breaker"] = CircuitBreaker(cooldown=number, max_cooldown=max(number, 3600.0))
        elif key == "lease_seconds":
            options["lease"] = timedelta(seconds=number)
        elif key.endswith("_seconds"):
            options[key.removesuffix("_seconds")] = number
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
    options = delivery_options(hub.settings)
    worker = DeliveryWorker(hub.write_sessions, hub.fetcher, is_allowed=hub.peers.is_allowed, **options)
    # One line per outage for the whole process (fedi.web.state.Hub.database).
    worker.backoff = Backoff(getattr(hub, "database", None))
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
