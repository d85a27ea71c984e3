"""The hot read paths use indexes on PostgreSQL (issue 14): every SELECT the API runs for
the home, hub and neighbourhood timelines, notifications, an account's statuses, the
directory and search is captured and EXPLAINed with sequential scans discouraged
(``enable_seqscan = off``). A plan that still reads all of ``statuses``,
``timeline_entries``, ``follows`` or ``status_tags`` means no
index can answer the query: the test fails,
naming the query. The data is small on purpose: with ``enable_seqscan = off`` the planner
takes any usable index whatever the table's size, so this checks that one exists, not the
planner's choice on a big table (bench/ measures that)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from apiworld import LINKED, ApiWorld, Member, ok
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

pytestmark = pytest.mark.postgres

WATCHED = {"statuses", "timeline_entries", "follows", "status_tags"}


@pytest.fixture
def world(new_database_url: Callable[[str, str], str]) -> Iterator[ApiWorld]:
    w = ApiWorld(new_database_url("postgresql", "plans"))
    yield w
    w.close()


def seed(world: ApiWorld) -> dict[str, Member]:
    people = {name: world.member(name) for name in ("alice", "bob", "carol", "dave")}
    for a, b in (("alice", "bob"), ("alice", "carol"), ("bob", "alice"), ("carol", "alice"),
                 ("dave", "alice")):
        world.follow(people[a], people[b])
    remote = world.remote("remi", LINKED)
    world.follow(people["alice"].actor_id, remote)
    for i in range(12):
        for name in ("bob", "carol", "dave"):
            world.post(people[name], f"Plomberie {name} {i}", ("followers", "hub",
                                                              "neighbourhood")[i % 3])
        world.remote_status(remote, f"Boulangerie {i}", "neighbourhood")
    world.post(people["bob"], f"@{people['alice'].username} bonjour", "direct")
    for i in range(3):
        world.post(people["carol"], f"Fuite d'eau #plomberie #quartier{i}", "hub")
    with world.session() as s:
        s.execute(text("ANALYZE"))
    return people


class Captured:
    """Every SELECT the hub's engines send while recording."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, Any]] = []
        self.on = False

    def __call__(self, conn: Any, cursor: Any, statement: str, parameters: Any,
                 context: Any, executemany: bool) -> None:
        if self.on and not executemany and statement.lstrip().upper().startswith("SELECT"):
            self.statements.append((statement, parameters))


@pytest.fixture
def captured() -> Iterator[Captured]:
    listener = Captured()
    event.listen(Engine, "before_cursor_execute", listener)
    try:
        yield listener
    finally:
        event.remove(Engine, "before_cursor_execute", listener)


def full_scans(plan: Any) -> set[str]:
    """The watched tables read by a sequential scan anywhere in a JSON plan."""
    found: set[str] = set()
    if isinstance(plan, dict):
        if plan.get("Node Type") == "Seq Scan" and plan.get("Relation Name") in WATCHED:
            found.add(plan["Relation Name"])
        for value in plan.values():
            found |= full_scans(value)
    elif isinstance(plan, list):
        for value in plan:
            found |= full_scans(value)
    return found


def test_hot_read_paths_use_indexes(world: ApiWorld, captured: Captured) -> None:
    people = seed(world)
    alice = people["alice"]
    home = ok(world.get(alice, "/api/v1/timelines/home", params={"limit": 5}))
    paths = [
        ("/api/v1/timelines/home", {"limit": 20}),
        ("/api/v1/timelines/home", {"limit": 5, "max_id": home[-1]["id"]}),
        ("/api/v1/timelines/public", {"local": "true"}),  # the hub
        ("/api/v1/timelines/public", {}),  # the neighbourhood
        ("/api/v1/notifications", {}),
        (f"/api/v1/accounts/{people['bob'].id}/statuses", {}),
        (f"/api/v1/accounts/{people['bob'].id}/statuses", {"max_id": home[-1]["id"]}),
        ("/api/v1/directory", {"local": "true"}),
        ("/api/v2/search", {"q": "plombier", "type": "accounts"}),
        ("/api/v2/search", {"q": "#plomberie"}),
        ("/api/v1/directory", {"q": "plomb", "limit": 10}),
        ("/api/v2/search", {"q": "#plomb", "type": "hashtags"}),
        ("/api/v2/search", {"q": "fuite", "type": "statuses"}),
    ]
    captured.on = True
    for path, params in paths:
        assert world.get(alice, path, params=params).status_code == 200, path
    captured.on = False
    assert len(captured.statements) >= len(paths), "the API's queries were not captured"

    problems: list[str] = []
    raw = world.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("SET enable_seqscan = off")
        # The check itself: a query no index can answer is reported.
        cursor.execute("EXPLAIN (FORMAT JSON) SELECT id FROM statuses WHERE content LIKE '%x%'")
        assert full_scans(cursor.fetchone()[0]) == {"statuses"}
        for statement, parameters in captured.statements:
            cursor.execute("EXPLAIN (FORMAT JSON) " + statement, parameters or None)
            plan = cursor.fetchone()[0]
            plan = json.loads(plan) if isinstance(plan, str) else plan
            scanned = full_scans(plan)
            if scanned:
                problems.append(f"{sorted(scanned)}: {' '.join(statement.split())[:400]}")
    finally:
        raw.close()
    assert not problems, "sequential scans on hot paths:\n" + "\n".join(problems)
