"""Benchmark: how long one post takes to reach N linked hubs (DESIGN.md: 20 hubs, p99 < 500 ms).

Loopback only, bounded, stops by itself. N fake receiving hubs (Starlette on uvicorn, all in
one child process, one port each, so N distinct hosts to the worker) read the body, parse the
activity id and answer 202, printing when each POST arrived (CLOCK_MONOTONIC, shared by
processes on Linux). This process stores each post and its N delivery rows in one
transaction (as publish() does), wakes the DeliveryWorker, and measures from before that
transaction to the last arrival. Posts go one at a time; the first few warm up and are not
counted.

    .venv/bin/python bench/delivery.py [--hubs 20] [--posts 50] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WARMUP = 5
TIMEOUT_PER_POST = 10.0
TIMEOUT_TOTAL = 180.0


# --- the receivers (child process) ------------------------------------------------------------


def serve_receivers(count: int, stalled: int) -> None:
    """Run `count` inboxes on loopback; print their ports, then one line per arrival.

    The first `stalled` accept the request and never answer (a frozen peer).
    """
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    out = sys.stdout
    never = asyncio.Event()
    frozen: set[int] = set()

    async def inbox(request: Request) -> Response:
        body = await request.body()
        if request.url.port in frozen:
            await never.wait()
        arrived = time.monotonic_ns()
        activity_id = json.loads(body)["id"]
        out.write(f"{activity_id} {request.url.port} {arrived}\n")
        out.flush()
        return Response(status_code=202)

    app = Starlette(routes=[Route("/inbox", inbox, methods=["POST"])])
    sockets = []
    for _ in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(512)
        sockets.append(sock)
    servers = [
        uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
        for _ in sockets
    ]
    ports = [s.getsockname()[1] for s in sockets]
    frozen.update(ports[:stalled])
    out.write(json.dumps(ports) + "\n")
    out.flush()

    async def main() -> None:
        await asyncio.gather(*(srv.serve(sockets=[sock]) for srv, sock in zip(servers, sockets)))

    asyncio.run(main())


# --- the sender (this process) ----------------------------------------------------------------


def make_sender(workdir: Path, database_url: str | None) -> tuple[Any, Any, Any]:
    """A migrated sender hub with one member; returns (settings, sessions, author)."""
    from fedi.config import load_settings, render_config
    from fedi.db import make_engine, make_sessionmaker, transaction
    from fedi.migrate import upgrade
    from fedi.models import Actor
    from fedi.services.accounts import create_user

    config = workdir / "voisins.toml"
    config.write_text(
        render_config(
            domain="sender.bench",
            name="Bench",
            scheme="http",
            territory=["75011"],
            database_url=database_url or f"sqlite:///{workdir / 'bench.db'}",
            allow_http=True,
            allow_private_addresses=True,
        )
    )
    settings = load_settings(str(config), env={})
    upgrade(settings.database_url)
    sessions = make_sessionmaker(make_engine(settings.database_url))
    with transaction(sessions) as session:
        user = create_user(
            session, settings, "alice", email="alice@sender.bench", password="alice-password"
        )
        author = session.get(Actor, user.actor_id)
    return settings, sessions, author


def publish_one(sessions: Any, author: Any, inboxes: list[str], members: list[str]) -> str:
    """Store a neighbourhood Create and its deliveries in one transaction; returns its id."""
    from fedi.db import transaction
    from fedi.ids import new_id
    from fedi.models import OutboxActivity
    from outbox.queue import enqueue_deliveries

    aid = new_id()
    uri = f"{author.uri}/activities/{aid}"
    note = {
        "id": f"{author.uri}/statuses/{aid}",
        "type": "Note",
        "attributedTo": author.uri,
        "to": ["http://sender.bench/members"],
        "cc": members,
        "content": "<p>Qui connaît un bon serrurier rue Oberkampf ?</p>",
    }
    doc = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": uri,
        "type": "Create",
        "actor": author.uri,
        "to": note["to"],
        "cc": members,
        "object": note,
    }
    with transaction(sessions) as session:
        activity = OutboxActivity(
            id=aid, uri=uri, actor_id=author.id, type="Create", object_uri=note["id"], payload=doc
        )
        session.add(activity)
        enqueue_deliveries(session, activity, inboxes)
    return uri


async def bench(
    hubs: int, posts: int, database_url: str | None, stalled: int = 0, interval: float = 0.0
) -> dict[str, Any]:
    from fedi.http import Fetcher, make_client
    from outbox.worker import DeliveryWorker, stop_delivery_worker

    receivers = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--serve-receivers",
        str(hubs),
        "--stalled",
        str(stalled),
        stdout=asyncio.subprocess.PIPE,
        cwd=str(ROOT),
    )
    arrivals: dict[str, list[int]] = defaultdict(list)
    complete: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
    try:
        assert receivers.stdout is not None
        ports = json.loads(await asyncio.wait_for(receivers.stdout.readline(), 30))
        domains = [f"127.0.0.1:{port}" for port in ports]

        async def read_arrivals() -> None:
            assert receivers.stdout is not None
            while line := await receivers.stdout.readline():
                uri, _port, at = line.decode().split()
                arrivals[uri].append(int(at))
                if len(arrivals[uri]) == hubs - stalled:
                    complete[uri].set()

        reader = asyncio.create_task(read_arrivals())
        with tempfile.TemporaryDirectory(prefix="voisins-bench-") as tmp:
            settings, sessions, author = make_sender(Path(tmp), database_url)
            allowed = frozenset(domains)
            client = make_client(allow_private=True, ca_bundle=None)
            fetcher = Fetcher(client, is_allowed=allowed.__contains__, allow_http=True)
            worker = DeliveryWorker(sessions, fetcher)
            stop = asyncio.Event()
            task = asyncio.create_task(worker.run_forever(stop))
            inboxes = [f"http://{d}/inbox" for d in domains]
            members = [f"http://{d}/members" for d in domains]
            latencies: list[float] = []
            cpu_before = time.process_time()
            try:
                for n in range(WARMUP + posts):
                    started = time.monotonic_ns()
                    # Publishing happens in a request thread in the web process.
                    uri = await asyncio.to_thread(publish_one, sessions, author, inboxes, members)
                    worker.wake()
                    await asyncio.wait_for(complete[uri].wait(), TIMEOUT_PER_POST)
                    if n >= WARMUP:
                        latencies.append((max(arrivals[uri]) - started) / 1e6)
                    if interval:
                        await asyncio.sleep(interval)  # pacing between posts, not a sync point
            finally:
                cpu = time.process_time() - cpu_before
                # Stalled POSTs would hold a graceful stop for the fetcher's deadline: cut short.
                await stop_delivery_worker(task, stop, timeout=1.0)
                await client.aclose()
                reader.cancel()
            backend = settings.database_url.split(":", 1)[0]
    finally:
        if receivers.returncode is None:
            receivers.terminate()  # our own child, by PID
            try:
                await asyncio.wait_for(receivers.wait(), 10)
            except TimeoutError:
                receivers.kill()
                await receivers.wait()
    latencies.sort()
    cents = statistics.quantiles(latencies, n=100, method="inclusive")
    return {
        "hubs": hubs,
        "stalled": stalled,
        "posts": posts,
        "backend": backend,
        "cpu_count": os.cpu_count(),
        "p50_ms": cents[49],
        "p99_ms": cents[98],
        "max_ms": latencies[-1],
        "mean_ms": statistics.fmean(latencies),
        "sender_cpu_ms_per_post": cpu * 1000 / (WARMUP + posts),
        "sent": worker.counters.sent,
        "retried": worker.counters.retried,
        "postponed": worker.counters.postponed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hubs", type=int, default=20)
    parser.add_argument("--posts", type=int, default=50)
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument(
        "--stalled",
        type=int,
        default=0,
        help="how many of the hubs accept the POST and never answer",
    )
    parser.add_argument(
        "--interval", type=float, default=0.0, help="seconds between posts (default: back to back)"
    )
    parser.add_argument("--serve-receivers", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_receivers:
        serve_receivers(args.serve_receivers, args.stalled)
        return
    if not (1 <= args.hubs <= 200 and 2 <= args.posts <= 10_000):
        parser.error("--hubs must be 1..200 and --posts 2..10000")
    if not (0 <= args.stalled < args.hubs and 0 <= args.interval <= 5):
        parser.error("--stalled must be below --hubs, --interval 0..5 s")

    async def bounded() -> dict[str, Any]:
        async with asyncio.timeout(TIMEOUT_TOTAL):
            return await bench(
                args.hubs, args.posts, args.database_url, args.stalled, args.interval
            )

    r = asyncio.run(bounded())
    stalled = f" ({r['stalled']} stalled; timed to the others)" if r["stalled"] else ""
    print(
        f"delivery: one post to {r['hubs']} hubs{stalled}, {r['posts']} posts, {r['backend']}, "
        f"os.cpu_count()={r['cpu_count']}"
    )
    print(
        f"  p50 {r['p50_ms']:.1f} ms   p99 {r['p99_ms']:.1f} ms   max {r['max_ms']:.1f} ms   "
        f"mean {r['mean_ms']:.1f} ms"
    )
    print(
        f"  sender CPU {r['sender_cpu_ms_per_post']:.1f} ms per post "
        f"({r['sent']} deliveries sent, {r['retried']} retried, {r['postponed']} postponed)"
    )


if __name__ == "__main__":
    main()
