"""Vote counting where storage matters (SQLite and PostgreSQL): two sessions voting at
once for the same member count once; replays of a federated vote count once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from fedi.config import Settings
from fedi.db import make_engine, make_sessionmaker
from fedi.ids import Urls
from fedi.migrate import upgrade
from fedi.models import Actor, Poll, PollVote, Status
from fedi.services.accounts import create_user
from fedi.services.polls import PollSpec, VoteError, poll_results, record_vote
from fedi.services.posting import Draft, create_status
from outbox.context import PublishContext


@pytest.fixture
def world(database_url: str) -> Iterator[dict[str, Any]]:
    upgrade(database_url)
    settings = Settings(domain="hub.test", name="t", scheme="https", territory=("75011",),
                        secret="s" * 32, database_url=database_url)
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    ctx = PublishContext(settings=settings, urls=Urls(settings.base_url),
                         is_allowed=lambda d: False, linked_domains=frozenset)
    with sessions() as s, s.begin():
        alice = create_user(s, settings, "alice", email="a@x.test", password="pw-alice-12345")
        bob = create_user(s, settings, "bob", email="b@x.test", password="pw-bob-123456")
        author = s.get(Actor, alice.actor_id)
        status = create_status(s, ctx, author, Draft(
            text="Quel soir ?", visibility="hub",
            poll=PollSpec(options=("jeudi", "vendredi"), expires_in=3600)))
        ids = {"status": status.id, "bob": bob.actor_id}
    yield {"sessions": sessions, **ids}
    engine.dispose()


def vote(world: dict[str, Any], choice: int, *, hold: threading.Event | None = None,
         held: threading.Event | None = None, uri: str | None = None) -> str:
    """One vote by bob in its own transaction; ``hold``: stay uncommitted until set."""
    try:
        with world["sessions"]() as s, s.begin():
            status = s.get(Status, world["status"])
            poll = s.scalar(select(Poll).where(Poll.status_id == status.id))
            record_vote(s, poll, status, s.get(Actor, world["bob"]), [choice],
                        is_linked=lambda d: False, uris=[uri] if uri else None)
            if held is not None:
                held.set()
            if hold is not None:
                hold.wait(timeout=20)
        return "stored"
    except VoteError as exc:
        return exc.code


def test_concurrent_votes_count_once(world: dict[str, Any]) -> None:
    hold, held = threading.Event(), threading.Event()
    results: list[str] = []
    first = threading.Thread(target=lambda: results.append(vote(world, 0, hold=hold,
                                                                held=held)))
    first.start()
    assert held.wait(timeout=20)
    # The second vote starts while the first is stored but not committed.
    second = threading.Thread(target=lambda: results.append(vote(world, 1)))
    second.start()
    second.join(timeout=0.3)
    hold.set()
    first.join(timeout=30)
    second.join(timeout=30)
    assert sorted(results) == ["already_voted", "stored"]
    with world["sessions"]() as s:
        poll = s.scalar(select(Poll).where(Poll.status_id == world["status"]))
        assert poll_results(s, poll).counts == [1, 0]
        assert s.scalar(select(func.count()).select_from(PollVote)) == 1


def test_replayed_vote_counts_once(world: dict[str, Any]) -> None:
    assert vote(world, 1, uri="https://voisin.test/users/bob#votes/1") == "stored"
    assert vote(world, 1, uri="https://voisin.test/users/bob#votes/1") == "already_voted"
    with world["sessions"]() as s:
        assert s.scalar(select(func.count()).select_from(PollVote)) == 1
