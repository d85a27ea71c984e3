"""Signed fetches between real hubs on loopback (real HTTP, real signatures)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select
from support.hubs import HubProcess
from support.tls import make_ca_and_cert

from fedi.db import make_engine, make_sessionmaker
from fedi.models import Actor


def neighbours(*domains: str) -> str:
    return "\n[federation]\n" + "neighbours = [" + ", ".join(f'"{d}"' for d in domains) + "]\n"


def link(a: HubProcess, b: HubProcess) -> None:
    """Both hubs list each other (as an admin would with `voisins neighbours add`)."""
    a.cli("neighbours", "add", b.domain)
    b.cli("neighbours", "add", a.domain)


def stored_actor(hub: HubProcess, uri: str) -> Actor | None:
    engine = make_engine(hub.settings().database_url)
    try:
        with make_sessionmaker(engine)() as session:
            return session.scalar(select(Actor).where(Actor.uri == uri))
    finally:
        engine.dispose()


def test_lookup__linked_hub_fetches_member_with_signature(
    make_hub: Callable[..., HubProcess], db_backend: str
) -> None:
    """A fetches B's member by WebFinger + signed GET; C, not linked with B, gets 403."""
    # Every hub on the backend under test (B answers the signed fetches).
    a, b, c = (make_hub(name, backend=db_backend) for name in "abc")
    link(a, b)
    c.cli("neighbours", "add", b.domain)  # C wants B, but B never listed C
    b.add_user("bob")
    for h in (a, b, c):
        h.start()

    result = a.cli("lookup", f"bob@{b.domain}")
    doc = json.loads(result.stdout)
    assert doc["id"] == f"{b.base}/users/bob"
    assert doc["key_id"] == f"{b.base}/users/bob#main-key"
    stored = stored_actor(a, f"{b.base}/users/bob")
    assert stored is not None and not stored.local
    assert "BEGIN PUBLIC KEY" in (stored.public_key_pem or "")
    # B learnt A's instance actor key while verifying the signature.
    assert stored_actor(b, f"{a.base}/actor") is not None

    refused = c.cli("lookup", f"{b.base}/users/bob", check=False)
    assert refused.returncode == 2
    assert "403" in refused.stderr
    assert stored_actor(c, f"{b.base}/users/bob") is None
    # B fetched nothing from C but C's /actor, to verify C's link request (which then
    # waits for B's admins): never the actor of a refused GET.
    engine = make_engine(b.settings().database_url)
    try:
        with make_sessionmaker(engine)() as session:
            from_c = set(session.scalars(select(Actor.uri).where(Actor.domain == c.domain)))
    finally:
        engine.dispose()
    assert from_c <= {f"{c.base}/actor"}


def test_lookup__refuses_hub_not_allowed_locally(make_hub: Callable[..., HubProcess]) -> None:
    """A hub never contacts a domain it does not list: the fetch is refused before sending."""
    a = make_hub("a")
    b = make_hub("b")
    b.add_user("bob")
    b.start()
    refused = a.cli("lookup", f"{b.base}/users/bob", check=False)
    assert refused.returncode == 2
    assert "not a linked or allowed hub" in refused.stderr


def test_https__hubs_federate_over_tls_with_extra_ca(
    make_hub: Callable[..., HubProcess], tmp_path: Path
) -> None:
    """`serve` speaks HTTPS from the configured cert; peers trust the extra CA bundle."""
    a = make_hub("a", scheme="https")
    b = make_hub("b", scheme="https")
    shared_ca = None
    for h in (a, b):
        ca, cert, key = make_ca_and_cert(h.workdir, h.host)
        shared_ca = shared_ca or tmp_path / "bundle.pem"
        with open(shared_ca, "ab") as bundle:
            bundle.write(ca.read_bytes())
        text = h.config_path.read_text()
        text = text.replace("allow_http = true", "allow_http = false")
        text = text.replace("[server]\n", f'[server]\ntls_cert = "{cert}"\ntls_key = "{key}"\n')
        h.config_path.write_text(text)
    for h in (a, b):
        text = h.config_path.read_text().replace(
            "[federation]\n", f'[federation]\nca_bundle = "{shared_ca}"\n')
        h.config_path.write_text(text)
        (h.workdir / "ca.pem").write_bytes(shared_ca.read_bytes())
    link(a, b)
    b.add_user("bob")
    a.start()
    b.start()
    doc = json.loads(a.cli("lookup", f"bob@{b.domain}").stdout)
    assert doc["id"] == f"https://{b.domain}/users/bob"
