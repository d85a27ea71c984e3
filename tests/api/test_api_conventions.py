"""Conventions every endpoint shares: instance documents, JSON errors, CORS, rate-limit
headers, Link paging, date and id formats, trailing slashes, encodings, stubs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from apiworld import ApiWorld, Member, ok

from fedi.api.features import provided

DATE_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiWorld]:
    path: Path = tmp_path_factory.mktemp("conv")
    w = ApiWorld(f"sqlite:///{path / 'hub.db'}")
    yield w
    w.close()


@pytest.fixture(scope="module")
def alice(world: ApiWorld) -> Member:
    return world.member("alice", role="admin")


@pytest.fixture(scope="module")
def newcomer(world: ApiWorld) -> Member:
    """A member who never posted nor followed: every list is empty for them."""
    return world.member("new")


@pytest.mark.parametrize("path", ["/api/v1/instance", "/api/v1/instance/"])
def test_instance_v1(world: ApiWorld, alice: Member, path: str) -> None:
    doc = ok(world.get(None, path))
    assert doc["uri"] == "hub.test" and doc["version"].startswith("4.2.0 (compatible; Voisins ")
    # Advertised only when the streaming routes exist (fedi.api.features).
    streaming = "streaming" in provided(world.app)
    assert doc["urls"].get("streaming_api") == ("wss://hub.test" if streaming else None)
    assert doc["registrations"] is False and doc["invites_enabled"] is True
    assert doc["configuration"]["statuses"]["max_characters"] == 5000
    assert doc["contact_account"]["username"] == alice.username
    assert all({"id", "text"} <= set(r) for r in doc["rules"])


@pytest.mark.parametrize("path", ["/api/v2/instance", "/api/v2/instance/"])
def test_instance_v2(world: ApiWorld, path: str) -> None:
    doc = ok(world.get(None, path))
    assert doc["domain"] == "hub.test" and doc["api_versions"] == {"mastodon": 2}
    assert isinstance(doc["contact"]["email"], str)
    assert doc["registrations"]["enabled"] is False
    assert "invitation" in doc["registrations"]["message"]
    assert doc["configuration"]["accounts"]["max_featured_tags"] == 0
    assert isinstance(doc["thumbnail"], dict) and doc["configuration"]["translation"] == {
        "enabled": False}


def test_errors_are_json(world: ApiWorld, alice: Member) -> None:
    anonymous = world.get(None, "/api/v1/timelines/home")
    assert anonymous.status_code == 401 and anonymous.json() == {
        "error": "The access token is invalid"}
    bad = world.client.get("/api/v1/timelines/home", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    # English when asked; else the member's language (French by default, fedi.api.error_language)
    missing = world.get(alice, "/api/v1/statuses/123", headers={"Accept-Language": "en"})
    assert missing.status_code == 404 and missing.json() == {"error": "Record not found"}
    huge = world.get(alice, "/api/v1/statuses/99999999999999999999999")
    assert huge.status_code == 404
    unknown = world.get(alice, "/api/v1/nothing-here")
    assert unknown.status_code == 404 and unknown.headers["content-type"].startswith(
        "application/json")
    wrong_method = world.client.request("TRACE", "/api/v1/timelines/home")
    assert wrong_method.status_code == 405 and "error" in wrong_method.json()
    bad_json = world.client.post("/api/v1/statuses", content=b"{not json",
                                 headers={**alice.headers, "Content-Type": "application/json"})
    assert bad_json.status_code == 400 and "error" in bad_json.json()
    blank = world.post_json(alice, "/api/v1/statuses", {"status": "  "})
    assert blank.status_code == 422 and blank.json()["error"].startswith("La validation a échoué")


def test_cors_preflight_and_exposed_headers(world: ApiWorld, alice: Member) -> None:
    pre = world.client.options("/api/v1/timelines/home", headers={
        "Origin": "http://127.0.0.1:5173", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert pre.status_code == 204
    assert pre.headers["access-control-allow-origin"] == "*"
    assert "authorization" in pre.headers["access-control-allow-headers"].lower()
    assert "content-type" in pre.headers["access-control-allow-headers"].lower()
    for path in ("/oauth/token", "/.well-known/oauth-authorization-server", "/nodeinfo/2.0"):
        assert world.client.options(path, headers={
            "Origin": "https://elk.zone", "Access-Control-Request-Method": "POST"}
        ).status_code == 204
    got = world.get(alice, "/api/v1/timelines/home", headers={"Origin": "https://elk.zone"})
    assert got.headers["access-control-allow-origin"] == "*"
    assert "Link" in got.headers["access-control-expose-headers"]
    assert got.headers["x-ratelimit-limit"] == "100000"
    assert DATE_RE.match(got.headers["x-ratelimit-reset"])
    assert "private" in got.headers["cache-control"]
    page = world.get(None, "/")
    assert "access-control-allow-origin" not in page.headers


def test_api_rate_limit(tmp_path: Path) -> None:
    w = ApiWorld(f"sqlite:///{tmp_path / 'rl.db'}", extra={"api": {"rate_limit": 3}})
    try:
        bob = w.member("bob")
        statuses = [w.get(bob, "/api/v1/preferences").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        assert w.get(bob, "/api/v1/preferences").json() == {"error": "Too many requests"}
        assert w.get(None, "/api/v1/instance").status_code == 200  # another key
    finally:
        w.close()


def test_link_paging_and_formats(world: ApiWorld, alice: Member) -> None:
    ids = [ok(world.post_json(alice, "/api/v1/statuses", {"status": f"n°{i}"}))["id"]
           for i in range(5)]
    first = world.get(alice, "/api/v1/timelines/home", params={"limit": 2})
    body = ok(first)
    assert [s["id"] for s in body] == ids[:2:-1][:2] == [ids[4], ids[3]]
    link = first.headers["link"]
    assert re.match(r'^<https://hub\.test/api/v1/timelines/home\?max_id=\d+&limit=2>; '
                    r'rel="next", <https://hub\.test/api/v1/timelines/home\?min_id=\d+&limit=2>; '
                    r'rel="prev"$', link)
    nxt = re.match(r"<([^>]+)>", link).group(1).replace("https://hub.test", "")
    assert [s["id"] for s in ok(world.get(alice, nxt))] == [ids[2], ids[1]]
    since = ok(world.get(alice, "/api/v1/timelines/home", params={"since_id": ids[2]}))
    assert [s["id"] for s in since] == [ids[4], ids[3]]
    just_after = ok(world.get(alice, "/api/v1/timelines/home",
                              params={"min_id": ids[0], "limit": 2}))
    assert [s["id"] for s in just_after] == [ids[2], ids[1]]
    empty = world.get(alice, "/api/v1/timelines/home", params={"min_id": ids[4]})
    assert ok(empty) == [] and "link" not in empty.headers
    status = body[0]
    assert all(isinstance(status[k], str) for k in ("id", "uri", "created_at"))
    assert DATE_RE.match(status["created_at"]) and "scheduled_at" not in status
    for key in ("spoiler_text", "mentions", "tags", "emojis", "media_attachments", "url"):
        assert status[key] is not None
    account = status["account"]
    assert DATE_RE.match(account["created_at"]) and account["acct"] == alice.username
    assert account["avatar"].startswith("https://hub.test/") and account["locked"] is True
    assert world.client.get("/media/missing.png").headers["content-type"] == "image/png"


def test_encodings_and_booleans(world: ApiWorld, alice: Member) -> None:
    form = ok(world.post_form(alice, "/api/v1/statuses", {
        "status": "formulaire", "sensitive": "1", "spoiler_text": "cw",
        "visibility": "unlisted", "media_ids[]": []}))
    assert form["sensitive"] is True and form["visibility"] == "unlisted"
    js = ok(world.post_json(alice, "/api/v1/statuses", {
        "status": "json", "sensitive": False, "media_ids": [], "visibility": "local"}))
    assert js["visibility"] == "unlisted" and js["local_only"] is True
    local_only = ok(world.post_json(alice, "/api/v1/statuses", {
        "status": "local", "visibility": "public", "local_only": "True"}))
    assert local_only["visibility"] == "unlisted"
    bad = world.post_json(alice, "/api/v1/statuses", {"status": "x", "sensitive": "maybe"})
    assert bad.status_code == 422
    rel = ok(world.get(alice, f"/api/v1/accounts/relationships?id[]={alice.id}&id[]=7"))
    assert [r["id"] for r in rel] == [alice.id, "7"]
    single = ok(world.get(alice, f"/api/v1/accounts/relationships?id={alice.id}"))
    assert len(single) == 1 and single[0]["following"] is False
    media = world.post_json(alice, "/api/v1/statuses", {"status": "x", "media_ids": ["1"]})
    assert media.status_code == 422


@pytest.mark.parametrize("path", [
    "/api/v1/lists", "/api/v1/filters", "/api/v2/filters", "/api/v1/custom_emojis",
    "/api/v1/announcements", "/api/v1/trends", "/api/v1/trends/tags", "/api/v1/trends/statuses",
    "/api/v1/trends/links", "/api/v1/suggestions", "/api/v2/suggestions",
    "/api/v1/followed_tags", "/api/v1/featured_tags", "/api/v1/scheduled_statuses",
    "/api/v1/domain_blocks", "/api/v1/endorsements", "/api/v1/blocks", "/api/v1/mutes",
    "/api/v1/conversations/", "/api/v1/bookmarks", "/api/v1/favourites",
])
def test_empty_but_valid(world: ApiWorld, newcomer: Member, path: str) -> None:
    assert ok(world.get(newcomer, path)) == []


def test_preferences_markers_and_extras(world: ApiWorld, alice: Member) -> None:
    prefs = ok(world.get(alice, "/api/v1/preferences"))
    assert prefs["posting:default:visibility"] == "private"
    assert ok(world.get(alice, "/api/v1/markers?timeline[]=home")) == {}
    set_ = ok(world.post_form(alice, "/api/v1/markers", {"home[last_read_id]": "123"}))
    assert set_["home"]["last_read_id"] == "123" and set_["home"]["version"] == 1
    again = ok(world.post_json(alice, "/api/v1/markers", {"home": {"last_read_id": "456"}}))
    assert again["home"]["version"] == 2
    got = ok(world.get(alice, "/api/v1/markers",
                       params=[("timeline[]", "home"), ("timeline[]", "notifications")]))
    assert list(got) == ["home"] and got["home"]["last_read_id"] == "456"
    assert world.client.get("/api/v1/streaming/health").text == "OK"
    assert ok(world.get(alice, "/api/v1/tags/Quartier"))["name"] == "quartier"
    assert world.post_json(alice, "/api/v2/media", {}).status_code == 422
    assert world.get(alice, "/api/v1/push/subscription").status_code == 404


def test_public_endpoints_ignore_a_stale_token(world: ApiWorld) -> None:
    stale = {"Authorization": "Bearer revoked-or-unknown"}
    assert world.client.get("/api/v1/instance", headers=stale).status_code == 200
    assert world.client.get("/api/v1/timelines/home", headers=stale).status_code == 401
