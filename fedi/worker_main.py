"""``voisins worker``: the inbox and delivery workers without the web server.

Several of these may run against one PostgreSQL database (deliveries are claimed with
SKIP LOCKED). Killing one loses nothing: its leased rows return when the lease runs out.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from fedi.app import build_hub, start_federation, start_workers, stop_federation, stop_workers
from fedi.config import Settings
from fedi.streaming.broker import PostgresBroker
from fedi.streaming.capture import watch

log = logging.getLogger("voisins")


async def run_workers(settings: Settings) -> None:
    """Run until SIGTERM/SIGINT, then let the current batch finish."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # httpx logs every request at INFO: one line per delivery is noise, not a log.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    hub = build_hub(settings)
    if settings.database_url.startswith("postgresql"):
        # Posts and notifications this worker commits reach the web processes' streams
        # (NOTIFY at commit); with SQLite the worker runs inside `voisins serve`.
        watch(hub.write_sessions, PostgresBroker(settings.database_url))
    await start_federation(hub)
    try:
        # The same tasks `voisins serve` runs in its lifespan (inbox + delivery workers).
        tasks = await start_workers(hub)
        print(f"worker for {settings.domain} started", flush=True)
        # Either a signal, or a worker task ending on its own (a bug: exit, let it be seen).
        signalled = asyncio.ensure_future(stop.wait())
        await asyncio.wait([signalled, *(t for t, _ in tasks)], return_when=asyncio.FIRST_COMPLETED)
        signalled.cancel()
        await stop_workers(tasks)
        worker = hub.extras.get("delivery_worker")
        if worker is not None:
            c = worker.counters
            log.info(
                "delivery worker stopped: %d sent, %d retried, %d dead, %d dropped",
                c.sent,
                c.retried,
                c.dead,
                c.dropped,
            )
        for task, _ in tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise RuntimeError(f"worker task {task.get_name()} failed") from task.exception()
    finally:
        await stop_federation(hub)
