"""Benchmark: the read paths at scale on PostgreSQL (issue 14, "Scale on PostgreSQL").

Seeds a PostgreSQL hub at two sizes, 1,000 members / 100,000 statuses ("1k") and 10,000
members / 1,000,000 statuses ("10k"), both with 50 linked hubs (``neighbours``,
``neighbour_sync`` and ``directory_listings`` rows as the mesh stores them, 40 members each,
5 % of the statuses theirs), through bench/seed.py's ``seed_scale`` (PostgreSQL ``COPY``).
Then it starts a real ``voisins serve`` on loopback for each size (all at once) and
drives, path by path and size right after size (the load of a shared machine varies by the
minute: the ratio compares like with like), with
bench/timeline.py's load generator and CPU accounting (hub process + every PostgreSQL
process), the read paths of bench/timeline.py (home, hub, neighbourhood, notifications, an
account's statuses), the directory (all, and ``q=plomb``), and ``/api/v2/search`` for
accounts (``q=plomb``), hashtags (``q=#plomberie``) and statuses (``q=plomb``). Prints
os.cpu_count() and a table: per path and size, CPU ms per request, p50 / p99 latency, and
the ratio 10k / 1k of the CPU and of p50. Target: every ratio ≤ 2.

The seeded clusters are kept under ``--data`` (default /tmp/voisins-scale/<size>/, printed;
about 0.5 GB for 1k and 5 GB for 10k): ``--reuse`` starts a kept cluster again instead of
seeding (migrations newer than the seed are applied first), so the big one is seeded once
(about 10 minutes on 2 shared cores). ``rm -rf /tmp/voisins-scale`` frees the disk.

    .venv/bin/python bench/scale.py [--sizes 1k,10k] [--reuse] [--data DIR]
        [--path NAME[,NAME...]|all] [--concurrency 16] [--warmup 3] [--duration 8]
        [--profile DIR]

Profile: ``--profile DIR`` runs ``py-spy record -o DIR/<size>-<path>.svg --pid <hub pid>
--duration <duration>`` over each measured window (``.venv/bin/pip install py-spy``). By
hand: ``.venv/bin/py-spy record -o /tmp/scale.svg --pid <pid of voisins serve>``; for the
database side, ``EXPLAIN (ANALYZE, BUFFERS)`` the query in ``psql -h DIR/<size>/pg -p PORT
-U postgres bench`` (the port is printed).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from bench.timeline import PATHS as TIMELINE_PATHS
from bench.timeline import _targets, measure

SIZES = {"1k": (1_000, 100_000), "10k": (10_000, 1_000_000)}
HUBS, PER_HUB, FOLLOWS = 50, 40, 20
PATHS = {
    **TIMELINE_PATHS,
    "directory": "/api/v1/directory?limit=40",
    "directory_q": "/api/v1/directory?q=plomb&limit=40",
    "search_accounts": "/api/v2/search?q=plomb&type=accounts",
    "search_hashtags": "/api/v2/search?q=%23plomberie&type=hashtags",
    "search_statuses": "/api/v2/search?q=plomb&type=statuses",
}
DBNAME = "bench"
# Bigger buffers than the tests' throwaway servers: the 10k database is a few GB.
PG_SETTINGS = ("-c shared_buffers=1GB -c maintenance_work_mem=512MB -c max_wal_size=8GB "
               "-c work_mem=16MB")


@dataclass
class Cluster:
    """A kept PostgreSQL data directory and the hub folder seeded for one size."""

    root: Path

    @property
    def pgdata(self) -> Path:
        return self.root / "pg"

    @property
    def hubdir(self) -> Path:
        return self.root / "hub"

    @property
    def seeded(self) -> bool:
        return (self.root / "seeded").exists()

    def server(self) -> Any:
        from support.postgres import PostgresServer, _free_port, find_bindir

        as_postgres = os.geteuid() == 0
        port_file = self.root / "pg-port"
        if not port_file.exists():
            port_file.write_text(str(_free_port()))
        port = int(port_file.read_text())

        class Server(PostgresServer):
            def options(self) -> str:
                return f"{super().options()} {PG_SETTINGS}"

        server = Server(find_bindir(), self.pgdata, port, as_postgres)
        if not (self.pgdata / "PG_VERSION").exists():
            self.pgdata.mkdir(parents=True, exist_ok=True)
            if as_postgres:
                shutil.chown(self.pgdata, "postgres", "postgres")
            subprocess.run(server._cmd(str(server.bindir / "initdb"), "-D", str(self.pgdata),
                                       "-U", "postgres", "--auth=trust", "-E", "UTF8",
                                       "--locale=C.UTF-8"), check=True, capture_output=True)
        server.resume()
        return server


def prepare(size: str, opts: argparse.Namespace) -> tuple[Any, Any, Path]:
    """The running PostgreSQL server, the (stopped) hub and its tokens file for ``size``:
    seeded now, or the kept one with ``--reuse``."""
    from support.hubs import HubProcess, free_port

    from bench.seed import seed_scale
    from fedi.migrate import upgrade

    members, statuses = SIZES[size]
    cluster = Cluster(Path(opts.data) / size)
    if cluster.root.exists() and not (opts.reuse and cluster.seeded):
        shutil.rmtree(cluster.root)
    reuse = cluster.seeded
    cluster.hubdir.mkdir(parents=True, exist_ok=True)
    server = cluster.server()
    url = server.url(DBNAME)
    config = cluster.hubdir / "voisins.toml"
    if reuse:
        port = int(re.search(r"^port = (\d+)", config.read_text(),
                             re.MULTILINE).group(1))  # type: ignore[union-attr]
    else:
        port = free_port("127.0.0.1")
        server.create_database(DBNAME)
    hub = HubProcess(name="bench", host="127.0.0.1", port=port, workdir=cluster.hubdir,
                     database_url=url, extra_config="\n[api]\nrate_limit = 1000000000\n")
    hub.write_config()
    db_url = hub.settings().database_url
    tokens_file = cluster.hubdir / "tokens.json"
    started = time.monotonic()
    upgrade(db_url)  # a kept cluster gets the migrations newer than its seed
    if not reuse:
        tokens = seed_scale(db_url, hub.domain, "http", members, statuses, FOLLOWS,
                            hubs=HUBS, per_hub=PER_HUB)
        tokens_file.write_text(json.dumps(_targets(db_url, tokens[: max(opts.concurrency, 16)])))
        (cluster.root / "seeded").write_text(time.strftime("%Y-%m-%d %H:%M:%S\n"))
    print(f"{size}: {members} members, {statuses} statuses, {HUBS} linked hubs; kept in "
          f"{cluster.root} (PostgreSQL port {server.port}, database {DBNAME}); ready in "
          f"{time.monotonic() - started:.0f} s", flush=True)
    return server, hub, tokens_file


def run(sizes: list[str], paths: list[str], opts: argparse.Namespace
        ) -> dict[str, dict[str, Any]]:
    """Every size's hub up at once, each path measured on one size right after the other:
    on a shared machine the load varies minute by minute, and the ratio compares like with
    like."""
    results: dict[str, dict[str, Any]] = {size: {} for size in sizes}
    running: list[tuple[str, Any, Any, Path, int]] = []
    try:
        for size in sizes:
            server, hub, tokens_file = prepare(size, opts)
            running.append((size, server, hub, tokens_file,
                            int((server.datadir / "postmaster.pid").read_text().split()[0])))
            hub.start()
        for name in paths:
            for size, _server, hub, tokens_file, db_pid in running:
                profile = Path(opts.profile) / f"{size}-{name}.svg" if opts.profile else None
                results[size][name] = measure(hub.proc.pid, db_pid, hub.port, PATHS[name],
                                              tokens_file, opts, profile)
                print(json.dumps({"size": size, "path": name, **results[size][name]}),
                      flush=True)
    finally:
        for _size, server, hub, *_ in running:
            hub.stop()
            server.halt()  # kept for --reuse
    return results


def ratio(big: Any, small: Any) -> str:
    return f"{big / small:.2f}" if big and small else "-"


def table(results: dict[str, dict[str, Any]], sizes: list[str], paths: list[str]) -> str:
    head = f"{'path':<16}"
    for size in sizes:
        head += f" | {size + ' cpu ms':>10} {'p50':>7} {'p99':>7} {'err':>4}"
    if len(sizes) == 2:
        head += f" | {'cpu ' + sizes[1] + '/' + sizes[0]:>11} {'p50 ratio':>9}"
    lines = [head, "-" * len(head)]
    for name in paths:
        line = f"{name:<16}"
        for size in sizes:
            r = results.get(size, {}).get(name, {})
            line += (f" | {r.get('cpu_ms_per_req') or '-':>10} {r.get('p50_ms') or '-':>7} "
                     f"{r.get('p99_ms') or '-':>7} {r.get('errors', '-'):>4}")
        if len(sizes) == 2:
            a, b = (results.get(s, {}).get(name, {}) for s in sizes)
            line += (f" | {ratio(b.get('cpu_ms_per_req'), a.get('cpu_ms_per_req')):>11} "
                     f"{ratio(b.get('p50_ms'), a.get('p50_ms')):>9}")
        lines.append(line)
    return "\n".join(lines)


def main() -> None:
    # Stopped (``timeout``, kill): still stop the hub and PostgreSQL (finally).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1k,10k")
    parser.add_argument("--reuse", action="store_true",
                        help="start the clusters kept in --data instead of seeding again")
    parser.add_argument("--data", default="/tmp/voisins-scale")
    parser.add_argument("--path", default="all", help=f"all, or some of {','.join(PATHS)}")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--profile", help="a folder for py-spy flame graphs")
    opts = parser.parse_args()
    sizes = opts.sizes.split(",")
    paths = list(PATHS) if opts.path == "all" else opts.path.split(",")
    for name in [*sizes, *paths]:
        if name not in SIZES and name not in PATHS:
            parser.error(f"unknown size or path: {name}")
    if opts.profile:
        Path(opts.profile).mkdir(parents=True, exist_ok=True)
    print(f"sizes {sizes}, paths {paths}, concurrency {opts.concurrency}, "
          f"{opts.duration} s each, os.cpu_count()={os.cpu_count()}", flush=True)
    results = run(sizes, paths, opts)
    print(f"\nos.cpu_count()={os.cpu_count()}; CPU ms per request = hub process + PostgreSQL "
          f"processes; latencies in ms at concurrency {opts.concurrency}")
    print(table(results, sizes, paths))


if __name__ == "__main__":
    main()
