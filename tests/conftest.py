"""Fixtures that build worlds: databases (SQLite and a real PostgreSQL), real hubs."""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.hubs import HubProcess, free_port, migrated_sqlite
from support.postgres import PostgresServer, PostgresUnavailable, start_postgres

from fedi.services.accounts import use_password_cost

_pg_problem: list[str] = []
# Members created in this process (in-process worlds) hash as cheaply as the test hubs do
# (support.hubs.TEST_PASSWORDS); production keeps argon2's own parameters.
use_password_cost(time_cost=1, memory_kib=1024)
# Each xdist worker ("gw0", "gw1", ...) starts its hubs' loopback addresses elsewhere, so two
# files running at once rarely share one (a shared address still differs by port).
_worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
_host_counter = itertools.count(80 * int(_worker[2:] or 0) if _worker[2:].isdigit() else 0)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    try:
        server = start_postgres()
    except PostgresUnavailable as exc:
        message = f"PostgreSQL tests cannot run: {exc}"
        _pg_problem.append(message)
        if os.environ.get("VOISINS_REQUIRE_POSTGRES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield server
    finally:
        server.stop()


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # type: ignore[no-untyped-def]
    if _pg_problem:
        terminalreporter.write_sep("!", "POSTGRESQL TESTS DID NOT RUN", red=True, bold=True)
        terminalreporter.write_line(_pg_problem[0], red=True)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def new_database_url(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Callable[[str, str], str]:
    """Makes an empty database of a given backend: ``new_database_url(backend, name)``;
    ``migrated=True``: with the newest schema already (a copy of one migrated template)."""

    def make(backend: str, name: str, *, migrated: bool = False) -> str:
        if backend == "sqlite":
            path = tmp_path / (name + ".db")
            return migrated_sqlite(path) if migrated else f"sqlite:///{path}"
        server: PostgresServer = request.getfixturevalue("pg_server")
        return server.create_database(f"t_{name}_{uuid.uuid4().hex[:10]}", migrated=migrated)

    return make


@pytest.fixture
def database_url(db_backend: str, new_database_url: Callable[[str, str], str]) -> str:
    return new_database_url(db_backend, "hub")


@pytest.fixture
def make_hub(
    tmp_path: Path, new_database_url: Callable[[str, str], str]
) -> Iterator[Callable[..., HubProcess]]:
    """Creates configured, migrated hubs on distinct loopback addresses; stops them after."""
    hubs: list[HubProcess] = []

    def make(name: str, *, backend: str = "sqlite", territory: tuple[str, ...] = ("75011",),
             scheme: str = "http", extra_config: str = "") -> HubProcess:
        host = f"127.0.0.{next(_host_counter) % 240 + 10}"
        workdir = tmp_path / name
        workdir.mkdir()
        hub = HubProcess(
            name=name, host=host, port=free_port(host), workdir=workdir,
            database_url=new_database_url(backend, name, migrated=True), scheme=scheme,
            territory=territory, extra_config=extra_config,
        )
        hub.write_config()
        hubs.append(hub)
        return hub

    yield make
    for hub in hubs:
        hub.stop()


@pytest.fixture(scope="module", params=["sqlite",
                                        pytest.param("postgresql", marks=pytest.mark.postgres)])
def module_database_url(request: pytest.FixtureRequest,
                        tmp_path_factory: pytest.TempPathFactory) -> str:
    """One empty database per test module and backend, for module-scoped worlds: the
    module's tests run once on SQLite and once on PostgreSQL."""
    name = request.module.__name__.rsplit(".", 1)[-1]
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp(name) / 'hub.db'}"
    server: PostgresServer = request.getfixturevalue("pg_server")
    return server.create_database(f"t_{name[:20]}_{uuid.uuid4().hex[:10]}")


@pytest.fixture(autouse=True, scope="session")
def _one_default_tls_context() -> Iterator[None]:
    """Tests call ``httpx.get``/``post`` by the thousand, many inside ``wait_for`` polls: each
    builds a client whose default TLS context loads certifi's whole CA bundle (~30-60 ms of
    CPU, on a machine the hubs under test share). The default context (``verify=True``, no
    client certificate) is built once per test process and shared; a context a test passes
    itself is used as it is."""
    from httpx._transports import default as transport

    build = transport.create_ssl_context
    shared: dict[tuple[bool, str | None, str | None], Any] = {}

    def create_ssl_context(verify: Any = True, cert: Any = None, trust_env: bool = True) -> Any:
        if verify is not True or cert is not None:
            return build(verify=verify, cert=cert, trust_env=trust_env)
        key = (trust_env, os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
        if key not in shared:
            shared[key] = build(verify=verify, cert=cert, trust_env=trust_env)
        return shared[key]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(transport, "create_ssl_context", create_ssl_context)
        yield
