"""Benchmark: mixed load on a PostgreSQL hub with 1 and then N web processes.

Three real hubs on loopback: the measured hub M (PostgreSQL, seeded by bench/seed.py) and
two linked hubs L1, L2 (SQLite: their work is not measured, and the PostgreSQL server then
only serves M). One member of L1 and one of L2 follow each of M's authors (the real
Follow/Accept flow through the API). A child process runs ``--clients`` concurrent
keep-alive API clients for ``--duration`` seconds: home, notifications, the hub and the
whole public timelines, and followers-only posts (``--post-share``) that M delivers to L1
and L2. Afterwards it waits, as long as progress continues, for every post to be stored
on both linked hubs. Printed per run: requests, errors (non-2xx or broken connections),
lost posts, latency percentiles per kind, M's CPU seconds (its processes and the
PostgreSQL server's) per request, and ``os.cpu_count()``; then N = 1 and N = 2 side by side.

    .venv/bin/python bench/load.py [--workers 1,2] [--clients 200] [--duration 60]
        [--post-share 0.1] [--members 300] [--statuses 20000]

Profile a run (M with one web process) with py-spy while it runs:
    py-spy record -o load.svg --subprocesses --pid $(pgrep -f 'fedi.cli.*bench-load.*serve')
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

READS = [("home", "/api/v1/timelines/home?limit=20", 4),
         ("notifications", "/api/v1/notifications?limit=15", 2),
         ("public:local", "/api/v1/timelines/public?local=true&limit=20", 1),
         ("public", "/api/v1/timelines/public?limit=20", 1)]
UNLIMITED = "\n[api]\nrate_limit = 1000000000\n"


# --- the load generator (child process) -------------------------------------------------------


async def _request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                   raw: bytes) -> tuple[int, bytes]:
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = None
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    if length is None:
        raise ConnectionError("a response without Content-Length")
    return status, await reader.readexactly(length)


async def _client(n: int, spec: dict[str, Any], out: dict[str, Any]) -> None:
    host, port = spec["host"], spec["port"]
    rng = random.Random(n)
    reader_token = spec["readers"][n % len(spec["readers"])]
    author_token = spec["authors"][n % len(spec["authors"])]
    weights = [w for _k, _p, w in READS]
    conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    count = 0
    while time.monotonic() < out["stop_at"]:
        if rng.random() < spec["post_share"]:
            kind = "post"
            count += 1
            body = json.dumps({"status": f"Load {n}-{count}: vide-grenier samedi ?",
                               "visibility": "private"}).encode()
            raw = (f"POST /api/v1/statuses HTTP/1.1\r\nHost: {host}:{port}\r\n"
                   f"Authorization: Bearer {author_token}\r\nContent-Type: application/json\r\n"
                   f"Content-Length: {len(body)}\r\n\r\n").encode() + body
        else:
            kind, path, _w = rng.choices(READS, weights)[0]
            raw = (f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                   f"Authorization: Bearer {reader_token}\r\nAccept: application/json\r\n\r\n"
                   ).encode()
        started = time.monotonic()
        try:
            if conn is None:
                conn = await asyncio.open_connection(host, port)
            status, body = await _request(*conn, raw)
        except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError) as exc:
            out["errors"][type(exc).__name__] = out["errors"].get(type(exc).__name__, 0) + 1
            if conn is not None:
                conn[1].close()
            conn = None
            continue
        out["latencies"].setdefault(kind, []).append(time.monotonic() - started)
        if status != 200:
            out["errors"][str(status)] = out["errors"].get(str(status), 0) + 1
        elif kind == "post":
            out["posted"].append(json.loads(body)["uri"])
    if conn is not None:
        conn[1].close()


async def _drive(spec: dict[str, Any]) -> None:
    out: dict[str, Any] = {"stop_at": time.monotonic() + spec["duration"], "latencies": {},
                           "errors": {}, "posted": []}
    print("START", flush=True)
    await asyncio.gather(*(_client(n, spec, out) for n in range(spec["clients"])))
    print("END", flush=True)
    del out["stop_at"]
    print(json.dumps(out), flush=True)


# --- the world: three hubs ------------------------------------------------------------------


def tree(pid: int) -> set[int]:
    """``pid`` and all its descendants (Linux /proc)."""
    found, todo = {pid}, [pid]
    while todo:
        current = todo.pop()
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                kids = [int(k) for k in (task / "children").read_text().split()]
            except OSError:
                continue
            todo.extend(k for k in kids if k not in found)
            found.update(kids)
    return found


def cpu_seconds(pids: set[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


class World:
    """M on PostgreSQL (seeded), L1 and L2 on SQLite, linked both ways, with followers."""

    def __init__(self, opts: argparse.Namespace) -> None:
        from support.hubs import HubProcess, free_port, migrated_sqlite
        from support.postgres import start_postgres

        from bench.seed import seed

        self.workdir = Path(tempfile.mkdtemp(prefix="bench-load-"))
        self.pg = start_postgres()
        hubs = []
        for n, name in enumerate(("m", "l1", "l2")):
            host = f"127.0.0.{60 + n}"
            folder = self.workdir / name
            folder.mkdir()
            url = (self.pg.create_database("bench_load_m", migrated=True) if name == "m"
                   else migrated_sqlite(folder / "hub.db"))
            hubs.append(HubProcess(name=name, host=host, port=free_port(host), workdir=folder,
                                   database_url=url, extra_config=UNLIMITED))
        self.m, self.l1, self.l2 = hubs
        self.m.log_level = "info"  # uvicorn's supervisor says when a web process is replaced
        for hub in hubs:
            # M is linked with L1 and L2; L1 and L2 only with M.
            others = [f'"{o.domain}"' for o in hubs
                      if o is not hub and (hub is self.m or o is self.m)]
            hub.write_config()
            text = hub.config_path.read_text(encoding="utf-8")
            hub.config_path.write_text(text.replace("neighbours = []",
                                                    f"neighbours = [{', '.join(others)}]"))
        tokens = seed(self.m.settings().database_url, self.m.domain, "http", opts.members,
                      opts.statuses, 20)
        self.authors = [t["token"] for t in tokens[:opts.authors]]
        self.give_keys([t["actor_id"] for t in tokens[:opts.authors]])
        self.readers = [t["token"] for t in tokens[opts.authors:]]
        self.l1.add_user("lina")
        self.l2.add_user("leo")

    def give_keys(self, actor_ids: list[int]) -> None:
        """bench/seed.py leaves members keyless (fast); the authors sign their deliveries."""
        from sqlalchemy import update

        from fedi.db import make_engine
        from fedi.keys import generate_private_key_pem, public_pem_from_private
        from fedi.models import Actor

        engine = make_engine(self.m.settings().database_url)
        with engine.begin() as conn:
            for actor_id in actor_ids:
                private = generate_private_key_pem()
                conn.execute(update(Actor).where(Actor.id == actor_id).values(
                    private_key_pem=private, public_key_pem=public_pem_from_private(private)))
        engine.dispose()

    def pg_pids(self) -> set[int]:
        postmaster = int((self.pg.datadir / "postmaster.pid").read_text().split()[0])
        return tree(postmaster)

    def measured_pids(self) -> set[int]:
        assert self.m.proc is not None
        return tree(self.m.proc.pid) | self.pg_pids()

    def start(self, workers: int) -> None:
        from support.hubs import wait_for

        self.m.serve_args = ("--workers", str(workers))
        log = self.m.workdir / "serve.log"
        offset = log.stat().st_size if log.exists() else 0
        self.m.start()
        # The first web process answering is not enough: the clients keep their connections,
        # so every web process must be listening before they connect (uvicorn's info line).
        wait_for(lambda: log.read_bytes()[offset:].count(b"Application startup complete")
                 >= workers, timeout=120, what="every web process of M to start")
        for hub in (self.l1, self.l2):
            if hub.proc is None:
                hub.start()

    def follow_authors(self) -> None:
        """lina (L1) and leo (L2) follow every author of M: Follow, authorize, Accept."""
        import httpx
        from journeys.test_privacy_hubs import Api
        from support.hubs import wait_for

        followers = [Api(self.l1, "lina"), Api(self.l2, "leo")]
        authors = []
        for token in self.authors:
            r = httpx.get(f"{self.m.base}/api/v1/accounts/verify_credentials",
                          headers={"Authorization": f"Bearer {token}"}, timeout=30)
            authors.append((token, r.json()["username"]))
        followed: dict[int, list[str]] = {}
        for n, follower in enumerate(followers):
            for _token, name in authors:
                found = follower.get("/api/v2/search", q=f"{name}@{self.m.domain}",
                                     resolve="true", type="accounts")
                followed.setdefault(n, []).append(found["accounts"][0]["id"])
                follower.post(f"/api/v1/accounts/{found['accounts'][0]['id']}/follow")
        for token, _name in authors:
            headers = {"Authorization": f"Bearer {token}"}

            def pending(headers: dict[str, str] = headers) -> list[Any]:
                got = httpx.get(f"{self.m.base}/api/v1/follow_requests", headers=headers,
                                timeout=30).json()
                return got if len(got) >= len(followers) else []

            for request in wait_for(pending, timeout=120, what="the follow requests on M"):
                httpx.post(f"{self.m.base}/api/v1/follow_requests/{request['id']}/authorize",
                           headers=headers, timeout=30).raise_for_status()
        for n, follower in enumerate(followers):
            def accepted(f: Any = follower, ids: list[str] = followed[n]) -> bool:
                rels = f.get("/api/v1/accounts/relationships", **{"id[]": ids})
                return all(r["following"] for r in rels)

            wait_for(accepted, timeout=120, what="every Accept on the linked hubs")

    def arrived(self, uris: list[str]) -> int:
        """How many (post, linked hub) pairs are stored."""
        import sqlite3

        total = 0
        wanted = set(uris)
        for hub in (self.l1, self.l2):
            path = hub.database_url.removeprefix("sqlite:///")
            with sqlite3.connect(path, timeout=30) as db:
                stored = {r[0] for r in db.execute("SELECT uri FROM statuses WHERE uri LIKE ?",
                                                   (f"{self.m.base}/%",))}
            total += len(wanted & stored)
        return total

    def stop(self) -> None:
        for hub in (self.m, self.l1, self.l2):
            hub.stop()
        self.pg.stop()


def run_phase(world: World, workers: int, opts: argparse.Namespace) -> dict[str, Any]:
    from support.hubs import wait_while_progressing

    world.start(workers)
    try:
        spec = {"host": world.m.host, "port": world.m.port, "readers": world.readers,
                "authors": world.authors, "clients": opts.clients, "duration": opts.duration,
                "post_share": opts.post_share}
        spec_file = world.workdir / "spec.json"
        spec_file.write_text(json.dumps(spec))
        client = subprocess.Popen([sys.executable, __file__, "--client", str(spec_file)],
                                  stdout=subprocess.PIPE, text=True)
        assert client.stdout is not None
        cpu0 = cpu1 = wall0 = wall1 = 0.0
        result: dict[str, Any] = {}
        for line in client.stdout:
            if line.startswith("START"):
                cpu0, wall0 = cpu_seconds(world.measured_pids()), time.monotonic()
            elif line.startswith("END"):
                cpu1, wall1 = cpu_seconds(world.measured_pids()), time.monotonic()
            elif line.startswith("{"):
                result = json.loads(line)
        client.wait(timeout=120)
        posted = result["posted"]
        drain0 = time.monotonic()
        try:
            wait_while_progressing(lambda: world.arrived(posted),
                                   lambda n: n >= 2 * len(posted), stall=60,
                                   what="the posts on the linked hubs")
        except AssertionError as exc:
            print(f"  {exc}", flush=True)
        lost = 2 * len(posted) - world.arrived(posted)
        every = sorted(x for v in result["latencies"].values() for x in v)
        requests = len(every)

        def pct(values: list[float], q: float) -> float | None:
            values = sorted(values)
            return round(values[min(len(values) - 1, int(len(values) * q))] * 1000, 1) \
                if values else None

        return {
            "web_processes": workers, "clients": opts.clients, "requests": requests,
            "req_per_s": round(requests / (wall1 - wall0), 1),
            "errors": sum(result["errors"].values()), "error_kinds": result["errors"],
            "posts": len(posted), "lost_posts": lost,
            "drain_s": round(time.monotonic() - drain0, 1),
            "p50_ms": pct(every, 0.5), "p95_ms": pct(every, 0.95), "p99_ms": pct(every, 0.99),
            "p99_ms_by_kind": {k: pct(v, 0.99) for k, v in sorted(result["latencies"].items())},
            "server_cpu_s": round(cpu1 - cpu0, 1),
            "cpu_ms_per_req": round((cpu1 - cpu0) * 1000 / requests, 2) if requests else None,
            "mean_ms": round(statistics.fmean(every) * 1000, 1) if every else None,
        }
    finally:
        world.m.stop()


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--client":
        asyncio.run(_drive(json.loads(Path(sys.argv[2]).read_text())))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", default="1,2", help="web processes of M, one run each")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--post-share", type=float, default=0.1)
    parser.add_argument("--members", type=int, default=300)
    parser.add_argument("--statuses", type=int, default=20_000)
    parser.add_argument("--authors", type=int, default=20)
    opts = parser.parse_args()
    print(f"mixed load on M (PostgreSQL): {opts.clients} clients, {opts.duration:.0f} s, "
          f"{opts.post_share:.0%} posts fanned out to 2 linked hubs, {opts.members} members, "
          f"{opts.statuses} statuses; os.cpu_count()={os.cpu_count()}", flush=True)
    world = World(opts)
    rows = []
    try:
        world.start(1)
        world.follow_authors()
        world.m.stop()
        for n in (int(x) for x in opts.workers.split(",")):
            rows.append(run_phase(world, n, opts))
            print(json.dumps(rows[-1]), flush=True)
    finally:
        world.stop()
    keys = ["requests", "req_per_s", "errors", "posts", "lost_posts", "p50_ms", "p95_ms",
            "p99_ms", "server_cpu_s", "cpu_ms_per_req"]
    print(f"{'web processes':>16}" + "".join(f"{r['web_processes']:>12}" for r in rows))
    for key in keys:
        print(f"{key:>16}" + "".join(f"{r[key]!s:>12}" for r in rows))


if __name__ == "__main__":
    main()
