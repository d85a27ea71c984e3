"""Benchmark: streaming fan-out. One followers-only post to N open streams (half of the
members behind them follow the author, so half may see it): the time from the commit to
the last allowed stream having the event, and the CPU time per delivered event.

In one process, through the real path: the post is made by the posting service in a
transaction, the ORM hook stages the signal, the in-process broker (SQLite) hands it to
the dispatcher, which checks and renders per member and fills each stream's queue; one
task per stream reads its queue as a connection handler would. Bounded: a few posts.

    .venv/bin/python bench/streaming.py [--streams 1000] [--posts 3] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.append(str(ROOT / "bench"))  # after the packages: bench/inbox.py

from seed import seed
from sqlalchemy import insert, select

from fedi.app import build_hub, publish_context
from fedi.config import load_settings, render_config
from fedi.db import make_engine, transaction
from fedi.ids import new_id
from fedi.migrate import upgrade
from fedi.models import Actor, Follow, OAuthToken, User
from fedi.services.posting import Draft, create_status
from fedi.streaming.dispatch import start_streaming, stop_streaming
from fedi.streaming.listener import Listener

DOMAIN = "127.0.0.1:8999"
TIMEOUT = 120.0


def prepare(url: str, streams: int) -> None:
    upgrade(url)
    seed(url, DOMAIN, "http", streams + 1, 0, 0)
    engine = make_engine(url)
    with engine.begin() as conn:
        ids = [r[0] for r in conn.execute(select(Actor.id).where(Actor.local)
                                          .order_by(Actor.id))]
        author, members = ids[0], ids[1:]
        now = datetime.now(UTC)
        conn.execute(insert(Follow.__table__), [
            {"id": new_id(), "follower_id": m, "followee_id": author, "state": "accepted",
             "uri": f"http://{DOMAIN}/f/{m}", "created_at": now} for m in members[::2]])
    engine.dispose()


async def run(url: str, posts: int) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-streaming-"))
    config = workdir / "voisins.toml"
    config.write_text(render_config(domain=DOMAIN, name="bench", scheme="http",
                                    territory=["75011"], database_url=url, allow_http=True,
                                    allow_private_addresses=True), encoding="utf-8")
    hub = build_hub(load_settings(str(config), env={}))
    streaming = await start_streaming(hub)
    with hub.read_sessions() as s:
        rows = s.execute(select(Actor.id, OAuthToken.id).join(User, User.actor_id == Actor.id)
                         .join(OAuthToken, OAuthToken.user_id == User.id)
                         .order_by(Actor.id)).all()
        author = s.get(Actor, rows[0][0])
        followers = set(s.scalars(select(Follow.follower_id).where(
            Follow.followee_id == rows[0][0])))
    arrivals: dict[int, list[float]] = {}
    wrong: list[int] = []

    async def reader(listener: Listener) -> None:
        while not listener.closed.is_set():
            frame = await listener.next_frame(5.0)
            if frame is not None:
                arrivals.setdefault(listener.actor_id, []).append(time.perf_counter())
                if listener.actor_id not in followers:
                    wrong.append(listener.actor_id)

    readers = []
    for actor_id, token_id in rows[1:]:
        listener = Listener(actor_id=actor_id, token_id=token_id)
        listener.subscriptions.add(("user", None))
        streaming.registry.add(listener)
        readers.append(asyncio.create_task(reader(listener)))
    ctx = publish_context(hub)
    latencies, cpu_per_event = [], []
    for i in range(posts):
        arrivals.clear()
        delivered_before = streaming.dispatcher.delivered
        cpu0 = time.process_time()
        with transaction(hub.write_sessions) as session:
            me = session.get(Actor, author.id)
            assert me is not None
            create_status(session, ctx, me, Draft(f"Bonjour les abonnés {i}",
                                                  visibility="followers"))
        t0 = time.perf_counter()
        deadline = time.monotonic() + TIMEOUT
        while len(arrivals) < len(followers) and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        cpu = time.process_time() - cpu0
        delivered = streaming.dispatcher.delivered - delivered_before
        if len(arrivals) < len(followers):
            print(f"post {i}: only {len(arrivals)}/{len(followers)} streams got it")
            continue
        last = max(max(v) for v in arrivals.values()) - t0
        latencies.append(last)
        cpu_per_event.append(cpu / max(1, delivered))
        print(f"post {i}: {delivered} events, last allowed stream after {last * 1000:.0f} ms, "
              f"CPU {cpu * 1000:.0f} ms ({cpu / max(1, delivered) * 1000:.2f} ms per event)",
              flush=True)
    for task in readers:
        task.cancel()
    await stop_streaming(streaming)
    hub.engine.dispose()
    print(f"os.cpu_count() = {os.cpu_count()}")
    print(f"streams: {len(rows) - 1}, allowed: {len(followers)}, "
          f"events to streams not allowed: {len(wrong)}")
    if latencies:
        print(f"time to the last allowed stream: median {statistics.median(latencies) * 1000:.0f}"
              f" ms, max {max(latencies) * 1000:.0f} ms")
        print(f"CPU per delivered event: median {statistics.median(cpu_per_event) * 1000:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--posts", type=int, default=3)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='bench-streaming-')}/b.db"
    prepare(url, args.streams)
    asyncio.run(run(url, args.posts))


if __name__ == "__main__":
    main()
