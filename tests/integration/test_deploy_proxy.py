"""docs/deploy.md's nginx configuration, run: a real nginx (Debian's package) with TLS in
front of a real hub answers WebFinger, and a signed fetch through it is verified by the hub
(the signature covers the Host header, which nginx passes through unchanged)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from support.hostile import HostileRemote
from support.hubs import HubProcess, free_port, wait_for
from support.tls import make_ca_and_cert

from fedi.config import render_config

ROOT = Path(__file__).resolve().parents[2]
ACCEPT_AP = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'

pytestmark = pytest.mark.multihub


def nginx_binary() -> str:
    """The nginx binary, or a loud skip (a failure when VOISINS_REQUIRE_NGINX=1)."""
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)
    if found is None:
        message = ("nginx is not installed: the reverse-proxy test of docs/deploy.md DID NOT RUN "
                   "(apt-get install nginx, or run ./scripts/test as root)")
        print(f"\n!!! {message}", file=sys.stderr)
        if os.environ.get("VOISINS_REQUIRE_NGINX") == "1":
            pytest.fail(message)
        warnings.warn(message, stacklevel=2)
        pytest.skip(message)
    return found


def trust(ca: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca))


def deploy_nginx_site(port: int, hub_port: int, cert: Path, key: Path) -> str:
    """The nginx site of docs/deploy.md with this test's port, certificate and hub port."""
    text = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    block = re.search(r"```nginx\n(.*?)```", text, re.DOTALL)
    assert block is not None, "docs/deploy.md lost its nginx configuration"
    site = block.group(1).split("server {\n    listen 80;")[0]  # no port-80 redirect here
    assert "proxy_set_header Host $http_host;" in site
    for old, new in (
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{port} ssl http2;"),
        ("/etc/letsencrypt/live/hub.example.org/fullchain.pem", str(cert)),
        ("/etc/letsencrypt/live/hub.example.org/privkey.pem", str(key)),
        ("server_name hub.example.org;", "server_name 127.0.0.1;"),
        ("proxy_pass http://127.0.0.1:8000;", f"proxy_pass http://127.0.0.1:{hub_port};"),
    ):
        assert old in site, old
        site = site.replace(old, new)
    return "\n".join(line for line in site.splitlines() if "[::]" not in line)


@pytest.fixture
def nginx_in_front(tmp_path: Path) -> Iterator[Callable[[int], tuple[int, Path]]]:
    """Starts nginx (its own process, config in tmp) proxying to a hub port; stops it by PID."""
    binary = nginx_binary()
    procs: list[subprocess.Popen[bytes]] = []

    def start(hub_port: int) -> tuple[int, Path]:
        work = tmp_path / "nginx"
        work.mkdir()
        ca, cert, key = make_ca_and_cert(work, "127.0.0.1")
        port = free_port("127.0.0.1")
        user = "user root;\n" if os.geteuid() == 0 else ""
        temps = "".join(f"{kind}_temp_path {work / kind};\n"
                        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        (work / "nginx.conf").write_text(
            f"{user}daemon off;\nworker_processes 1;\npid {work / 'nginx.pid'};\n"
            f"error_log {work / 'error.log'} warn;\nevents {{ worker_connections 128; }}\n"
            f"http {{\naccess_log {work / 'access.log'};\n{temps}"
            f"{deploy_nginx_site(port, hub_port, cert, key)}\n}}\n", encoding="utf-8")
        with open(work / "stderr.log", "wb") as log:
            proc = subprocess.Popen([binary, "-p", str(work), "-e", str(work / "error.log"),
                                     "-c", str(work / "nginx.conf")], stdout=log, stderr=log)
        procs.append(proc)

        def listening() -> bool:
            assert proc.poll() is None, (work / "stderr.log").read_text() + (
                (work / "error.log").read_text() if (work / "error.log").exists() else "")
            try:
                httpx.get(f"https://127.0.0.1:{port}/", verify=trust(ca), timeout=2)
            except httpx.TransportError:
                return False
            return True

        wait_for(listening, timeout=30, what="nginx to listen")
        return port, ca

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGQUIT)  # nginx's graceful stop
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def test_hub_behind_nginx_tls__webfinger_and_signed_fetch(
        nginx_in_front: Callable[[int], tuple[int, Path]],
        make_hub: Callable[..., HubProcess], tmp_path: Path) -> None:
    """https://127.0.0.1:P (nginx) → http://127.0.0.1:H (voisins serve): WebFinger answers
    with https ids; a linked hub's signed fetch (voisins fetch) and a signed GET made with
    the tests' signing helpers are verified; a signature made for the backend's host is not."""
    hub_port = free_port("127.0.0.1")
    nginx_port, ca = nginx_in_front(hub_port)
    domain = f"127.0.0.1:{nginx_port}"
    other = make_hub("vingt", territory=("75020",))

    with HostileRemote() as remote:
        signer = remote.add_actor("mallory")
        work = tmp_path / "onze"
        work.mkdir()
        (work / "ca.pem").write_bytes(ca.read_bytes())  # HubProcess.start checks through nginx
        onze = HubProcess(name="onze", host="127.0.0.1", port=nginx_port, workdir=work,
                          database_url=f"sqlite:///{work / 'voisins.db'}", scheme="https",
                          territory=("75011",))
        text = render_config(domain=domain, name="Onze", scheme="https", territory=["75011"],
                             database_url=onze.database_url, allow_http=True,
                             allow_private_addresses=True, port=hub_port)
        text = text.replace("neighbours = []", f'neighbours = ["{other.domain}"]')
        text = text.replace("allowed = []", f'allowed = ["{remote.domain}"]')
        onze.config_path.write_text(text, encoding="utf-8")
        assert onze.settings().port == hub_port and onze.settings().base_url == f"https://{domain}"
        onze.migrate()
        onze.add_user("alice")
        # the other hub lists Onze and trusts the throwaway CA (as it would trust a real one)
        other_config = other.config_path.read_text(encoding="utf-8")
        other_config = other_config.replace("neighbours = []", f'neighbours = ["{domain}"]')
        other_config = other_config.replace("[federation]\n", f'[federation]\nca_bundle = "{ca}"\n')
        other.config_path.write_text(other_config, encoding="utf-8")
        try:
            onze.start()
            other.start()
            base = f"https://{domain}"
            finger = httpx.get(f"{base}/.well-known/webfinger", verify=trust(ca),
                               params={"resource": f"acct:alice@{domain}"})
            assert finger.status_code == 200, finger.text
            assert finger.json()["subject"] == f"acct:alice@{domain}"
            assert f"{base}/users/alice" in [link.get("href") for link in finger.json()["links"]]
            unsigned = httpx.get(f"{base}/users/alice", verify=trust(ca),
                                 headers={"Accept": ACCEPT_AP})
            assert unsigned.status_code == 401

            # a linked hub's signed fetch, through nginx and TLS
            fetched = other.cli("fetch", f"{base}/users/alice")
            assert json.loads(fetched.stdout)["id"] == f"{base}/users/alice"

            # the tests' signing helpers: signed for the public URL, through nginx
            url = f"{base}/users/alice"
            with httpx.Client(verify=trust(ca), timeout=30) as client:
                ok = client.get(url, headers=remote.sign("GET", url, signer))
                assert ok.status_code == 200, ok.text
                assert ok.json()["id"] == url
                # signed for the backend's address, sent through nginx: Host differs, refused
                backend = f"http://127.0.0.1:{hub_port}/users/alice"
                wrong = client.get(url, headers=remote.sign("GET", backend, signer))
                assert wrong.status_code == 401, wrong.text
            # and all of it went through nginx
            access = (tmp_path / "nginx" / "access.log").read_text(encoding="utf-8")
            assert "GET /.well-known/webfinger" in access and "GET /users/alice" in access
        finally:
            onze.stop()
