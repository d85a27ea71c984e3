"""``voisins serve --workers N`` on PostgreSQL: N web processes and one worker process.

uvicorn binds the port once and runs N web processes on it (its own supervisor, which also
replaces a web process that dies). Each builds its app with :func:`web_app`, with
``server.run_workers`` off: the inbox, delivery, mesh and periodic jobs run in one
``voisins worker`` process started here and restarted if it dies, so nothing is done twice.
Streams reach every web process through PostgreSQL ``LISTEN``/``NOTIFY``. SIGTERM or SIGINT
stops the web processes (uvicorn), then the worker, and the command returns.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import subprocess
import sys
import threading
from typing import Any

from starlette.applications import Starlette

from fedi.app import create_app
from fedi.config import Settings, load_settings
from fedi.db import make_engine, make_sessionmaker, transaction
from fedi.services.accounts import ensure_instance_actor

CONFIG_ENV = "VOISINS_CONFIG"  # how the web processes (spawned by uvicorn) find the config
WORKER_RESTART_SECONDS = 2.0
HEALTHCHECK_SECONDS = 60
log = logging.getLogger("voisins")


def web_app() -> Starlette:
    """The app of one web process (an import-string factory for uvicorn): the config named
    by ``VOISINS_CONFIG`` (and the same environment overrides), without in-process workers."""
    settings = load_settings(os.environ.get(CONFIG_ENV))
    return create_app(dataclasses.replace(settings, run_workers=False))


class WorkerProcess:
    """The ``voisins worker`` child: started, restarted when it exits on its own, stopped."""

    def __init__(self, config_path: str | None) -> None:
        config = ["--config", config_path] if config_path else []
        self.command = [sys.executable, "-m", "fedi.cli", *config, "worker"]
        self.proc: subprocess.Popen[bytes] | None = None
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.watcher = threading.Thread(target=self._watch, name="worker-watch", daemon=True)

    def start(self) -> None:
        self._spawn()
        self.watcher.start()

    def _spawn(self) -> None:
        with self.lock:
            if not self.stopping.is_set():
                self.proc = subprocess.Popen(self.command)

    def _watch(self) -> None:
        while not self.stopping.is_set():
            proc = self.proc
            if proc is None:
                return
            code = proc.wait()
            if self.stopping.wait(WORKER_RESTART_SECONDS):
                return
            print(f"voisins: worker process {proc.pid} exited ({code}); starting another",
                  file=sys.stderr, flush=True)
            self._spawn()

    def stop(self, timeout: float = 30.0) -> None:
        with self.lock:
            self.stopping.set()
            proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)  # it lets the current batch finish, then exits
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def prepare(settings: Settings) -> None:
    """What every process would otherwise create at start, made once before they start:
    the hub's instance actor (processes starting together on a new database would each
    insert it, and all but one would fail)."""
    engine = make_engine(settings.database_url)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            ensure_instance_actor(session, settings)
    finally:
        engine.dispose()


def serve_processes(settings: Settings, config_path: str | None, workers: int,
                    options: dict[str, Any]) -> int:
    """Run ``workers`` web processes (uvicorn) and one worker process until a signal.
    ``config_path``: the file given to ``voisins`` (None: the environment alone)."""
    import uvicorn

    prepare(settings)
    path = os.path.abspath(config_path) if config_path else None
    if path:
        os.environ[CONFIG_ENV] = path
    worker = WorkerProcess(path)
    worker.start()
    try:
        # A web process that does not answer uvicorn's health check in time is killed and
        # replaced: 5 s (uvicorn's default) kills processes still starting on a busy machine.
        uvicorn.run("fedi.cli_serve:web_app", factory=True, workers=workers,
                    timeout_worker_healthcheck=HEALTHCHECK_SECONDS, **options)
    finally:
        worker.stop()
    return 0
