"""``voisins worker``: the inbox and delivery workers without the web server."""

from __future__ import annotations

import asyncio
import signal

from fedi.config import Settings


async def run_workers(settings: Settings) -> None:
    """Run until SIGTERM/SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"worker for {settings.domain} started", flush=True)
    await stop.wait()
