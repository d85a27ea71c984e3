"""A real `voisins serve` on loopback: discovery, actors, content negotiation, bad input.

Runs on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import socket
from collections.abc import Callable

import httpx
import pytest
from support.hubs import HubProcess

AP = "application/activity+json"


@pytest.fixture
def hub(make_hub: Callable[..., HubProcess], db_backend: str) -> HubProcess:
    h = make_hub("onze", backend=db_backend, territory=("75011",))
    h.add_user("alice")
    h.start()
    return h


def test_webfinger__forms_and_errors(hub: HubProcess) -> None:
    """acct:, bare user@host and the actor URL resolve; others get 404/400 with a reason."""
    for resource in (f"acct:alice@{hub.domain}", f"alice@{hub.domain}", f"{hub.base}/users/alice"):
        r = httpx.get(f"{hub.base}/.well-known/webfinger", params={"resource": resource})
        assert r.status_code == 200, resource
        assert r.headers["content-type"].startswith("application/jrd+json")
        doc = r.json()
        assert doc["subject"] == f"acct:alice@{hub.domain}"
        self_link = [link for link in doc["links"] if link["rel"] == "self"][0]
        assert self_link == {"rel": "self", "type": AP, "href": f"{hub.base}/users/alice"}
    for resource, status in ((f"acct:nobody@{hub.domain}", 404), ("acct:alice@elsewhere.example", 404),
                             ("", 400)):
        r = httpx.get(f"{hub.base}/.well-known/webfinger", params={"resource": resource})
        assert r.status_code == status
        assert "error" in r.json()
    r = httpx.get(f"{hub.base}/.well-known/webfinger",
                  params={"resource": f"acct:{hub.domain}@{hub.domain}"})
    assert r.json()["links"][0]["href"] == f"{hub.base}/actor"


def test_host_meta_and_nodeinfo(hub: HubProcess) -> None:
    """host-meta names our host and port; NodeInfo 2.0/2.1 carry the name and territory."""
    r = httpx.get(f"{hub.base}/.well-known/host-meta")
    assert r.headers["content-type"].startswith("application/xrd+xml")
    assert f'template="{hub.base}/.well-known/webfinger?resource={{uri}}"' in r.text
    r = httpx.get(f"{hub.base}/.well-known/host-meta", headers={"Accept": "application/json"})
    assert r.json()["links"][0]["template"].startswith(hub.base)
    links = httpx.get(f"{hub.base}/.well-known/nodeinfo").json()["links"]
    hrefs = {link["rel"].rsplit("/", 1)[-1]: link["href"] for link in links}
    for version in ("2.0", "2.1"):
        doc = httpx.get(hrefs[version]).json()
        assert doc["version"] == version
        assert doc["software"]["name"] == "voisins"
        assert doc["openRegistrations"] is False
        assert doc["metadata"]["nodeName"] == "onze"
        assert doc["metadata"]["territory"] == ["75011"]
        assert doc["usage"]["users"]["total"] >= 1


def test_instance_actor__unsigned(hub: HubProcess) -> None:
    """/actor is served without a signature so that signed fetches cannot deadlock."""
    r = httpx.get(f"{hub.base}/actor", headers={"Accept": AP})
    assert r.status_code == 200
    doc = r.json()
    assert doc["type"] == "Application" and doc["id"] == f"{hub.base}/actor"
    assert doc["publicKey"]["id"] == f"{hub.base}/actor#main-key"
    assert doc["publicKey"]["owner"] == doc["id"]
    assert "BEGIN PUBLIC KEY" in doc["publicKey"]["publicKeyPem"]
    assert doc["territory"] == ["75011"]


@pytest.mark.parametrize("accept", [AP, 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'])
def test_member_actor__unsigned_fetch_refused(hub: HubProcess, accept: str) -> None:
    """A member's actor is never served to an unsigned request: 401 with a reason."""
    r = httpx.get(f"{hub.base}/users/alice", headers={"Accept": accept})
    assert r.status_code == 401
    assert "signed" in r.json()["error"]
    assert r.headers["cache-control"] == "private"
    assert "Signature" in r.headers["vary"]
    assert "publicKey" not in r.text


@pytest.mark.parametrize("accept", ["text/html", "*/*", "application/json", ""])
def test_member_actor__browser_gets_login_page(hub: HubProcess, accept: str) -> None:
    """Anything but ActivityPub JSON is sent to the profile page, which asks for a login:
    never the private data."""
    r = httpx.get(f"{hub.base}/users/alice", headers={"Accept": accept})
    assert r.status_code == 303 and r.headers["location"] == "/@alice"
    r = httpx.get(f"{hub.base}/users/alice", headers={"Accept": accept}, follow_redirects=True)
    assert r.status_code == 200 and r.url.path == "/login"
    assert r.headers["content-type"].startswith("text/html")
    assert "Connexion" in r.text
    assert "alice@" not in r.text and "BEGIN PUBLIC KEY" not in r.text
    en = httpx.get(f"{hub.base}/@alice", headers={"Accept-Language": "en-GB,en;q=0.8"},
                   follow_redirects=True)
    assert "Log in" in en.text


@pytest.mark.parametrize(
    ("signature", "status", "reason"),
    [
        ('keyId="https://x.example/a#k",signature="abc', 400, "malformed"),
        ("garbage", 400, "malformed"),
        ('keyId="https://stranger.example/users/a#main-key",algorithm="rsa-sha256",headers="(request-target) host date",signature="AAAA"', 403, "not a linked"),
        ('keyId="https%3A%2F%2Fstranger.example%2Fusers%2Fa",signature="AAAA"', 400, "keyId"),
        ('keyId="acct:a@stranger.example",signature="AAAA"', 400, "keyId"),
    ],
)
def test_member_actor__broken_signatures(hub: HubProcess, signature: str, status: int,
                                         reason: str) -> None:
    """Broken or foreign signature headers get a 4xx with a reason, never a 500."""
    r = httpx.get(f"{hub.base}/users/alice", headers={"Accept": AP, "Signature": signature,
                                                       "Date": "Sun, 05 Jan 2014 21:31:40 GMT"})
    assert r.status_code == status, r.text
    assert reason in r.json()["error"]


def test_non_ascii_header_value__4xx(hub: HubProcess) -> None:
    """A signature header carrying non-ASCII bytes is refused with a 4xx, not a crash."""
    raw = (f"GET /users/alice HTTP/1.1\r\nHost: {hub.domain}\r\nAccept: {AP}\r\n"
           'Signature: keyId="https://stranger.example/é#k",signature="AAAA"\r\n'
           "Connection: close\r\n\r\n").encode()
    with socket.create_connection((hub.host, hub.port), timeout=5) as sock:
        sock.sendall(raw)
        data = sock.recv(4096)
    status = int(data.split(b" ", 2)[1])
    assert 400 <= status < 500


def test_oversized_body__413_before_read(hub: HubProcess) -> None:
    """A body over 1 MiB is refused with 413, by Content-Length or while streaming."""
    r = httpx.post(f"{hub.base}/inbox", content=b"x" * (1024 * 1024 + 1),
                   headers={"Content-Type": AP})
    assert r.status_code == 413

    def chunks():  # no Content-Length: the limit applies while reading
        for _ in range(20):
            yield b"y" * 100_000

    r = httpx.post(f"{hub.base}/inbox", content=chunks(), headers={"Content-Type": AP})
    assert r.status_code == 413
    assert "over" in r.json()["error"]
