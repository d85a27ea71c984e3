"""``voisins serve --workers 2`` on PostgreSQL: two web processes share the port (both
accept connections), a post made through the API reaches a follower on a linked hub once
(one delivery row, sent once), and SIGTERM to the command stops every process it started.
On SQLite, ``--workers 2`` is refused with a clear message, in English and in French."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from journeys.test_privacy_hubs import Api, link_by_config
from sqlalchemy import func, select
from support.hubs import HubProcess, wait_for
from support.world import query

from fedi.models import Delivery, OutboxActivity, Status

pytestmark = pytest.mark.multihub


def children(pid: int) -> set[int]:
    """Every descendant of ``pid`` (Linux /proc)."""
    found: set[int] = set()
    todo = [pid]
    while todo:
        current = todo.pop()
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                kids = (task / "children").read_text().split()
            except OSError:
                continue
            for kid in map(int, kids):
                if kid not in found:
                    found.add(kid)
                    todo.append(kid)
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent's wait() does not count)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def connection_owners(hub: HubProcess, pids: set[int]) -> dict[int, int]:
    """How many established connections to the hub's port each of ``pids`` holds."""
    port = f"{hub.port:04X}"
    inodes: set[str] = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1].endswith(f":{port}") and fields[3] == "01":  # local = hub, ESTABLISHED
            inodes.add(fields[9])
    owners: dict[int, int] = {}
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").glob("*"):
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                owners[pid] = owners.get(pid, 0) + 1
    return owners


def test_two_web_processes_one_worker_nothing_twice(
        make_hub: Callable[..., HubProcess]) -> None:
    a = make_hub("a", backend="postgresql")
    b = make_hub("b")
    a.serve_args = ("--workers", "2")
    link_by_config(a, b)
    link_by_config(b, a)
    a.add_user("alice")
    b.add_user("bob")
    a.start()
    b.start()
    assert a.proc is not None
    parent = a.proc.pid
    # Two web processes (uvicorn's spawned children) and one `voisins worker`.
    def web_processes() -> set[int]:
        return {p for p in children(parent)
                if "multiprocessing" in cmdline(p) and "resource_tracker" not in cmdline(p)}

    wait_for(lambda: len(web_processes()) == 2, timeout=90, what="two web processes")
    web = web_processes()
    workers = [p for p in children(parent) if cmdline(p).rstrip().endswith(" worker")]
    assert len(workers) == 1, [cmdline(p) for p in children(parent)]

    # Both web processes accept connections: open keep-alive connections until each holds one.
    clients: list[httpx.Client] = []
    try:
        def both_serve() -> bool:
            for _ in range(8):
                client = httpx.Client(base_url=a.base, timeout=10)
                clients.append(client)
                assert client.get("/api/v1/instance").status_code == 200
            return len(connection_owners(a, web)) == 2

        wait_for(both_serve, timeout=60, what="connections accepted by both web processes")
    finally:
        for client in clients:
            client.close()

    # A followers-only post of alice's reaches bob on B, delivered once.
    alice, bob = Api(a, "alice"), Api(b, "bob")
    found = bob.get("/api/v2/search", q=f"alice@{a.domain}", resolve="true", type="accounts")
    alice_on_b = found["accounts"][0]["id"]
    bob.post(f"/api/v1/accounts/{alice_on_b}/follow")
    requests = wait_for(lambda: alice.get("/api/v1/follow_requests"), timeout=60,
                        what="the request on A")
    alice.post(f"/api/v1/follow_requests/{requests[0]['id']}/authorize")
    wait_for(lambda: bob.get("/api/v1/accounts/relationships", id=alice_on_b)[0]["following"],
             timeout=60, what="the Accept on B")
    posted = alice.post("/api/v1/statuses", {"status": "Marché samedi", "visibility": "private"})
    wait_for(lambda: any(s["uri"] == posted["uri"] for s in bob.get("/api/v1/timelines/home")),
             timeout=60, what="alice's post in bob's home on B")

    def deliveries(session):  # type: ignore[no-untyped-def]
        activity = session.scalar(select(OutboxActivity.id).where(
            OutboxActivity.object_uri == posted["uri"], OutboxActivity.type == "Create"))
        return session.execute(select(Delivery.state, Delivery.attempts).where(
            Delivery.activity_id == activity)).all()

    sent = wait_for(lambda: [tuple(r) for r in query(a, deliveries)] == [("sent", 1)]
                    and query(a, deliveries), timeout=60, what="the delivery marked sent")
    assert [tuple(r) for r in sent] == [("sent", 1)]
    assert query(b, lambda s: s.scalar(select(func.count()).select_from(Status).where(
        Status.uri == posted["uri"]))) == 1
    home = [s for s in bob.get("/api/v1/timelines/home") if s["uri"] == posted["uri"]]
    assert len(home) == 1

    # SIGTERM to the command stops the web processes and the worker, then the command.
    started = children(parent)
    assert web <= started and workers[0] in started
    a.proc.send_signal(signal.SIGTERM)
    assert a.proc.wait(timeout=60) == 0, a.log()
    wait_for(lambda: not any(alive(p) for p in started), timeout=30,
             what="every child of `voisins serve --workers 2` to exit")
    a.proc = None


@pytest.mark.parametrize("lang, expected", [
    ("C", "--workers above 1 needs PostgreSQL"),
    ("fr_FR.UTF-8", "--workers au-delà de 1 demande PostgreSQL"),
])
def test_sqlite_refuses_several_workers(make_hub: Callable[..., HubProcess], lang: str,
                                        expected: str) -> None:
    hub = make_hub("solo")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("VOISINS_", "LC_", "LANG"))}
    result = subprocess.run(
        [sys.executable, "-m", "fedi.cli", "--config", str(hub.config_path), "serve",
         "--workers", "2"], check=False, capture_output=True, text=True, timeout=60,
        env={**env, "LC_ALL": lang}, cwd=hub.workdir)
    assert result.returncode == 2
    assert result.stderr.startswith(f"voisins: {expected}"), result.stderr
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{hub.base}/.well-known/nodeinfo", timeout=2)  # nothing was started
