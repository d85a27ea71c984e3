"""fedi.verification: the one path for signed requests (inbox and authorized fetch), with
keys in a dict and a frozen clock; request bodies; the per-domain grouping of link requests."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest

from fedi.keys import generate_private_key_pem, public_pem_from_private
from fedi.keystore import KeyFetchError, KeyInfo, KeyStore
from fedi.services.trust import request_group
from fedi.signatures import sign_request
from fedi.verification import (
    RequestRejected,
    RequestVerifier,
    read_json_body,
    signing_domain,
)

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
KEY = generate_private_key_pem()
ALICE = "https://m.example/users/alice"


def scope(method: str, path: str, headers: dict[str, str]) -> dict[str, object]:
    return {"method": method, "path": path, "raw_path": path.encode(), "query_string": b"",
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]}


def verifier(confirmed: list[str], *, allowed: bool = True) -> RequestVerifier:
    async def local(_key_id: str) -> KeyInfo | None:
        return None

    async def remote(url: str) -> KeyInfo:
        if url != ALICE:
            raise KeyFetchError("404", status=404)
        return KeyInfo(f"{ALICE}#main-key", ALICE, public_pem_from_private(KEY))

    async def confirm(key_id: str) -> None:
        confirmed.append(key_id)

    store = KeyStore(local_lookup=local, remote_fetch=remote, confirm=confirm)
    return RequestVerifier(keystore=store, is_allowed=lambda _d: allowed,
                           local_domain="hub.example", base_url="https://hub.example",
                           has_ended=lambda d: d == "m.example", clock=lambda: NOW)


def signed_post(body: bytes, key: str = KEY) -> dict[str, object]:
    headers = sign_request("POST", "https://hub.example/inbox",
                           headers={"Content-Type": "application/activity+json"}, body=body,
                           private_key_pem=key, key_id=f"{ALICE}#main-key", now=NOW)
    return scope("POST", "/inbox", headers)


def test_verified_request__key_confirmed_only_then() -> None:
    confirmed: list[str] = []
    body = b'{"type": "Create"}'
    signer = asyncio.run(verifier(confirmed).verify(signed_post(body), body))
    assert (signer.actor_uri, signer.domain) == (ALICE, "m.example")
    assert confirmed == [f"{ALICE}#main-key"]


def test_forged_request__key_never_confirmed() -> None:
    """A request signed with another key: 401, and what was fetched is not kept."""
    confirmed: list[str] = []
    body = b'{"type": "Create"}'
    with pytest.raises(RequestRejected) as caught:
        asyncio.run(verifier(confirmed).verify(signed_post(body, generate_private_key_pem()),
                                               body))
    assert caught.value.status == 401
    assert confirmed == []


def test_not_allowed__403_on_post_404_on_get_of_an_ended_link() -> None:
    body = b"{}"
    with pytest.raises(RequestRejected) as caught:
        asyncio.run(verifier([], allowed=False).verify(signed_post(body), body))
    assert caught.value.status == 403
    headers = sign_request("GET", "https://hub.example/users/bob", headers={},
                           body=None, private_key_pem=KEY, key_id=f"{ALICE}#main-key", now=NOW)
    with pytest.raises(RequestRejected) as caught:
        asyncio.run(verifier([], allowed=False).verify(scope("GET", "/users/bob", headers)))
    assert caught.value.status == 404


def test_signing_domain() -> None:
    headers = dict(signed_post(b"{}")["headers"])  # type: ignore[arg-type]
    view = {k.decode(): v.decode() for k, v in headers.items()}
    assert signing_domain(view) == "m.example"
    assert signing_domain({}) is None
    assert signing_domain({"signature": 'keyId="javascript:x"'}) is None


@pytest.mark.parametrize("body", [b"[" * 100_000 + b"]" * 100_000,
                                  b'{"a":' * 300 + b"1" + b"}" * 300])
def test_read_json_body__deeply_nested__400(body: bytes) -> None:
    with pytest.raises(RequestRejected) as caught:
        read_json_body(body)
    assert caught.value.status == 400 and "nested" in caught.value.reason


def test_read_json_body__ordinary_documents() -> None:
    doc = {"type": "Create", "object": {"tag": [{"type": "Mention", "href": ALICE}]}}
    assert read_json_body(json.dumps(doc).encode()) == doc
    with pytest.raises(RequestRejected, match="not valid JSON"):
        read_json_body(b"\xff{")


@pytest.mark.parametrize(("domain", "group"), [
    ("a.evil.example:8443", "evil.example"),
    ("b.evil.example", "evil.example"),
    ("x.asso.fr", "x.asso.fr"),  # asso.fr is a public suffix: each association on its own
    ("127.0.2.5:1234", "127.0.2.5"),
    ("[::1]:80", "::1"),
])
def test_request_group(domain: str, group: str) -> None:
    assert request_group(domain) == group
