"""The README's first command: `voisins quickstart` on a fresh directory writes a config,
creates the SQLite database and an admin, prints the login, and serves the hub."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from support.hubs import free_port, wait_for


def test_quickstart__fresh_directory_to_a_running_hub(tmp_path: Path) -> None:
    """From nothing to a hub that answers WebFinger and serves its admin as a signed-only actor."""
    port = free_port("127.0.0.1")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOISINS_")}
    log_path = tmp_path / "out.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "fedi.cli", "quickstart", "--port", str(port)],
                                cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"

        def answers() -> bool:
            assert proc.poll() is None, log_path.read_text()
            return httpx.get(f"{base}/.well-known/nodeinfo", timeout=2).status_code == 200

        wait_for(answers, timeout=180, what="the quickstart hub to answer")
        out = log_path.read_text()
        login = re.search(r"admin login: (\S+@\S+) / (\S+)", out)
        assert login is not None, out
        assert (tmp_path / "voisins.toml").exists() and (tmp_path / "voisins.db").exists()
        assert f"port = {port}\n" in (tmp_path / "voisins.toml").read_text()  # not 8000
        finger = httpx.get(f"{base}/.well-known/webfinger",
                           params={"resource": f"acct:admin@127.0.0.1:{port}"})
        assert finger.status_code == 200
        assert finger.json()["links"][-1]["href"] == f"{base}/users/admin"
        actor = httpx.get(f"{base}/users/admin", headers={"Accept": "application/activity+json"})
        assert actor.status_code == 401
        app = httpx.post(f"{base}/api/v1/apps", data={
            "client_name": "test", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
            "scopes": "read"}).json()
        token = httpx.post(f"{base}/oauth/token", data={
            "grant_type": "password", "username": login.group(1), "password": login.group(2),
            "client_id": app["client_id"], "client_secret": app["client_secret"],
            "scope": "read"})
        assert token.status_code == 200, token.text
        me = httpx.get(f"{base}/api/v1/accounts/verify_credentials",
                       headers={"Authorization": f"Bearer {token.json()['access_token']}"})
        assert me.json()["username"] == "admin"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
    again = subprocess.run([sys.executable, "-m", "fedi.cli", "users", "create", "admin2",
                            "--email", "x@example.org", "--password", "longenough"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
