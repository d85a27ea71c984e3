"""Another hub's members, through their own hub's client API: a follower on a linked hub
sees followers-only posts and the DM sent to them; a non-follower on that hub sees only
the neighbourhood post; the hub-only post never leaves its hub. Every read path."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from support.hubs import HubProcess, wait_for

pytestmark = pytest.mark.multihub


class Api:
    """A member's token on their hub, and a few calls."""

    def __init__(self, hub: HubProcess, name: str) -> None:
        self.base = hub.base
        app = httpx.post(f"{hub.base}/api/v1/apps", data={
            "client_name": "t", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
            "scopes": "read write follow"}).json()
        token = httpx.post(f"{hub.base}/oauth/token", data={
            "grant_type": "password", "client_id": app["client_id"],
            "client_secret": app["client_secret"], "username": f"{name}@{hub.host}.test",
            "password": hub.passwords[name], "scope": "read write follow"}).json()
        self.headers = {"Authorization": f"Bearer {token['access_token']}"}

    def get(self, path: str, **params: Any) -> Any:
        r = httpx.get(self.base + path, params=params, headers=self.headers, timeout=10)
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
        return r.json()

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        r = httpx.post(self.base + path, json=body or {}, headers=self.headers, timeout=10)
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
        return r.json()


def texts(statuses: list[dict[str, Any]]) -> set[str]:
    out = set()
    for s in statuses:
        for word in ("NB", "HUB", "FOL", "DM"):
            if f"secret{word}" in s["content"]:
                out.add(word)
    return out


def link_by_config(hub: HubProcess, other: HubProcess) -> None:
    """List ``other`` in ``federation.neighbours``: linked from the start, with no
    handshake to wait for (the neighbour protocol has its own tests)."""
    text = hub.config_path.read_text(encoding="utf-8")
    assert "neighbours = []" in text
    hub.config_path.write_text(text.replace("neighbours = []",
                                            f'neighbours = ["{other.domain}"]'), encoding="utf-8")


@pytest.fixture
def hubs(make_hub: Callable[..., HubProcess], db_backend: str) -> tuple[HubProcess, HubProcess]:
    a, b = make_hub("a", backend=db_backend), make_hub("b", backend=db_backend)
    link_by_config(a, b)
    link_by_config(b, a)
    a.add_user("alice")
    b.add_user("bob")
    b.add_user("bea")
    a.start()
    b.start()
    return a, b


def test_other_hub_members_see_what_they_may(hubs: tuple[HubProcess, HubProcess]) -> None:
    a, b = hubs
    alice, bob, bea = Api(a, "alice"), Api(b, "bob"), Api(b, "bea")
    # bob finds alice through WebFinger on the linked hub and asks to follow her.
    found = bob.get("/api/v2/search", q=f"alice@{a.domain}", resolve="true", type="accounts")
    assert [x["acct"] for x in found["accounts"]] == [f"alice@{a.domain}"]
    alice_on_b = found["accounts"][0]["id"]
    assert bob.post(f"/api/v1/accounts/{alice_on_b}/follow")["requested"] is True
    requests = wait_for(lambda: alice.get("/api/v1/follow_requests"), what="the request on A")
    assert requests[0]["acct"] == f"bob@{b.domain}"
    alice.post(f"/api/v1/follow_requests/{requests[0]['id']}/authorize")
    wait_for(lambda: bob.get("/api/v1/accounts/relationships", id=alice_on_b)[0]["following"],
             what="the Accept on B")

    for text, visibility in (("secretNB #quartier", "public"), ("secretHUB #quartier", "unlisted"),
                             ("secretFOL #quartier", "private"),
                             (f"@bob@{b.domain} secretDM #quartier", "direct")):
        alice.post("/api/v1/statuses", {"status": text, "visibility": visibility})
    wait_for(lambda: texts(bob.get("/api/v1/timelines/home")) == {"NB", "FOL", "DM"},
             what="alice's posts in bob's home on B")

    def paths(api: Api) -> dict[str, set[str]]:
        nb = [s for s in api.get(f"/api/v1/accounts/{alice_on_b}/statuses")
              if "secretNB" in s["content"]]
        return {
            "home": texts(api.get("/api/v1/timelines/home")),
            "local": texts(api.get("/api/v1/timelines/public", local="true")),
            "neighbourhood": texts(api.get("/api/v1/timelines/public")),
            "tag": texts(api.get("/api/v1/timelines/tag/quartier")),
            "account": texts(api.get(f"/api/v1/accounts/{alice_on_b}/statuses")),
            "search": texts(api.get("/api/v2/search", q="secret", type="statuses")["statuses"]),
            "notifications": texts([n["status"] for n in api.get("/api/v1/notifications")
                                    if n["status"]]),
            "conversations": texts([c["last_status"] for c in api.get("/api/v1/conversations")]),
            "context": texts(api.get(f"/api/v1/statuses/{nb[0]['id']}/context")["descendants"])
            if nb else set(),
        }

    by_bob = paths(bob)
    assert by_bob["home"] == by_bob["account"] == by_bob["search"] == {"NB", "FOL", "DM"}
    assert by_bob["neighbourhood"] == by_bob["tag"] == {"NB"}
    assert by_bob["local"] == set()
    assert by_bob["notifications"] == by_bob["conversations"] == {"DM"}
    by_bea = paths(bea)
    assert by_bea["neighbourhood"] == by_bea["tag"] == by_bea["account"] == {"NB"}
    assert by_bea["search"] == {"NB"}
    for path in ("home", "local", "notifications", "conversations", "context"):
        assert by_bea[path] == set(), path
