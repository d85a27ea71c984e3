"""Benchmark: signed Create activities accepted by a real `voisins serve` (DESIGN.md: ≥ 1,000
per second per core accepted durably; p99 from 202 to visible in a timeline < 1 s).

Loopback only, bounded in count and time, stops what it started by PID. This process:

1. configures and migrates a hub (SQLite, or a fresh database created on the PostgreSQL
   server of ``--pg-url`` and dropped afterwards) with one member, ``reader``;
2. serves N fake remote actors with their own RSA keys from an in-process hostile-style
   remote (``tests/support/hostile.py``) listed as the hub's neighbour;
3. starts ``voisins serve``; each actor posts once (the hub fetches and stores its key, not
   measured) and ``reader`` follows every actor;
4. pre-signs ``--requests`` followers-only Create(Note) activities, round-robin over the
   actors, and hands them to a load-generator *process* that posts them over
   ``--concurrency`` keep-alive connections (raw HTTP/1.1, so the client is cheap);
5. meanwhile polls the hub's database for a sample of those statuses in ``reader``'s
   ``timeline_entries`` (the 202→visible latency: CLOCK_MONOTONIC is shared by processes);
6. waits until every activity is processed and reads the server's CPU time from
   ``/proc/<pid>/stat`` (utime + stime, all threads; the inbox worker runs in-process).

    .venv/bin/python bench/inbox.py [--requests 3000] [--actors 20] [--concurrency 16]
                                    [--sample 300] [--rate 0] [--pg-url postgresql://…]

Unpaced (the default), the 202→visible latency includes the backlog the worker builds up
when accepting outruns processing; ``--rate`` offers a steady load instead.

7. stops the hub and sends the same requests to the floor, ``bench/inbox_floor.py``: a bare
   Starlette app that parses the body, verifies the signature with ``cryptography`` against
   a key parsed at start-up and INSERTs the activity (raw ``sqlite3`` or ``psycopg``, commits
   grouped as ``inbox.writer`` groups them); it prints both CPU costs per activity and their
   ratio, which holds from one machine (or day) to another where absolute figures do not.

On PostgreSQL the server's CPU (postmaster, backends, WAL writer; not this bench's own
connections) is counted too, for the hub and for the floor; the server must run on this
machine. A flame graph of the hub during the measured run (py-spy must be installed in the
venv: ``.venv/bin/pip install py-spy``; ``.json`` gives a speedscope profile)::

    .venv/bin/python bench/inbox.py --requests 1500 --profile /tmp/inbox.svg
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

TIMEOUT_TOTAL = 600.0  # seconds, everything included
POLL_INTERVAL = 0.005  # seconds between timeline polls (the latency's resolution)


# --- the load generator (child process) -------------------------------------------------------


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """(status, keep-alive) of one HTTP/1.1 response; the body is read and dropped."""
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("connection closed by the server")
    status = int(status_line.split()[1])
    length, keep = 0, True
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "connection" and value.strip().lower() == "close":
            keep = False
        elif name == "transfer-encoding":
            raise ValueError("chunked responses are not expected from the inbox")
    if length:
        await reader.readexactly(length)
    return status, keep


async def _generate(host: str, port: int, requests: list[bytes], concurrency: int,
                    rate: float) -> list[tuple[int, int, int]]:
    results: list[tuple[int, int, int]] = [(0, 0, 0)] * len(requests)
    indexes = iter(range(len(requests)))
    begin = time.monotonic()

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for i in indexes:
                if rate:
                    # Open-loop pacing: request i is due at i / rate seconds.
                    await asyncio.sleep(max(0.0, begin + i / rate - time.monotonic()))
                started = time.monotonic_ns()
                writer.write(requests[i])
                status, keep = await _read_response(reader)
                results[i] = (status, started, time.monotonic_ns())
                if not keep:
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return results


def run_generator(requests_file: str, target: str, concurrency: int, rate: float,
                  out: str) -> None:
    host, port = target.rsplit(":", 1)
    requests = [r.encode("latin-1") for r in json.loads(Path(requests_file).read_text())]
    results = asyncio.run(_generate(host, int(port), requests, concurrency, rate))
    Path(out).write_text(json.dumps(results))


# --- the bench (this process) -----------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postmaster_of(conninfo: str) -> int:
    """The PID of the PostgreSQL server of ``conninfo`` (it must run on this machine)."""
    import psycopg

    with psycopg.connect(conninfo) as conn:
        backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]  # type: ignore[index]
        return int(Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()[1])


def database_cpu_seconds(postmaster: int | None, exclude: set[int]) -> float:
    """CPU of a PostgreSQL server: the postmaster, its live children (backends, WAL
    writer...) but ``exclude`` (this bench's own connections), and its exited children."""
    if postmaster is None:
        return 0.0
    fields = Path(f"/proc/{postmaster}/stat").read_text().rsplit(")", 1)[1].split()
    total = sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in exclude:
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat[1]) == postmaster:
            total += (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
    return total


def run_floor(args: argparse.Namespace, workdir: Path, database_url: str,
              keys: dict[str, str], requests_file: Path, postmaster: int | None,
              exclude: set[int]) -> dict[str, Any]:
    """The same requests against ``bench/inbox_floor.py`` (parse, verify, INSERT, grouped
    commit): its accepted/s and CPU per activity, for the ratios."""
    import socket

    from support.hubs import free_port

    host = "127.0.0.1"
    port = free_port(host)
    (workdir / "keys.json").write_text(json.dumps(keys))
    if not database_url.startswith("postgresql"):
        database_url = f"sqlite:///{workdir / 'floor.db'}"
    out = workdir / "floor-results.json"
    floor = generator = None
    try:
        floor = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "inbox_floor.py"), "--database", database_url,
             "--keys", str(workdir / "keys.json"), "--host", host, "--port", str(port)],
            cwd=str(ROOT))

        def up() -> bool:
            if floor is not None and floor.poll() is not None:
                raise RuntimeError("the floor app exited")
            with socket.socket() as sock:
                return sock.connect_ex((host, port)) == 0

        wait_until(up, 120, "the floor app to listen")
        cpu_before = cpu_seconds(floor.pid)
        db_before = database_cpu_seconds(postmaster, exclude)
        started = time.monotonic_ns()
        generator = subprocess.Popen(
            [sys.executable, __file__, "--generate", str(requests_file),
             "--target", f"{host}:{port}", "--concurrency", str(args.concurrency),
             "--rate", "0", "--out", str(out)], cwd=str(ROOT))
        generator.wait(timeout=args.timeout)
        elapsed = (time.monotonic_ns() - started) / 1e9
        cpu = cpu_seconds(floor.pid) - cpu_before
        db_cpu = database_cpu_seconds(postmaster, exclude) - db_before
        if generator.returncode != 0:
            raise RuntimeError("the load generator failed against the floor")
    finally:
        for child in (generator, floor):
            if child is not None and child.poll() is None:
                child.kill()  # our own children, by PID
                child.wait()
    results = json.loads(out.read_text())
    accepted = sum(1 for status, _t0, _t1 in results if status == 202)
    first = min(t0 for _s, t0, _t1 in results)
    last = max(t1 for _s, _t0, t1 in results)
    return {"accepted": accepted, "accepted_per_s": accepted / ((last - first) / 1e9),
            "cpu_ms": cpu * 1000 / args.requests, "db_cpu_ms": db_cpu * 1000 / args.requests,
            "elapsed_s": elapsed}


def wait_until(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise TimeoutError(f"timed out waiting for {what}")


def create_pg_database(server_url: str) -> tuple[str, Any]:
    """A fresh database on the server of ``server_url``; returns (its URL, a dropper)."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"bench_inbox_{secrets.token_hex(4)}"
    admin = make_url(server_url).set(drivername="postgresql")
    conninfo = admin.render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return admin.set(database=name).render_as_string(hide_password=False), drop


def raw_request(target: str, headers: dict[str, str], body: bytes) -> str:
    """One HTTP/1.1 POST as text (headers already carry Host, Date, Digest, Signature)."""
    lines = [f"POST {target} HTTP/1.1"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines += [f"Content-Length: {len(body)}", "", ""]
    return "\r\n".join(lines) + body.decode("latin-1")


def bench(args: argparse.Namespace) -> dict[str, Any]:
    from sqlalchemy import func, select
    from support.hostile import HostileRemote, create_note
    from support.hubs import free_port

    from fedi.config import load_settings, render_config
    from fedi.db import make_engine, make_sessionmaker, transaction
    from fedi.ids import new_id
    from fedi.migrate import upgrade
    from fedi.models import Actor, Follow, InboxItem, Status, TimelineEntry
    from fedi.services.accounts import create_user
    from fedi.signatures import sign_request

    drop_database = None
    hub: subprocess.Popen[bytes] | None = None
    generator: subprocess.Popen[bytes] | None = None
    profiler: subprocess.Popen[bytes] | None = None
    remote = HostileRemote().start()
    with tempfile.TemporaryDirectory(prefix="voisins-bench-inbox-") as tmp, \
            contextlib.ExitStack() as stack:
        workdir = Path(tmp)
        try:
            if args.pg_url:
                database_url, drop_database = create_pg_database(args.pg_url)
            else:
                database_url = f"sqlite:///{workdir / 'hub.db'}"
            host = "127.0.0.1"
            port = free_port(host)
            domain = f"{host}:{port}"
            config = workdir / "voisins.toml"
            text = render_config(domain=domain, name="Bench", scheme="http",
                                 territory=["75011"], database_url=database_url,
                                 allow_http=True, allow_private_addresses=True)
            text = text.replace("neighbours = []", f'neighbours = ["{remote.domain}"]')
            text = text.replace("port = 8000", f"port = {port}")
            config.write_text(text)
            settings = load_settings(str(config), env={})
            upgrade(settings.database_url)
            engine = make_engine(settings.database_url)
            sessions = make_sessionmaker(engine)
            postmaster = postmaster_of(database_url) if args.pg_url else None
            own_backends: set[int] = set()
            if args.pg_url:
                from sqlalchemy import event

                def remember(dbapi_conn: Any, _record: Any) -> None:
                    own_backends.add(dbapi_conn.info.backend_pid)

                event.listen(engine, "connect", remember)
            with transaction(sessions) as s:
                reader_id = create_user(s, settings, "reader", email="reader@bench.test",
                                        password="reader-password").actor_id

            env = {k: v for k, v in os.environ.items() if not k.startswith("VOISINS_")}
            log = stack.enter_context(open(workdir / "serve.log", "wb"))
            hub = subprocess.Popen(
                [sys.executable, "-m", "fedi.cli", "--config", str(config), "serve",
                 "--log-level", "warning"],
                stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(ROOT))
            import httpx

            def up() -> bool:
                if hub is not None and hub.poll() is not None:
                    raise RuntimeError((workdir / "serve.log").read_text()[-3000:])
                try:
                    return httpx.get(f"http://{domain}/.well-known/nodeinfo",
                                     timeout=2).status_code == 200
                except httpx.HTTPError:
                    return False

            wait_until(up, 120, "the hub to answer")
            inbox = f"http://{domain}/inbox"

            # Warm-up (not measured): every actor's key fetched and stored; reader follows.
            actors = [remote.add_actor(f"bench{n}") for n in range(args.actors)]
            reader_uri = f"http://{domain}/users/reader"
            for actor in actors:
                # Addressed to reader: nobody here follows the actor yet.
                doc = create_note(actor, to=[reader_uri], mentions=[reader_uri])
                response = remote.post(inbox, doc, actor)
                if response.status_code != 202:
                    raise RuntimeError(f"warm-up refused: {response.status_code} {response.text}"
                                       + (workdir / "serve.log").read_text()[-3000:])
            with transaction(sessions) as s:
                for actor in actors:
                    followee = s.scalar(select(Actor.id).where(Actor.uri == actor.uri))
                    s.add(Follow(id=new_id(), follower_id=reader_id, followee_id=followee,
                                 uri=f"http://{domain}/users/reader/follows/{new_id()}",
                                 state="accepted"))

            def processed() -> int:
                with sessions() as s:
                    return int(s.scalar(select(func.count()).select_from(InboxItem).where(
                        InboxItem.state != "pending")) or 0)

            try:
                wait_until(lambda: processed() >= args.actors, 60, "the warm-up to be processed")
            except TimeoutError:
                with sessions() as s:
                    for state, error in s.execute(select(InboxItem.state, InboxItem.last_error)
                                                  .limit(3)):
                        print(f"inbox item {state}: {error}", file=sys.stderr)
                print((workdir / "serve.log").read_text()[-2000:], file=sys.stderr)
                raise

            # Pre-signed requests; every k-th one is sampled for the latency.
            step = max(1, args.requests // args.sample)
            raw: list[str] = []
            sampled: dict[int, str] = {}
            signed_at = datetime.now(UTC)
            for i in range(args.requests):
                actor = actors[i % len(actors)]
                doc = create_note(actor, to=[actor.followers],
                                  content=f"<p>Bench {i}: qui connaît un bon plombier ?</p>")
                body = json.dumps(doc).encode()
                headers = sign_request("POST", inbox,
                                       headers={"Content-Type": "application/activity+json"},
                                       body=body, private_key_pem=actor.private_key_pem,
                                       key_id=actor.key_id, now=signed_at)
                raw.append(raw_request("/inbox", headers, body))
                if i % step == 0:
                    sampled[i] = doc["object"]["id"]
            requests_file, results_file = workdir / "requests.json", workdir / "results.json"
            requests_file.write_text(json.dumps(raw))
            del raw

            baseline = processed()
            if args.profile:
                profiler = subprocess.Popen(
                    [str(Path(sys.executable).parent / "py-spy"), "record", "--pid",
                     str(hub.pid), "--rate", "200", "--output", args.profile, "--nonblocking"]
                    + (["--format", "speedscope"] if args.profile.endswith(".json") else []),
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            cpu_before = cpu_seconds(hub.pid)
            db_before = database_cpu_seconds(postmaster, own_backends)
            started = time.monotonic_ns()
            generator = subprocess.Popen(
                [sys.executable, __file__, "--generate", str(requests_file), "--target", domain,
                 "--concurrency", str(args.concurrency), "--rate", str(args.rate),
                 "--out", str(results_file)],
                cwd=str(ROOT))

            # Poll reader's timeline for the sampled statuses while the load runs.
            visible: dict[str, int] = {}
            waiting = set(sampled.values())
            deadline = time.monotonic() + args.timeout
            while waiting and time.monotonic() < deadline:
                with sessions() as s:
                    seen = s.scalars(select(Status.uri).join(
                        TimelineEntry, TimelineEntry.status_id == Status.id).where(
                        TimelineEntry.owner_id == reader_id, Status.uri.in_(waiting))).all()
                at = time.monotonic_ns()
                for uri in seen:
                    visible[uri] = at
                waiting.difference_update(seen)
                if generator.poll() is not None and generator.returncode != 0:
                    raise RuntimeError("the load generator failed")
                time.sleep(POLL_INTERVAL)  # the poll period, not a synchronisation
            generator.wait(timeout=max(1.0, deadline - time.monotonic()))
            if generator.returncode != 0:
                raise RuntimeError("the load generator failed")
            wait_until(lambda: processed() >= baseline + args.requests,
                       max(1.0, deadline - time.monotonic()), "every activity to be processed")
            drained = time.monotonic_ns()
            cpu = cpu_seconds(hub.pid) - cpu_before
            db_cpu = database_cpu_seconds(postmaster, own_backends) - db_before
            if profiler is not None:
                profiler.send_signal(signal.SIGINT)  # our own child, by PID: writes the graph
                profiler.wait(timeout=60)
            results = json.loads(results_file.read_text())
            with sessions() as s:
                failed = int(s.scalar(select(func.count()).select_from(InboxItem).where(
                    InboxItem.state == "failed")) or 0)
            if hub.poll() is None:
                hub.send_signal(signal.SIGTERM)  # our own child, by PID: the floor runs alone
                hub.wait(timeout=15)
            floor = run_floor(args, workdir, database_url,
                              {a.key_id: a.public_key_pem for a in actors}, requests_file,
                              postmaster, own_backends)
            engine.dispose()
        finally:
            if profiler is not None and profiler.poll() is None:
                profiler.kill()  # our own child, by PID
                profiler.wait()
            if generator is not None and generator.poll() is None:
                generator.kill()  # our own child, by PID
                generator.wait()
            if hub is not None and hub.poll() is None:
                hub.send_signal(signal.SIGTERM)  # our own child, by PID
                try:
                    hub.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    hub.kill()
                    hub.wait()
            remote.stop()
            if drop_database is not None:
                drop_database()

    statuses: dict[int, int] = {}
    for status, _t0, _t1 in results:
        statuses[status] = statuses.get(status, 0) + 1
    accepted = statuses.get(202, 0)
    first = min(t0 for _s, t0, _t1 in results)
    last = max(t1 for _s, _t0, t1 in results)
    latencies = sorted((visible[uri] - results[i][2]) / 1e6
                       for i, uri in sampled.items() if uri in visible)
    cents = statistics.quantiles(latencies, n=100, method="inclusive")
    cpu_ms = cpu * 1000 / args.requests
    db_cpu_ms = db_cpu * 1000 / args.requests
    return {
        "backend": "postgresql" if args.pg_url else "sqlite",
        "cpu_count": os.cpu_count(),
        "requests": args.requests,
        "actors": args.actors,
        "concurrency": args.concurrency,
        "rate": args.rate or "unpaced",
        "statuses": statuses,
        "failed_items": failed,
        "accepted_per_s": accepted / ((last - first) / 1e9),
        "processed_per_s": args.requests / ((drained - started) / 1e9),
        "server_cpu_ms_per_request": cpu_ms,
        "database_cpu_ms_per_request": db_cpu_ms,
        "accept_p50_ms": statistics.median((t1 - t0) / 1e6 for _s, t0, t1 in results),
        "visible_sampled": len(latencies),
        "visible_p50_ms": cents[49],
        "visible_p99_ms": cents[98],
        "visible_max_ms": latencies[-1],
        "floor_accepted_per_s": floor["accepted_per_s"],
        "floor_cpu_ms_per_request": floor["cpu_ms"],
        "floor_database_cpu_ms_per_request": floor["db_cpu_ms"],
        "floor_failed": args.requests - floor["accepted"],
        # Each side's CPU per activity, the database server's included (PostgreSQL).
        "cpu_ratio_to_floor": (cpu_ms + db_cpu_ms) / (floor["cpu_ms"] + floor["db_cpu_ms"]),
        "accepted_per_s_per_core": accepted / ((last - first) / 1e9) / (os.cpu_count() or 1),
        "processed_per_s_per_core_of_cpu": 1000 / (cpu_ms + db_cpu_ms),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--actors", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--sample", type=int, default=300,
                        help="how many statuses are timed from 202 to visible")
    parser.add_argument("--pg-url", default=None,
                        help="a PostgreSQL server URL; a fresh database is made there and dropped")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds allowed for the measured run")
    parser.add_argument("--rate", type=float, default=0.0,
                        help="requests per second offered (default 0: as fast as accepted)")
    parser.add_argument("--profile", default=None,
                        help="record the hub with py-spy during the run into this file "
                             "(.svg flame graph, or .json for speedscope)")
    parser.add_argument("--generate", help=argparse.SUPPRESS)
    parser.add_argument("--target", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        run_generator(args.generate, args.target, args.concurrency, args.rate, args.out)
        return
    if not (100 <= args.requests <= 100_000 and 1 <= args.actors <= 500
            and 1 <= args.concurrency <= 256 and 10 <= args.sample <= args.requests
            and 10 <= args.timeout <= TIMEOUT_TOTAL and 0 <= args.rate <= 100_000
            and (not args.rate or args.requests / args.rate <= args.timeout)):
        parser.error("--requests 100..100000, --actors 1..500, --concurrency 1..256, "
                     "--sample 10..requests, --timeout 10..600, requests/rate ≤ timeout")
    r = bench(args)
    print(f"inbox: {r['requests']} signed Create(Note) from {r['actors']} remote actors, "
          f"concurrency {r['concurrency']}, offered rate {r['rate']}, {r['backend']}, "
          f"os.cpu_count()={r['cpu_count']}")
    print(f"  answers {r['statuses']}   failed inbox items {r['failed_items']}")
    print(f"  accepted {r['accepted_per_s']:.0f}/s (202 p50 {r['accept_p50_ms']:.1f} ms)   "
          f"processed {r['processed_per_s']:.0f}/s   "
          f"server CPU {r['server_cpu_ms_per_request']:.2f} ms per activity "
          "(verify + store + worker)"
          + (f" + database {r['database_cpu_ms_per_request']:.2f} ms"
             if r["backend"] == "postgresql" else ""))
    print(f"  i.e. {r['processed_per_s_per_core_of_cpu']:.0f} activities processed per second "
          "per core of CPU")
    print(f"  floor (bench/inbox_floor.py: parse, verify, INSERT, grouped commit): accepted "
          f"{r['floor_accepted_per_s']:.0f}/s, CPU {r['floor_cpu_ms_per_request']:.2f} ms per "
          "activity"
          + (f" + database {r['floor_database_cpu_ms_per_request']:.2f} ms"
             if r["backend"] == "postgresql" else "")
          + f" ({r['floor_failed']} refused)")
    print(f"  ratio to the floor: CPU per activity ×{r['cpu_ratio_to_floor']:.1f}, "
          f"accepted/s ÷{r['floor_accepted_per_s'] / r['accepted_per_s']:.1f}")
    print(f"  202→visible in a follower's timeline ({r['visible_sampled']} sampled): "
          f"p50 {r['visible_p50_ms']:.0f} ms   p99 {r['visible_p99_ms']:.0f} ms   "
          f"max {r['visible_max_ms']:.0f} ms")
    print(json.dumps(r))


if __name__ == "__main__":
    main()
