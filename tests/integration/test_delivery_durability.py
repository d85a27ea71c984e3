"""Nothing is lost when a delivery worker is killed mid-delivery (security-and-performance §7).

A real receiving hub (`voisins serve`) and a sending hub whose database holds 5,000 queued
deliveries; a real `voisins worker` process is `kill -9`'d three times while it sends, then
restarted. Afterwards every delivery is sent and the receiver stored all 5,000 activities
(duplicates allowed, absorbed by the receiver's unique activity id; losses are not).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from support.hubs import HubProcess, wait_while_progressing

from fedi.db import make_engine, make_sessionmaker, transaction, utcnow
from fedi.ids import new_id
from fedi.models import Actor, Delivery, InboxItem, OutboxActivity
from outbox import queue

# It waits while deliveries progress, not for a total: on a loaded machine that takes longer.
pytestmark = pytest.mark.timeout(1200)
TOTAL = 5_000
KILLS = 3
LEASE = timedelta(seconds=4)
# Short lease so rows of a killed worker come back within the test's time budget; the
# worker's HTTP deadline is much shorter than this on loopback.
SENDER_CONFIG = (
    "run_workers = false\n"  # appended to [server]: deliveries come from `voisins worker` only
    f"\n[delivery]\nlease_seconds = {LEASE.total_seconds()}\nper_host = 8\nbatch = 64\n"
)
# The receiver only has to store and answer 202 here; its inbox worker is not under test.
RECEIVER_CONFIG = "run_workers = false\n"


def queue_creates(sender: HubProcess, author_uri: str, recipient_uri: str, inbox: str) -> set[str]:
    """5,000 direct notes from Alice to Bob, each with its delivery row; returns the ids."""
    engine = make_engine(sender.settings().database_url)
    uris: set[str] = set()
    try:
        with transaction(make_sessionmaker(engine)) as session:
            author = session.scalar(select(Actor).where(Actor.uri == author_uri))
            assert author is not None
            now = utcnow()
            for n in range(TOTAL):
                aid = new_id()
                uri = f"{author_uri}/activities/{aid}"
                note = {
                    "id": f"{author_uri}/statuses/{aid}",
                    "type": "Note",
                    "attributedTo": author_uri,
                    "to": [recipient_uri],
                    "content": f"<p>Message n° {n}</p>",
                    "published": now.isoformat().replace("+00:00", "Z"),
                }
                doc = {
                    "@context": "https://www.w3.org/ns/activitystreams",
                    "id": uri,
                    "type": "Create",
                    "actor": author_uri,
                    "to": [recipient_uri],
                    "object": note,
                }
                activity = OutboxActivity(
                    id=aid,
                    uri=uri,
                    actor_id=author.id,
                    type="Create",
                    object_uri=note["id"],
                    payload=doc,
                )
                session.add(activity)
                queue.enqueue_deliveries(session, activity, [inbox], now=now)
                uris.add(uri)
    finally:
        engine.dispose()
    return uris


class Worker:
    """A `voisins worker` process for one hub, stopped or killed by its PID only."""

    def __init__(self, hub: HubProcess) -> None:
        self.hub = hub
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = hub.workdir / f"worker-{id(self)}.log"

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VOISINS_")}
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "fedi.cli", "--config", str(self.hub.config_path), "worker"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.hub.workdir,
            )

    def kill(self) -> None:
        assert self.proc is not None and self.proc.poll() is None, self.log()
        self.proc.kill()  # SIGKILL to this PID: no cleanup, no final commit
        self.proc.wait(timeout=10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""


@pytest.mark.slow
@pytest.mark.multihub
def test_kill_9_three_times__every_delivery_arrives(
    make_hub: Callable[..., HubProcess], db_backend: str
) -> None:
    started = time.monotonic()
    receiver = make_hub("receiver", extra_config=RECEIVER_CONFIG)
    sender = make_hub("sender", backend=db_backend, extra_config=SENDER_CONFIG)
    sender.cli("neighbours", "add", receiver.domain)
    receiver.cli("neighbours", "add", sender.domain)
    alice = sender.add_user("alice")
    bob = receiver.add_user("bob")
    expected = queue_creates(sender, alice, bob, f"{receiver.base}/inbox")
    # The sender serves Alice's key to the receiver; its own workers are off (see config).
    sender.start()
    receiver.start()

    sender_engine = make_engine(sender.settings().database_url)
    receiver_engine = make_engine(receiver.settings().database_url)
    sender_db, receiver_db = make_sessionmaker(sender_engine), make_sessionmaker(receiver_engine)

    # Only Alice's deliveries: linking the hubs may queue a few of the hubs' own (Follow, …).
    alices = Delivery.actor_id == select(Actor.id).where(Actor.uri == alice).scalar_subquery()

    def states() -> dict[str, int]:
        with sender_db() as session:
            rows = session.execute(
                select(Delivery.state, func.count()).where(alices).group_by(Delivery.state)
            )
            return {state: int(count) for state, count in rows}

    def sent() -> int:
        return states().get("sent", 0)

    def leased_since(killed_at: datetime | None) -> int:
        """Pending rows leased by a worker started after ``killed_at`` (claimed, unsettled)."""
        floor = datetime.now(UTC) if killed_at is None else killed_at + LEASE
        with sender_db() as session:
            return int(
                session.scalar(
                    select(func.count())
                    .select_from(Delivery)
                    .where(alices, Delivery.state == "pending", Delivery.locked_until > floor)
                )
                or 0
            )

    worker, second = Worker(sender), Worker(sender)
    killed_with_rows_leased = 0  # kills that left claimed, unsettled rows behind
    checkpoints: list[str] = []
    killed_at: datetime | None = None
    try:
        for _ in range(KILLS):
            before = sent()
            worker.start()
            # Kill once this process has visibly sent a slice and holds claimed rows, i.e.
            # mid-stream with deliveries in flight.
            target, since = before + TOTAL // 8, killed_at
            wait_while_progressing(
                sent,
                lambda count, t=target, k=since: (
                    (count >= t and leased_since(k) > 0) or not worker.alive()
                ),
                stall=120, what="the worker to send a slice",  # its start-up included
            )
            assert worker.alive(), worker.log()
            worker.kill()
            killed_at = datetime.now(UTC)
            # Rows this worker leased and never settled: they were in flight when it died.
            in_flight = leased_since(since)
            killed_with_rows_leased += in_flight > 0
            checkpoints.append(f"kill {len(checkpoints) + 1}: sent {sent()}, in flight {in_flight}")
            assert sent() < TOTAL, "the worker finished before it could be killed"

        # Two workers share the rest of the queue (SKIP LOCKED on PostgreSQL, the write
        # lock on SQLite), picking up the killed workers' rows as their leases expire.
        worker.start()
        second.start()
        wait_while_progressing(
            sent,
            lambda count: count == TOTAL or not (worker.alive() and second.alive()),
            what=f"all {TOTAL} deliveries to be sent",
        )
        assert worker.alive(), worker.log()
        assert second.alive(), second.log()
        worker.stop()
        second.stop()

        assert states() == {"sent": TOTAL}
        with receiver_db() as session:
            stored = set(
                session.scalars(select(InboxItem.activity_uri).where(InboxItem.actor_uri == alice))
            )
        assert stored == expected  # every activity, each exactly once (unique by id)
        # Every kill hit claimed, unsettled rows, so the lease path was exercised each time.
        assert killed_with_rows_leased == KILLS
        print("; ".join(checkpoints))
        print(
            f"durability: {TOTAL} delivered through {KILLS} kills in "
            f"{time.monotonic() - started:.1f} s"
        )
    finally:
        worker.stop()
        second.stop()
        sender_engine.dispose()
        receiver_engine.dispose()
