"""docs/openapi.yaml checked with schemathesis against a real, seeded ``voisins serve``:
no generated input gives a 500, and answers match the documented schemas."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
)
from support.hubs import HubProcess, free_port

REPO = Path(__file__).resolve().parents[2]
# Event streams stay open by design: tests/streaming drives them.
schema = schemathesis.openapi.from_path(str(REPO / "docs" / "openapi.yaml")).exclude(
    path_regex=r"^/api/v1/streaming/(?!health)")
_hosts = itertools.count(200)
pytestmark = pytest.mark.multihub


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HubProcess, dict[str, str]]]:
    workdir = tmp_path_factory.mktemp("openapi")
    host = f"127.0.0.{next(_hosts)}"
    hub = HubProcess(name="st", host=host, port=free_port(host), workdir=workdir,
                     database_url=f"sqlite:///{workdir / 'st.db'}",
                     extra_config="\n[api]\nrate_limit = 10000000\nlogin_rate_limit_ip = "
                                  "10000000\nlogin_rate_limit_account = 10000000\n")
    hub.write_config()
    hub.migrate()
    hub.add_user("alice")
    hub.add_user("bob")
    hub.start()
    try:
        app = httpx.post(f"{hub.base}/api/v1/apps", data={
            "client_name": "st", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
            "scopes": "read write follow push"}).json()
        tokens = {}
        for name in ("alice", "bob"):
            tokens[name] = httpx.post(f"{hub.base}/oauth/token", data={
                "grant_type": "password", "client_id": app["client_id"],
                "client_secret": app["client_secret"], "username": f"{name}@{host}.test",
                "password": hub.passwords[name], "scope": "read write follow push"}
            ).json()["access_token"]
        alice = {"Authorization": f"Bearer {tokens['alice']}"}
        bob = {"Authorization": f"Bearer {tokens['bob']}"}
        bob_id = httpx.get(f"{hub.base}/api/v1/accounts/verify_credentials",
                           headers=bob).json()["id"]
        httpx.post(f"{hub.base}/api/v1/accounts/{bob_id}/follow", headers=alice)
        for i, visibility in enumerate(["public", "unlisted", "private", "direct"] * 3):
            httpx.post(f"{hub.base}/api/v1/statuses", headers=bob, json={
                "status": f"@alice seed {i} #quartier", "visibility": visibility})
        yield hub, alice
    finally:
        hub.stop()


@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_server_error(case: schemathesis.Case, seeded: tuple[HubProcess, dict[str, str]]
                         ) -> None:
    hub, headers = seeded
    response = case.call(base_url=hub.base, headers=headers, timeout=10)
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance,
                                             content_type_conformance])
