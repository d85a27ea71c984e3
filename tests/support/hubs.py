"""Real hubs for tests: a config, a migrated database, members, and a ``voisins serve``
process on its own loopback address, stopped by PID when the test ends."""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from fedi.config import Settings, load_settings, render_config
from fedi.db import make_engine, make_sessionmaker, transaction
from fedi.migrate import upgrade
from fedi.services.accounts import create_user

REPO = Path(__file__).resolve().parents[2]


_sqlite_template: list[Path] = []


def migrated_sqlite(path: Path) -> str:
    """A fresh SQLite database at ``path`` with the newest schema: the migrations run once
    per test process, into a template that is copied (SQLite's backup API) for each hub."""
    if not _sqlite_template:
        folder = Path(tempfile.mkdtemp(prefix="voisins-schema-"))
        atexit.register(shutil.rmtree, folder, True)
        upgrade(f"sqlite:///{folder / 'template.db'}")
        _sqlite_template.append(folder / "template.db")
    src, dst = sqlite3.connect(_sqlite_template[0]), sqlite3.connect(path)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    return f"sqlite:///{path}"


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


# A predicate costs CPU the hubs under test need (a config read, an engine, a query: 10 ms
# on SQLite; an HTTP request): polls start every 50 ms and slow down to 5 a second, so a
# long wait adds at most 0.2 s and no longer keeps a fifth of a core busy.
POLL_FIRST, POLL_MAX = 0.05, 0.2


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    """Poll until predicate() is truthy, or fail after the deadline (no blind sleeps)."""
    deadline = time.monotonic() + timeout
    last_exc: Exception | None = None
    step = POLL_FIRST
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - retried until the deadline, then shown
            last_exc = exc
        time.sleep(step)
        step = min(step * 1.2, POLL_MAX)
    raise AssertionError(f"timed out waiting for {what}" + (f": {last_exc!r}" if last_exc else ""))


def wait_while_progressing(measure: Callable[[], int], done: Callable[[int], bool], *,
                           stall: float = 60.0, what: str = "condition") -> int:
    """Poll until ``done(measure())``; fail only when the measure has not moved for ``stall``
    seconds. For a total (every delivery sent): a loaded machine is slower, not stuck, so the
    wait lasts as long as progress continues and fails when it stops."""
    last = measure()
    moved_at = time.monotonic()
    while not done(last):
        time.sleep(POLL_MAX)
        value = measure()
        if value != last:
            last, moved_at = value, time.monotonic()
        elif time.monotonic() - moved_at > stall:
            raise AssertionError(f"no progress for {stall:.0f} s waiting for {what} "
                                 f"(stuck at {value})")
    return last


# Test hubs hash passwords cheaply (argon2id, 1 pass over 1 MiB instead of 3 over 64 MiB):
# hundreds of members are created and log in during a run. Parameters are read from each
# stored hash, so checks, rehash-at-login and the login queue run the code hubs run.
TEST_PASSWORDS = "\n[passwords]\ntime_cost = 1\nmemory_kib = 1024\n"


@dataclass
class HubProcess:
    name: str
    host: str
    port: int
    workdir: Path
    database_url: str
    scheme: str = "http"
    territory: tuple[str, ...] = ("75011",)
    extra_config: str = ""
    proc: subprocess.Popen[bytes] | None = None
    passwords: dict[str, str] = field(default_factory=dict)
    log_level: str = "warning"
    serve_args: tuple[str, ...] = ()  # more `voisins serve` options (e.g. --workers 2)

    @property
    def domain(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def base(self) -> str:
        return f"{self.scheme}://{self.domain}"

    @property
    def config_path(self) -> Path:
        return self.workdir / "voisins.toml"

    def write_config(self) -> None:
        text = render_config(
            domain=self.domain, name=self.name, scheme=self.scheme,
            territory=list(self.territory), database_url=self.database_url,
            allow_http=True, allow_private_addresses=True,
        )
        text = text.replace('host = "127.0.0.1"', f'host = "{self.host}"')
        text = text.replace("port = 8000", f"port = {self.port}")
        self.config_path.write_text(text + self.extra_config + TEST_PASSWORDS, encoding="utf-8")

    def settings(self) -> Settings:
        return load_settings(str(self.config_path), env={})

    def migrate(self) -> None:
        upgrade(self.settings().database_url)

    def add_user(self, username: str, role: str = "member", password: str | None = None) -> str:
        settings = self.settings()
        password = password or f"pw-{username}-secret"
        engine = make_engine(settings.database_url)
        try:
            with transaction(make_sessionmaker(engine)) as session:
                create_user(session, settings, username, email=f"{username}@{self.host}.test",
                            password=password, role=role)
        finally:
            engine.dispose()
        self.passwords[username] = password
        return f"{self.base}/users/{username}"

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VOISINS_")}
        result = subprocess.run(
            [sys.executable, "-m", "fedi.cli", "--config", str(self.config_path), *args],
            capture_output=True, text=True, env=env, cwd=self.workdir, timeout=120,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"voisins {' '.join(args)} failed: {result.stderr}")
        return result

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VOISINS_")}
        log = open(self.workdir / "serve.log", "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fedi.cli", "--config", str(self.config_path), "serve",
             "--log-level", self.log_level, *self.serve_args],
            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.workdir,
        )
        verify: Any = True
        ca = self.workdir / "ca.pem"
        if ca.exists():
            verify = ssl.create_default_context(cafile=str(ca))

        # One client for every poll: a client of its own per poll (httpx.get) costs tens of
        # milliseconds of CPU (its TLS context), 20 times a second while the hub starts.
        client = httpx.Client(timeout=2, verify=verify)

        def up() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"hub {self.name} exited: {self.log()}")
            r = client.get(f"{self.base}/.well-known/nodeinfo")
            return r.status_code == 200

        try:
            wait_for(up, timeout=90, what=f"hub {self.name} to answer")
        except (AssertionError, RuntimeError):
            self.stop()
            raise
        finally:
            client.close()

    def log(self) -> str:
        path = self.workdir / "serve.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None
