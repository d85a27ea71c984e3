"""Posts arriving from a linked hub (stored by the inbox worker, in its thread) reach the
streams of the members who may see them, and only theirs."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from journeys.test_privacy_hubs import Api, link_by_config
from streaming.test_streaming_hubs import api, login, socket
from support.hubs import HubProcess, wait_for

pytestmark = pytest.mark.multihub


def test_inbound_followers_only_post_reaches_the_follower_only(
        make_hub: Callable[..., HubProcess]) -> None:
    a, b = make_hub("a"), make_hub("b")
    link_by_config(a, b)
    link_by_config(b, a)
    a.add_user("alice")
    b.add_user("bob")
    b.add_user("bea")
    a.start()
    b.start()
    alice, bob = Api(a, "alice"), Api(b, "bob")
    found = bob.get("/api/v2/search", q=f"alice@{a.domain}", resolve="true", type="accounts")
    alice_on_b = found["accounts"][0]["id"]
    bob.post(f"/api/v1/accounts/{alice_on_b}/follow")
    requests = wait_for(lambda: alice.get("/api/v1/follow_requests"), what="the request on A")
    alice.post(f"/api/v1/follow_requests/{requests[0]['id']}/authorize")
    wait_for(lambda: bob.get("/api/v1/accounts/relationships", id=alice_on_b)[0]["following"],
             what="the Accept on B")

    bob_token, _ = login(b, "bob")
    bea_token, _ = login(b, "bea")
    with socket(b.base, bob_token, stream="user") as bob_ws, \
            socket(b.base, bea_token, how="header") as bea_ws:
        bea_ws.subscribe("user", "public", "public:remote")
        fol = alice.post("/api/v1/statuses", {"status": "secretFOL", "visibility": "private"})
        nb = alice.post("/api/v1/statuses", {"status": "secretNB", "visibility": "public"})
        wait_for(lambda: any(s["uri"] == fol["uri"] for s in bob.get("/api/v1/timelines/home")),
                 timeout=60, what="the followers-only post in bob's home (through the API)")
        wait_for(lambda: bob_ws.find("update", lambda s: s["uri"] == fol["uri"]), timeout=30,
                 what="the followers-only post on bob's stream")
        bea = api(b.base, bea_token)
        wait_for(lambda: any(s["uri"] == nb["uri"] for s in bea.get(
            "/api/v1/timelines/public").json()), timeout=60,
            what="the neighbourhood post in bea's timeline (through the API)")
        wait_for(lambda: bea_ws.find("update", lambda s: s["uri"] == nb["uri"]), timeout=30,
                 what="the neighbourhood post on bea's stream (the marker)")
        streams = {tuple(f["stream"]) for _at, f in bea_ws.frames if f.get("event") == "update"}
        assert streams == {("public",), ("public:remote",)}
        assert not bea_ws.find("update", lambda s: s["uri"] == fol["uri"])
