"""The delivery queue on SQLite and PostgreSQL: enqueue, claim and lease, state transitions."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from fedi.config import Settings, load_settings, render_config
from fedi.db import make_engine, make_sessionmaker, transaction
from fedi.ids import new_id
from fedi.migrate import upgrade
from fedi.models import Actor, Delivery, OutboxActivity
from fedi.services.accounts import create_user
from outbox import queue
from outbox.retry import Action, RetryDecision

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)


@dataclass
class World:
    """A migrated sender database with one member, Alice, who publishes activities."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    author: Actor

    def post(self, inboxes: list[str], *, now: datetime = T0) -> OutboxActivity:
        """Store a Create and its deliveries in one transaction, as publish() does."""
        with transaction(self.sessions) as session:
            activity = new_activity(self.author)
            session.add(activity)
            queue.enqueue_deliveries(session, activity, inboxes, now=now)
        return activity

    def rows(self) -> list[Delivery]:
        with self.sessions() as session:
            return list(session.scalars(select(Delivery).order_by(Delivery.inbox_url)))

    def row(self, delivery_id: int) -> Delivery:
        with self.sessions() as session:
            row = session.get(Delivery, delivery_id)
            assert row is not None
            return row


def new_activity(author: Actor) -> OutboxActivity:
    aid = new_id()
    uri = f"{author.uri}/activities/{aid}"
    return OutboxActivity(
        id=aid,
        uri=uri,
        actor_id=author.id,
        type="Create",
        object_uri=f"{uri}/note",
        payload={
            "id": uri,
            "type": "Create",
            "actor": author.uri,
            "object": {"id": f"{uri}/note", "type": "Note", "content": "Bonjour"},
        },
    )


@pytest.fixture
def world(
    db_backend: str, new_database_url: Callable[[str, str], str], tmp_path: Path
) -> Iterator[World]:
    config = tmp_path / "voisins.toml"
    config.write_text(
        render_config(
            domain="sender.test",
            name="Sender",
            territory=["75011"],
            database_url=new_database_url(db_backend, "outbox"),
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
    yield World(settings, engine, sessions, author)
    engine.dispose()


def claim(world: World, now: datetime, limit: int = 10) -> list[Delivery]:
    with transaction(world.sessions) as session:
        return queue.claim_due(session, now=now, limit=limit, lease=LEASE)


# --- enqueue ----------------------------------------------------------------------------------


def test_enqueue__one_row_per_distinct_inbox_with_lowercase_domain(world: World) -> None:
    activity = world.post(
        [
            "https://B.Example/inbox",
            "https://B.Example/inbox",
            "https://c.example:8443/users/x/inbox",
        ]
    )
    rows = world.rows()
    assert [(r.inbox_url, r.domain) for r in rows] == [
        ("https://B.Example/inbox", "b.example"),
        ("https://c.example:8443/users/x/inbox", "c.example:8443"),
    ]
    assert all(
        r.state == "pending"
        and r.attempts == 0
        and r.activity_id == activity.id
        and r.actor_id == world.author.id
        and r.next_attempt_at == T0
        for r in rows
    )

    # Enqueueing the same activity again adds only the new inbox instead of failing the
    # caller's transaction on the (activity_id, inbox_url) unique key.
    with transaction(world.sessions) as session:
        added = queue.enqueue_deliveries(
            session, activity, ["https://B.Example/inbox", "https://d.example/inbox"], now=T0
        )
    assert added == 1
    assert len(world.rows()) == 3


def test_enqueue__commits_or_rolls_back_with_the_post(world: World) -> None:
    with pytest.raises(RuntimeError), transaction(world.sessions) as session:
        activity = new_activity(world.author)
        session.add(activity)
        assert queue.enqueue_deliveries(session, activity, ["https://b.example/inbox"]) == 1
        raise RuntimeError("the post failed after its deliveries were queued")
    with world.sessions() as session:
        assert (
            session.scalar(select(OutboxActivity).where(OutboxActivity.id == activity.id)) is None
        )
    assert world.rows() == []


def test_enqueue__refuses_an_inbox_that_is_not_http(world: World) -> None:
    with pytest.raises(queue.BadInbox), transaction(world.sessions) as session:
        activity = new_activity(world.author)
        session.add(activity)
        queue.enqueue_deliveries(session, activity, ["https://b.example/inbox", "ftp://c/inbox"])
    assert world.rows() == []


# --- claim and lease --------------------------------------------------------------------------


def test_claim__leases_due_rows_once_until_the_lease_expires(world: World) -> None:
    world.post(["https://a.example/inbox", "https://b.example/inbox", "https://c.example/inbox"])

    first = claim(world, T0, limit=2)
    assert len(first) == 2
    assert all(r.locked_until == T0 + LEASE for r in first)
    # A second worker at the same moment gets only what the first did not lease.
    second = claim(world, T0 + timedelta(seconds=1))
    assert len(second) == 1
    assert {r.id for r in second}.isdisjoint({r.id for r in first})
    assert claim(world, T0 + timedelta(seconds=30)) == []

    # The workers were killed: nothing was marked, and once the leases run out every row is
    # claimable again, still pending, with no attempt counted.
    again = claim(world, T0 + LEASE + timedelta(seconds=1))
    assert len(again) == 3
    assert all(r.state == "pending" and r.attempts == 0 for r in world.rows())


def test_claim__takes_only_rows_that_are_due_oldest_first(world: World) -> None:
    world.post(["https://late.example/inbox"], now=T0 + timedelta(seconds=30))
    world.post(["https://early.example/inbox"], now=T0 - timedelta(minutes=5))
    world.post(["https://now.example/inbox"], now=T0)
    assert [r.domain for r in claim(world, T0)] == ["early.example", "now.example"]
    # The first two are still leased (until T0 + 60 s); the late one has fallen due.
    assert [r.domain for r in claim(world, T0 + timedelta(seconds=30))] == ["late.example"]


def test_claim__ignores_rows_that_are_not_pending(world: World) -> None:
    world.post(["https://a.example/inbox", "https://b.example/inbox", "https://c.example/inbox"])
    a, b, _ = world.rows()
    with transaction(world.sessions) as session:
        queue.mark_sent(session, a.id, now=T0, status=202)
        queue.mark_dead(session, b.id, status=410, reason="gone")
        queue.drop_for_domain(session, "c.example")
    assert claim(world, T0 + timedelta(days=1)) == []


@pytest.mark.postgres
def test_claim__concurrent_workers_skip_locked_rows_on_postgresql(
    new_database_url: Callable[[str, str], str], tmp_path: Path
) -> None:
    """Two workers claiming at once get disjoint rows, and the second does not wait."""
    config = tmp_path / "voisins.toml"
    config.write_text(
        render_config(
            domain="sender.test",
            name="S",
            territory=["75011"],
            database_url=new_database_url("postgresql", "skip"),
        )
    )
    settings = load_settings(str(config), env={})
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    try:
        with transaction(sessions) as session:
            user = create_user(
                session, settings, "alice", email="a@sender.test", password="alice-password"
            )
            author = session.get(Actor, user.actor_id)
            assert author is not None
            activity = new_activity(author)
            session.add(activity)
            queue.enqueue_deliveries(
                session, activity, [f"https://h{i}.example/inbox" for i in range(6)], now=T0
            )

        holding = threading.Event()
        release = threading.Event()
        first_ids: list[int] = []

        def first_worker() -> None:
            # Claims and keeps its transaction open, row locks held, like a slow commit.
            with transaction(sessions) as session:
                first_ids.extend(
                    r.id for r in queue.claim_due(session, now=T0, limit=3, lease=LEASE)
                )
                holding.set()
                release.wait(30)

        thread = threading.Thread(target=first_worker)
        thread.start()
        try:
            assert holding.wait(30)
            with transaction(sessions) as session:
                # Blocking on the first worker's locks would be an error here, not a hang.
                session.execute(text("SET LOCAL lock_timeout = '2s'"))
                second = queue.claim_due(session, now=T0, limit=6, lease=LEASE)
        finally:
            release.set()
            thread.join(30)
        assert len(first_ids) == 3 and len(second) == 3
        assert set(first_ids).isdisjoint(r.id for r in second)
    finally:
        engine.dispose()


# --- transitions ------------------------------------------------------------------------------


def test_mark_sent__records_status_and_clears_the_lease(world: World) -> None:
    world.post(["https://a.example/inbox"])
    (row,) = claim(world, T0)
    with transaction(world.sessions) as session:
        assert queue.mark_sent(session, row.id, now=T0 + timedelta(seconds=1), status=202)
    row = world.row(row.id)
    assert (row.state, row.attempts, row.last_status, row.locked_until, row.sent_at) == (
        "sent",
        1,
        202,
        None,
        T0 + timedelta(seconds=1),
    )


def test_reschedule__counts_the_attempt_and_sets_the_next_one(world: World) -> None:
    world.post(["https://a.example/inbox"])
    (row,) = claim(world, T0)
    later = T0 + timedelta(seconds=45)
    decision = RetryDecision(Action.RETRY, later, "HTTP 503: maintenance")
    with transaction(world.sessions) as session:
        assert queue.reschedule(session, row.id, decision, status=503)
    row = world.row(row.id)
    assert (row.state, row.attempts, row.next_attempt_at, row.locked_until) == (
        "pending",
        1,
        later,
        None,
    )
    assert (row.last_status, row.last_error) == (503, "HTTP 503: maintenance")
    assert claim(world, later - timedelta(seconds=1)) == []
    assert [r.id for r in claim(world, later)] == [row.id]

    with pytest.raises(ValueError), transaction(world.sessions) as session:
        queue.reschedule(session, row.id, RetryDecision(Action.SENT, None, "HTTP 202"), status=202)


def test_postpone__releases_rows_without_counting_an_attempt(world: World) -> None:
    world.post(["https://a.example/inbox", "https://b.example/inbox"])
    rows = claim(world, T0)
    until = T0 + timedelta(seconds=60)
    with transaction(world.sessions) as session:
        assert queue.postpone(session, [r.id for r in rows], until=until) == 2
    assert all(
        (r.attempts, r.next_attempt_at, r.locked_until) == (0, until, None) for r in world.rows()
    )


def test_mark_dead__keeps_the_reason_visible_and_is_final(world: World) -> None:
    world.post(["https://a.example/inbox"])
    (row,) = claim(world, T0)
    with transaction(world.sessions) as session:
        assert queue.mark_dead(session, row.id, status=410, reason="permanent failure: HTTP 410")
        # A late answer from a worker whose lease had run out cannot resurrect the row.
        assert not queue.mark_sent(session, row.id, now=T0, status=202)
        assert not queue.reschedule(
            session, row.id, RetryDecision(Action.RETRY, T0, "HTTP 500"), status=500
        )
    row = world.row(row.id)
    assert (row.state, row.attempts, row.last_status, row.last_error) == (
        "dead",
        1,
        410,
        "permanent failure: HTTP 410",
    )


def test_drop_for_domain__drops_only_pending_rows_to_that_hub(world: World) -> None:
    world.post(
        [
            "https://gone.example/inbox",
            "https://gone.example/users/b/inbox",
            "https://kept.example/inbox",
        ]
    )
    world.post(["https://gone.example/inbox"])
    first_gone = next(r for r in world.rows() if r.domain == "gone.example")
    with transaction(world.sessions) as session:
        queue.mark_sent(session, first_gone.id, now=T0, status=202)
        assert queue.drop_for_domain(session, "GONE.example") == 2
    states = sorted((r.domain, r.state) for r in world.rows())
    assert states == [
        ("gone.example", "dropped"),
        ("gone.example", "dropped"),
        ("gone.example", "sent"),
        ("kept.example", "pending"),
    ]
    dropped = [r for r in world.rows() if r.state == "dropped"]
    assert all("no longer a linked" in (r.last_error or "") for r in dropped)


def test_requeue_dead__gives_dead_rows_a_fresh_start(world: World) -> None:
    world.post(["https://a.example/inbox", "https://b.example/inbox"])
    a, b = world.rows()
    with transaction(world.sessions) as session:
        queue.mark_dead(session, a.id, status=None, reason="gave up after 16 attempts")
        queue.mark_sent(session, b.id, now=T0, status=202)
    later = T0 + timedelta(days=8)
    with transaction(world.sessions) as session:
        assert queue.requeue_dead(session, [a.id, b.id], now=later) == 1
    a, b = world.row(a.id), world.row(b.id)
    assert (a.state, a.attempts, a.next_attempt_at, a.created_at) == ("pending", 0, later, later)
    assert b.state == "sent"
    assert [r.id for r in claim(world, later)] == [a.id]


def test_stats__counts_every_state(world: World) -> None:
    with world.sessions() as session:
        assert queue.stats(session) == {"pending": 0, "sent": 0, "dead": 0, "dropped": 0}
    world.post([f"https://h{i}.example/inbox" for i in range(5)])
    rows = world.rows()
    with transaction(world.sessions) as session:
        queue.mark_sent(session, rows[0].id, now=T0, status=202)
        queue.mark_sent(session, rows[1].id, now=T0, status=200)
        queue.mark_dead(session, rows[2].id, status=403, reason="blocked")
        queue.drop_for_domain(session, rows[3].domain)
    with world.sessions() as session:
        assert queue.stats(session) == {"pending": 1, "sent": 2, "dead": 1, "dropped": 1}
