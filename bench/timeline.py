"""Benchmark: the read paths of the Mastodon API (home, hub and neighbourhood timelines,
notifications, an account's statuses; 20 entities, authenticated) on a seeded hub, against
their floor.

Seeds a hub (bench/seed.py: members, follows, statuses and their timeline rows, and the
notifications of the likes, mentions and follows), starts a real ``voisins serve`` on
loopback, and drives each path at a fixed concurrency from a child process (a minimal
keep-alive HTTP/1.1 client, so the load generator costs little). Then it stops the hub and
drives the same requests, with the same load generator, at the FLOOR (bench/floor.py: a
minimal Starlette app on raw sqlite3 / psycopg under uvicorn: one indexed token lookup, the
same 20 rows read and serialised to a similar JSON list). Prints os.cpu_count(), requests
per second, CPU milliseconds per request of the server process (plus, on PostgreSQL, of
every process of the database server) over the measured window, the floor's figure, their
ratio, and latency percentiles.

Targets (issue 14): ≤ 10× the floor; ≤ 2 ms (SQLite) / ≤ 3 ms (PostgreSQL) on a machine
whose floor is about 0.1 ms; p99 < 50 ms at concurrency 16.

    .venv/bin/python bench/timeline.py [--backend sqlite|postgresql|both]
        [--path home|hub|neighbourhood|notifications|account|all] [--members 1000]
        [--statuses 100000] [--follows 20] [--concurrency 16] [--duration 10] [--no-floor]
        [--profile DIR [--profile-raw]] [--reuse DIR]

``--reuse DIR``: copy the seeded database an earlier run left in DIR (its folder is printed:
the SQLite file, or PostgreSQL's data directory, stopped cleanly) instead of seeding again, e.g. to compare two versions of the code on the same
data (``PYTHONPATH=/path/to/other/checkout`` runs the hub from there).

Profile: ``--profile DIR`` runs ``py-spy record -o DIR/<backend>-<path>.svg --pid <hub pid>
--duration <duration>`` over each measured window (py-spy from the venv:
``.venv/bin/pip install py-spy``); the CPU figures of a profiled run are higher than usual.
By hand: ``.venv/bin/py-spy record -o /tmp/home.svg --pid <pid of voisins serve>`` or
``.venv/bin/py-spy dump --pid <pid>``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
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

PATHS = {
    "home": "/api/v1/timelines/home",
    "hub": "/api/v1/timelines/public?local=true",
    "neighbourhood": "/api/v1/timelines/public",
    "notifications": "/api/v1/notifications?limit=20",
    "account": "/api/v1/accounts/{target}/statuses",
}


# --- the load generator (child process) -------------------------------------------------------


async def _worker(host: str, port: int, path: str, token: str, stop_at: list[float],
                  measure_from: float, latencies: list[float], errors: list[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    request = (f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}"
               f"\r\nAccept: application/json\r\n\r\n").encode()
    try:
        while time.monotonic() < stop_at[0]:
            started = time.monotonic()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = await reader.readexactly(length)
            done = time.monotonic()
            if started >= measure_from and done <= stop_at[0]:
                # A list of entities; or (bench/scale.py) a search result.
                if status == 200 and body.startswith((b"[{", b'{"accounts":')):
                    latencies.append(done - started)
                else:
                    errors.append(status)
    finally:
        writer.close()


async def _drive(host: str, port: int, path: str, tokens: list[dict[str, Any]],
                 concurrency: int, warmup: float, duration: float) -> None:
    now = time.monotonic()
    measure_from = now + warmup
    stop_at = [measure_from + duration]
    latencies: list[float] = []
    errors: list[int] = []
    tasks = [asyncio.create_task(_worker(
        host, port, path.format(target=tokens[i % len(tokens)]["target"]),
        tokens[i % len(tokens)]["token"], stop_at, measure_from, latencies, errors))
             for i in range(concurrency)]
    await asyncio.sleep(max(0.0, measure_from - time.monotonic()))
    print("START", flush=True)
    await asyncio.sleep(duration)
    print("END", flush=True)
    await asyncio.gather(*tasks)
    print(json.dumps({"latencies": latencies, "errors": errors}), flush=True)


def client_main(args: list[str]) -> None:
    host, port, path, tokens_file, concurrency, warmup, duration = args
    tokens = json.loads(Path(tokens_file).read_text())
    asyncio.run(_drive(host, int(port), path, tokens, int(concurrency), float(warmup),
                       float(duration)))


# --- the measuring parent ---------------------------------------------------------------------


def cpu_seconds(pid: int, *, children: bool = False) -> float:
    """utime + stime of ``pid`` (and, with ``children``, of its reaped children)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    used = int(fields[11]) + int(fields[12])
    if children:
        used += int(fields[13]) + int(fields[14])
    return used / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(root: int) -> float:
    """CPU of a PostgreSQL server: the postmaster, its live backends, and the ones gone."""
    total = cpu_seconds(root, children=True)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) == root:
                total += cpu_seconds(int(entry.name))
        except (OSError, ValueError):
            continue
    return total


def measure(pid: int, db_pid: int | None, port: int, path: str, tokens_file: Path,
            opts: argparse.Namespace, profile: Path | None = None) -> dict[str, Any]:
    """Drive ``path`` on 127.0.0.1:``port``; CPU of ``pid`` (and the database server)."""
    def used() -> float:
        return cpu_seconds(pid) + (tree_cpu_seconds(db_pid) if db_pid else 0.0)

    client = subprocess.Popen(
        [sys.executable, __file__, "--client", "127.0.0.1", str(port), path, str(tokens_file),
         str(opts.concurrency), str(opts.warmup), str(opts.duration)],
        stdout=subprocess.PIPE, text=True)
    assert client.stdout is not None
    cpu_start = wall_start = cpu_end = wall_end = 0.0
    result: dict[str, Any] = {}
    spy = None
    for line in client.stdout:
        if line.startswith("START"):
            cpu_start, wall_start = used(), time.monotonic()
            if profile is not None:
                spy = subprocess.Popen(
                    [str(Path(sys.executable).parent / "py-spy"), "record", "-o", str(profile),
                     "--pid", str(pid), "--duration", str(int(opts.duration)), "--nonblocking",
                     # DIR/x.txt: collapsed stacks (one line each) rather than a flame graph.
                     *(["--format", "raw"] if profile.suffix == ".txt" else [])],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        elif line.startswith("END"):
            cpu_end, wall_end = used(), time.monotonic()
        elif line.startswith("{"):
            result = json.loads(line)
    client.wait(timeout=60)
    if spy is not None:
        spy.wait(timeout=120)
    lat = sorted(result.get("latencies", []))
    count = len(lat)
    wall = wall_end - wall_start
    return {
        "requests": count, "errors": len(result.get("errors", [])),
        "req_per_s": round(count / wall, 1) if wall else 0.0,
        "cpu_ms_per_req": round((cpu_end - cpu_start) * 1000 / count, 3) if count else None,
        "p50_ms": round(statistics.median(lat) * 1000, 2) if lat else None,
        "p99_ms": round(lat[max(0, int(len(lat) * 0.99) - 1)] * 1000, 2) if lat else None,
    }


def _targets(url: str, tokens: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each token with an account its member follows (for the account's statuses)."""
    from sqlalchemy import select

    from fedi.db import make_engine
    from fedi.models import Follow

    engine = make_engine(url)
    with engine.connect() as conn:
        out = []
        for t in tokens:
            target = conn.scalar(select(Follow.followee_id).where(
                Follow.follower_id == t["actor_id"], Follow.state == "accepted").limit(1))
            out.append({**t, "target": target or t["actor_id"]})
    engine.dispose()
    return out


def _wait_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    import socket

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the floor app exited")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError("the floor app did not listen")


def _fresh_postgres() -> Any:
    from support.postgres import start_postgres

    pg = start_postgres()
    pg.create_database("bench_timeline")
    return pg


def _reused_postgres(reuse: Path) -> Any:
    """A PostgreSQL server on a copy of the data directory an earlier run kept in
    ``reuse/pgdata`` (seeded and vacuumed), on a new port."""
    from support.postgres import PostgresServer, _free_port, find_bindir

    datadir = Path(tempfile.mkdtemp(prefix="voisins-pg-"))
    subprocess.run(["cp", "-a", f"{reuse / 'pgdata'}/.", str(datadir)], check=True)
    pg = PostgresServer(find_bindir(), datadir, _free_port(), os.geteuid() == 0)
    pg.resume()
    return pg


def run_backend(backend: str, paths: list[str], opts: argparse.Namespace) -> list[dict[str, Any]]:
    from support.hubs import HubProcess, free_port

    from bench.seed import seed, seed_notifications

    workdir = Path(tempfile.mkdtemp(prefix=f"bench-timeline-{backend}-"))
    pg = None
    db_pid = None
    reuse = Path(opts.reuse) if opts.reuse else None
    if backend == "postgresql":
        pg = _reused_postgres(reuse) if reuse is not None else _fresh_postgres()
        url = pg.url("bench_timeline")
        db_pid = int((pg.datadir / "postmaster.pid").read_text().split()[0])
    else:
        url = f"sqlite:///{workdir / 'hub.db'}"
    host = "127.0.0.1"
    port = free_port(host)
    if reuse is not None:
        # The database of an earlier run (its folder is printed), copied: its members'
        # domain names its port, so the hub listens there again.
        if backend == "sqlite":
            shutil.copy(reuse / "hub.db", workdir / "hub.db")
        port = int(re.search(r"^port = (\d+)", (reuse / "voisins.toml").read_text(),
                             re.MULTILINE).group(1))  # type: ignore[union-attr]
    hub = HubProcess(name="bench", host=host, port=port, workdir=workdir,
                     database_url=url,
                     extra_config="\n[api]\nrate_limit = 1000000000\n")
    results: dict[str, dict[str, Any]] = {}
    floor = None
    try:
        hub.write_config()
        started = time.monotonic()
        db_url = hub.settings().database_url
        tokens_file = workdir / "tokens.json"
        if reuse is not None:
            shutil.copy(reuse / "tokens.json", tokens_file)
        else:
            hub.migrate()
            tokens = seed(db_url, hub.domain, "http", opts.members, opts.statuses, opts.follows)
            if "notifications" in paths:
                seed_notifications(db_url)
            tokens_file.write_text(json.dumps(_targets(db_url,
                                                       tokens[: max(opts.concurrency, 16)])))
            if pg is not None:
                # After the bulk load autovacuum would run during the measure, and its CPU
                # counts with the server's: vacuum now, outside the measured window.
                import psycopg

                with psycopg.connect(pg.url("bench_timeline"), autocommit=True) as conn:
                    conn.execute("VACUUM (ANALYZE)")
                # Kept for --reuse: the data directory, stopped cleanly, copied.
                pg.halt()
                subprocess.run(["cp", "-a", str(pg.datadir), str(workdir / "pgdata")],
                               check=True)
                pg.resume()
                db_pid = int((pg.datadir / "postmaster.pid").read_text().split()[0])
        seed_seconds = round(time.monotonic() - started, 1)
        print(f"{backend}: {workdir}", flush=True)
        hub.start()
        assert hub.proc is not None
        for name in paths:
            suffix = ".txt" if opts.profile_raw else ".svg"
            profile = Path(opts.profile) / f"{backend}-{name}{suffix}" if opts.profile else None
            results[name] = {"backend": backend, "path": name, "seed_seconds": seed_seconds,
                             **measure(hub.proc.pid, db_pid, hub.port, PATHS[name],
                                       tokens_file, opts, profile)}
        hub.stop()
        if not opts.no_floor:
            port = free_port(host)
            floor = subprocess.Popen([sys.executable, str(ROOT / "bench" / "floor.py"), db_url,
                                      str(port)])
            _wait_port(port, floor)
            for name in paths:
                low = measure(floor.pid, db_pid, port, PATHS[name], tokens_file, opts)
                row = results[name]
                row["floor_cpu_ms_per_req"] = low["cpu_ms_per_req"]
                row["floor_req_per_s"] = low["req_per_s"]
                row["floor_errors"] = low["errors"]
                if row["cpu_ms_per_req"] and low["cpu_ms_per_req"]:
                    row["ratio"] = round(row["cpu_ms_per_req"] / low["cpu_ms_per_req"], 1)
        return list(results.values())
    finally:
        if floor is not None:
            floor.terminate()
            floor.wait(timeout=30)
        hub.stop()
        if pg is not None:
            pg.stop()


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        client_main(sys.argv[2:])
        return
    # Stopped (``timeout``, kill): still stop the hub, the floor and PostgreSQL (finally).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--statuses", type=int, default=100_000)
    parser.add_argument("--follows", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--path", choices=[*PATHS, "all"], default="home")
    parser.add_argument("--no-floor", action="store_true", help="skip the floor")
    parser.add_argument("--profile", help="a folder for py-spy flame graphs, one per path")
    parser.add_argument("--profile-raw", action="store_true",
                        help="with --profile: collapsed stacks (DIR/<backend>-<path>.txt, one "
                        "stack a line) rather than flame graphs")
    parser.add_argument("--reuse", help="the folder of an earlier run (printed), whose "
                        "seeded database (SQLite file, PostgreSQL data directory) is copied "
                        "instead of seeding again")
    opts = parser.parse_args()
    backends = ["sqlite", "postgresql"] if opts.backend == "both" else [opts.backend]
    paths = list(PATHS) if opts.path == "all" else [opts.path]
    if opts.profile:
        Path(opts.profile).mkdir(parents=True, exist_ok=True)
    print(f"read paths {paths}, {opts.members} members, {opts.statuses} statuses, "
          f"{opts.follows} follows each, concurrency {opts.concurrency}, "
          f"os.cpu_count()={os.cpu_count()}", flush=True)
    for backend in backends:
        for row in run_backend(backend, paths, opts):
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
