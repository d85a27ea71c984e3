"""Benchmark: home timeline (20 statuses, authenticated Mastodon API) on a seeded hub.

Seeds a hub (bench/seed.py: members, follows, statuses and their timeline rows), starts a
real ``voisins serve`` on loopback, and drives ``GET /api/v1/timelines/home`` at a fixed
concurrency from a child process (a minimal keep-alive HTTP/1.1 client, so the load
generator costs little). Prints requests per second, the server's CPU milliseconds per
request (from /proc/<pid>/stat over the measured window), latency percentiles, and
os.cpu_count(). DESIGN.md target: ≤ 2 ms CPU per request, p99 < 50 ms at concurrency 16.

    .venv/bin/python bench/timeline.py [--backend sqlite|postgresql|both] [--members 1000]
        [--statuses 100000] [--follows 20] [--concurrency 16] [--duration 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
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

PATH = "/api/v1/timelines/home"


# --- the load generator (child process) -------------------------------------------------------


async def _worker(host: str, port: int, token: str, stop_at: list[float], measure_from: float,
                  latencies: list[float], errors: list[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    request = (f"GET {PATH} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}"
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
                if status == 200 and body.startswith(b"[{"):
                    latencies.append(done - started)
                else:
                    errors.append(status)
    finally:
        writer.close()


async def _drive(host: str, port: int, tokens: list[str], concurrency: int, warmup: float,
                 duration: float) -> None:
    now = time.monotonic()
    measure_from = now + warmup
    stop_at = [measure_from + duration]
    latencies: list[float] = []
    errors: list[int] = []
    tasks = [asyncio.create_task(_worker(host, port, tokens[i % len(tokens)], stop_at,
                                         measure_from, latencies, errors))
             for i in range(concurrency)]
    await asyncio.sleep(max(0.0, measure_from - time.monotonic()))
    print("START", flush=True)
    await asyncio.sleep(duration)
    print("END", flush=True)
    await asyncio.gather(*tasks)
    print(json.dumps({"latencies": latencies, "errors": errors}), flush=True)


def client_main(args: list[str]) -> None:
    host, port, tokens_file, concurrency, warmup, duration = args
    tokens = [t["token"] for t in json.loads(Path(tokens_file).read_text())]
    asyncio.run(_drive(host, int(port), tokens, int(concurrency), float(warmup),
                       float(duration)))


# --- the measuring parent ---------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def run_backend(backend: str, opts: argparse.Namespace) -> dict[str, Any]:
    from support.hubs import HubProcess, free_port

    from bench.seed import seed

    workdir = Path(tempfile.mkdtemp(prefix=f"bench-timeline-{backend}-"))
    pg = None
    if backend == "postgresql":
        from support.postgres import start_postgres

        pg = start_postgres()
        url = pg.create_database("bench_timeline")
    else:
        url = f"sqlite:///{workdir / 'hub.db'}"
    host = "127.0.0.1"
    hub = HubProcess(name="bench", host=host, port=free_port(host), workdir=workdir,
                     database_url=url,
                     extra_config="\n[api]\nrate_limit = 1000000000\n")
    try:
        hub.write_config()
        hub.migrate()
        started = time.monotonic()
        tokens = seed(hub.settings().database_url, hub.domain, "http", opts.members,
                      opts.statuses, opts.follows)
        seed_seconds = time.monotonic() - started
        tokens_file = workdir / "tokens.json"
        tokens_file.write_text(json.dumps(tokens[: max(opts.concurrency, 16)]))
        hub.start()
        assert hub.proc is not None
        pid = hub.proc.pid
        client = subprocess.Popen(
            [sys.executable, __file__, "--client", host, str(hub.port), str(tokens_file),
             str(opts.concurrency), str(opts.warmup), str(opts.duration)],
            stdout=subprocess.PIPE, text=True)
        assert client.stdout is not None
        cpu_start = wall_start = 0.0
        cpu_end = wall_end = 0.0
        result: dict[str, Any] = {}
        for line in client.stdout:
            if line.startswith("START"):
                cpu_start, wall_start = cpu_seconds(pid), time.monotonic()
            elif line.startswith("END"):
                cpu_end, wall_end = cpu_seconds(pid), time.monotonic()
            elif line.startswith("{"):
                result = json.loads(line)
        client.wait(timeout=60)
        lat = sorted(result.get("latencies", []))
        count = len(lat)
        wall = wall_end - wall_start
        return {
            "backend": backend, "seed_seconds": round(seed_seconds, 1), "requests": count,
            "errors": len(result.get("errors", [])),
            "req_per_s": round(count / wall, 1) if wall else 0.0,
            "cpu_ms_per_req": round((cpu_end - cpu_start) * 1000 / count, 3) if count else None,
            "p50_ms": round(statistics.median(lat) * 1000, 2) if lat else None,
            "p99_ms": round(lat[int(len(lat) * 0.99) - 1] * 1000, 2) if lat else None,
        }
    finally:
        hub.stop()
        if pg is not None:
            pg.stop()


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        client_main(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--statuses", type=int, default=100_000)
    parser.add_argument("--follows", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--duration", type=float, default=10.0)
    opts = parser.parse_args()
    backends = ["sqlite", "postgresql"] if opts.backend == "both" else [opts.backend]
    print(f"home timeline, {opts.members} members, {opts.statuses} statuses, "
          f"{opts.follows} follows each, concurrency {opts.concurrency}, "
          f"os.cpu_count()={os.cpu_count()}", flush=True)
    for backend in backends:
        print(json.dumps(run_backend(backend, opts)), flush=True)


if __name__ == "__main__":
    main()
