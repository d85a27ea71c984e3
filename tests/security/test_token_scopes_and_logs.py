"""Issue 13 #8: tokens. The member directory needs ``read:accounts`` through the API (a
write-only token listed members), and the site's ``/directory`` page opens only with a login
session, never with a token; ``?access_token=`` in a URL is refused (a clear 401 from the API,
no members from the site: URLs end up in logs and browser history); no token, refresh token
or password reaches a log line."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from support.hubs import HubProcess
from uvicorn.logging import AccessFormatter

from fedi.redaction import RedactSecrets, redact

OOB = "urn:ietf:wg:oauth:2.0:oob"


def grant(client: httpx.Client, hub: HubProcess, app: dict[str, Any], user: str,
          scope: str) -> dict[str, Any]:
    response = client.post(f"{hub.base}/oauth/token", data={
        "grant_type": "password", "client_id": app["client_id"],
        "client_secret": app["client_secret"], "username": user,
        "password": hub.passwords[user], "scope": scope})
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.mark.multihub
def test_tokens_scopes_urls_and_logs(make_hub: Callable[..., HubProcess]) -> None:
    hub = make_hub("tokens", extra_config="\n[api]\nrate_limit = 100000\n")
    hub.log_level = "debug"
    hub.add_user("alice")
    hub.start()
    secrets: list[str] = [hub.passwords["alice"]]
    with httpx.Client(timeout=30) as client:
        app = client.post(f"{hub.base}/api/v1/apps", data={
            "client_name": "t", "redirect_uris": OOB,
            "scopes": "read write follow"}).json()
        secrets.append(app["client_secret"])
        writer = grant(client, hub, app, "alice", "write")
        reader = grant(client, hub, app, "alice", "read:accounts")
        broad = grant(client, hub, app, "alice", "read")
        for doc in (writer, reader, broad):
            secrets += [doc["access_token"], doc["refresh_token"]]

        def directory(token: str) -> httpx.Response:
            return client.get(f"{hub.base}/api/v1/directory",
                              headers={"Authorization": f"Bearer {token}"})

        # A write-only token does not list members; read:accounts or read does.
        refused = directory(writer["access_token"])
        assert refused.status_code == 403
        assert "scopes" in refused.json()["error"] and "alice" not in refused.text
        assert "alice" in directory(reader["access_token"]).text
        assert "alice" in directory(broad["access_token"]).text

        # The site's directory is for logged-in browsers: no token opens it, whatever
        # its scopes, in the header or in the URL (it sends the visitor to the login page).
        for token in (writer, reader, broad):
            page = client.get(f"{hub.base}/directory", follow_redirects=True,
                              headers={"Authorization": f"Bearer {token['access_token']}"})
            assert "alice" not in page.text and "/login" in str(page.url)
            page = client.get(f"{hub.base}/directory", follow_redirects=True,
                              params={"access_token": token["access_token"]})
            assert "alice" not in page.text and "/login" in str(page.url)

        # Tokens in URLs: refused everywhere in the API, with a sentence saying what to do.
        for path in ("/api/v1/accounts/verify_credentials", "/api/v1/timelines/home",
                     "/api/v1/instance", "/api/v1/directory"):
            answer = client.get(f"{hub.base}{path}",
                                params={"access_token": broad["access_token"]})
            assert answer.status_code == 401, path
            assert "Authorization" in answer.text
        in_url = client.get(f"{hub.base}/api/v1/accounts/verify_credentials",
                            params={"access_token": broad["access_token"]},
                            headers={"Authorization": f"Bearer {broad['access_token']}"})
        assert in_url.status_code == 401
        assert in_url.json()["error"].startswith("Access tokens in the URL are refused")
        ok = client.get(f"{hub.base}/api/v1/accounts/verify_credentials",
                        headers={"Authorization": f"Bearer {broad['access_token']}"})
        assert ok.status_code == 200

        # Refresh, revoke and a wrong login: more secrets in flight.
        refreshed = client.post(f"{hub.base}/oauth/token", data={
            "grant_type": "refresh_token", "refresh_token": broad["refresh_token"],
            "client_id": app["client_id"], "client_secret": app["client_secret"]}).json()
        secrets += [refreshed["access_token"], refreshed["refresh_token"]]
        client.post(f"{hub.base}/oauth/revoke", data={
            "token": writer["access_token"], "client_id": app["client_id"],
            "client_secret": app["client_secret"]})
        client.post(f"{hub.base}/oauth/token", data={
            "grant_type": "password", "client_id": app["client_id"],
            "client_secret": app["client_secret"], "username": "alice",
            "password": "wrong-but-secret-guess"})
        secrets.append("wrong-but-secret-guess")
    hub.stop()
    log = (hub.workdir / "serve.log").read_text(errors="replace")
    assert "DEBUG" in log or "INFO" in log  # the log really was written, at debug level
    leaked = [s for s in secrets if s in log]
    assert leaked == []


def _access_record(path: str) -> logging.LogRecord:
    return logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1,
                             '%s - "%s %s HTTP/%s" %d',
                             ("127.0.0.1:5555", "GET", path, "1.1", 401), None)


def test_the_access_log_line_is_redacted() -> None:
    record = _access_record("/api/v1/timelines/home?access_token=S3CRET-tok&limit=2")
    assert RedactSecrets().filter(record)
    line = AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s',
                           use_colors=False).format(record)
    assert "S3CRET-tok" not in line
    assert "access_token=[redacted]&limit=2" in line


@pytest.mark.parametrize(("text", "secret"), [
    ("GET /oauth/authorize?code=abc123&state=x", "abc123"),
    ("refresh_token=rt-987 grant_type=refresh_token", "rt-987"),
    ("Authorization: Bearer eyJhbGciOi.J9-_x", "eyJhbGciOi"),
    ("client_secret=shh&client_id=c", "shh"),
    ("password=hunter2", "hunter2"),
])
def test_secrets_are_redacted(text: str, secret: str) -> None:
    assert secret not in redact(text)
    record = logging.LogRecord("voisins", logging.INFO, __file__, 1, "saw %s", (text,), None)
    RedactSecrets().filter(record)
    assert secret not in record.getMessage()
