"""Benchmark: the resident memory (RSS) of every hub process under mixed load, over time.

The world of bench/load.py (M on PostgreSQL with ``--workers`` web processes and its worker
process, L1 and L2 on SQLite, followers of M's authors on both) under the same mixed load
(reads and followers-only posts fanned out to L1 and L2) for ``--minutes``; the RSS of each
hub process (from /proc/PID/status) is sampled every 10 s. Printed: each process's RSS at
minute 2, at the end, the growth between them, and its peak, with ``os.cpu_count()``.
Target (DESIGN.md): < 150 MB per process, no growth between minute 2 and minute 10.

    .venv/bin/python bench/memory.py [--minutes 10] [--clients 32] [--workers 2]

To see where a growing process's memory goes: run it with ``PYTHONTRACEMALLOC=25`` and
compare two ``tracemalloc`` snapshots (``snapshot.compare_to(old, "traceback")``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from load import World, tree

SAMPLE_SECONDS = 10.0


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def hub_processes(world: World) -> dict[str, int]:
    """A label for each Python process of the three hubs."""
    out: dict[str, int] = {}
    for hub in (world.m, world.l1, world.l2):
        assert hub.proc is not None
        web = 0
        for pid in sorted(tree(hub.proc.pid)):
            line = cmdline(pid)
            if "resource_tracker" in line or "python" not in line:
                continue
            if pid == hub.proc.pid:
                label = f"{hub.name} serve"
            elif line.rstrip().endswith(" worker"):
                label = f"{hub.name} worker"
            else:
                web += 1
                label = f"{hub.name} web {web}"
            out[label] = pid
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2, help="web processes of M")
    parser.add_argument("--post-share", type=float, default=0.1)
    parser.add_argument("--members", type=int, default=300)
    parser.add_argument("--statuses", type=int, default=20_000)
    parser.add_argument("--authors", type=int, default=20)
    opts = parser.parse_args()
    print(f"RSS under mixed load: {opts.minutes:g} min, {opts.clients} clients, M with "
          f"{opts.workers} web process(es); os.cpu_count()={os.cpu_count()}", flush=True)
    world = World(opts)
    samples: dict[str, list[tuple[float, float]]] = {}
    try:
        world.start(1)
        world.follow_authors()
        world.m.stop()
        world.start(opts.workers)
        spec = {"host": world.m.host, "port": world.m.port, "readers": world.readers,
                "authors": world.authors, "clients": opts.clients,
                "duration": opts.minutes * 60, "post_share": opts.post_share}
        spec_file = world.workdir / "spec.json"
        spec_file.write_text(json.dumps(spec))
        client = subprocess.Popen([sys.executable, str(ROOT / "bench" / "load.py"), "--client",
                                   str(spec_file)], stdout=subprocess.PIPE, text=True)
        assert client.stdout is not None
        assert client.stdout.readline().startswith("START")
        # The result (every latency) is large: read it while sampling, or the pipe fills.
        output: list[str] = []
        stream = client.stdout
        reader = threading.Thread(target=lambda: output.append(stream.read()), daemon=True)
        reader.start()
        started = time.monotonic()
        while client.poll() is None:
            at = (time.monotonic() - started) / 60
            for label, pid in hub_processes(world).items():
                rss = rss_mb(pid)
                if rss is not None:
                    samples.setdefault(label, []).append((at, rss))
            print(f"  {at:5.1f} min " + " ".join(
                f"{label}={values[-1][1]:.0f}" for label, values in samples.items()), flush=True)
            try:
                client.wait(timeout=SAMPLE_SECONDS)
            except subprocess.TimeoutExpired:
                pass
        reader.join(timeout=60)
        result = json.loads(output[0].split("\n", 1)[1] if output else "{}")
    finally:
        world.stop()
    requests = sum(len(v) for v in result.get("latencies", {}).values())
    errors = sum(result.get("errors", {}).values())
    print(f"requests {requests}, errors {errors}, posts {len(result.get('posted', []))}")
    print(f"{'process':>14} {'RSS@2min':>9} {'RSS end':>9} {'growth':>8} {'peak':>7}  (MB)")
    for label, values in samples.items():
        at2 = min(values, key=lambda v: abs(v[0] - 2.0))[1]
        end = values[-1][1]
        peak = max(v[1] for v in values)
        print(f"{label:>14} {at2:9.1f} {end:9.1f} {end - at2:+8.1f} {peak:7.1f}")


if __name__ == "__main__":
    main()
