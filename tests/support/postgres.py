"""A throwaway PostgreSQL server on loopback for the test suite.

initdb refuses to run as root, so as root the cluster belongs to the ``postgres`` user and
its commands run through ``runuser``. Nothing is left behind: the data directory is removed
when the server stops.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    """PostgreSQL binaries are not installed here."""


def find_bindir() -> Path:
    env = os.environ.get("VOISINS_PG_BINDIR")
    candidates = [env] if env else []
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for c in candidates:
        if c and (Path(c) / "initdb").exists() and (Path(c) / "pg_ctl").exists():
            return Path(c)
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise PostgresUnavailable("no initdb/pg_ctl found (install the postgresql package)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresServer:
    bindir: Path
    datadir: Path
    port: int
    as_postgres: bool
    template: str | None = None

    def _cmd(self, *args: str) -> list[str]:
        if self.as_postgres:
            return ["runuser", "-u", "postgres", "--", *args]
        return list(args)

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, dbname: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str, *, migrated: bool = False) -> str:
        """An empty database, or (``migrated``) a copy of one the migrations ran on once
        for this server: ``CREATE DATABASE ... TEMPLATE`` costs a fraction of a migration."""
        import psycopg

        template = f' TEMPLATE "{self.migrated_template()}"' if migrated else ""
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"{template}')
        return self.url(name)

    def migrated_template(self) -> str:
        if not self.template:
            from fedi.migrate import upgrade

            name = "t_migrated_template"
            upgrade(self.create_database(name))  # NullPool: no connection stays open
            self.template = name
        return self.template

    def stop(self) -> None:
        subprocess.run(
            self._cmd(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "immediate",
                      "stop"),
            capture_output=True, check=False,
        )
        shutil.rmtree(self.datadir, ignore_errors=True)

    def options(self) -> str:
        """The server's settings on the ``pg_ctl start -o`` command line."""
        return (f"-p {self.port} -k {self.datadir} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300")

    def halt(self) -> None:
        """Stop the server as an operator would (``-m fast``: clients are disconnected,
        everything committed is kept); ``resume()`` starts it again on the same port."""
        subprocess.run(
            self._cmd(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "fast",
                      "-w", "-t", "60", "stop"),
            check=True, capture_output=True,
        )

    def resume(self) -> None:
        """Start a server stopped by ``halt()`` again, with its data, on the same port."""
        subprocess.run(
            self._cmd(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-o", self.options(),
                      "-l", str(self.datadir / "server.log"), "-w", "-t", "60", "start"),
            check=True, capture_output=True,
        )


def start_postgres() -> PostgresServer:
    bindir = find_bindir()
    as_postgres = os.geteuid() == 0
    datadir = Path(tempfile.mkdtemp(prefix="voisins-pg-"))
    if as_postgres:
        shutil.chown(datadir, "postgres", "postgres")
    server = PostgresServer(bindir, datadir, _free_port(), as_postgres)
    subprocess.run(
        server._cmd(str(bindir / "initdb"), "-D", str(datadir), "-U", "postgres",
                    "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"),
        check=True, capture_output=True,
    )
    opts = (f"-p {server.port} -k {datadir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300")
    subprocess.run(
        server._cmd(str(bindir / "pg_ctl"), "-D", str(datadir), "-o", opts,
                    "-l", str(datadir / "server.log"), "-w", "-t", "60", "start"),
        check=True, capture_output=True,
    )
    deadline = time.monotonic() + 30
    import psycopg

    while True:
        try:
            with psycopg.connect(server.admin_url, connect_timeout=2):
                return server
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                server.stop()
                raise
            time.sleep(0.1)
