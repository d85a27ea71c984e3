"""The client API surface apps use beyond the basics: v2 grouped notifications (real
favourites, boosts and follows from several members, with the v1 visibility rules),
notification requests and policy routed before ``/notifications/{id}``, and the instance
answers, walked: everything they advertise answers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from apiworld import ApiWorld, Member, ok
from mastodon import Mastodon
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from support.hubs import HubProcess

from fedi.api import stubs
from fedi.api.features import provided
from fedi.api.stubs import MISSING_PNG

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiWorld]:
    path: Path = tmp_path_factory.mktemp("surface")
    w = ApiWorld(f"sqlite:///{path / 'hub.db'}")
    yield w
    w.close()


@pytest.fixture
def any_world(db_backend: str, new_database_url: Callable[[str, str], str]
              ) -> Iterator[ApiWorld]:
    """A world on SQLite and on PostgreSQL, for the tests whose queries matter."""
    w = ApiWorld(new_database_url(db_backend, "surface"))
    yield w
    w.close()


def groups_of(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {g["group_key"]: g for g in body["notification_groups"]}


def test_grouped_notifications(any_world: ApiWorld) -> None:
    world = any_world
    alice = world.member("alice")
    fans = [world.member("fan") for _ in range(3)]
    status = ok(world.post_json(alice, "/api/v1/statuses",
                                {"status": "Nouvelle boutique !", "visibility": "public"}))
    for fan in fans:
        ok(world.post_json(fan, f"/api/v1/statuses/{status['id']}/favourite"))
    for fan in fans[1:]:
        ok(world.post_json(fan, f"/api/v1/statuses/{status['id']}/reblog"))
    for fan in fans[:2]:  # members are locked: a request, then a follow once accepted
        ok(world.post_json(fan, f"/api/v1/accounts/{alice.id}/follow"))
        ok(world.post_json(alice, f"/api/v1/follow_requests/{fan.id}/authorize"))
    mention = ok(world.post_json(fans[2], "/api/v1/statuses", {
        "status": f"@{alice.username} bravo", "visibility": "public"}))

    v1 = ok(world.get(alice, "/api/v1/notifications"))
    types = [n["type"] for n in v1]
    assert sorted(types) == sorted(["favourite"] * 3 + ["reblog"] * 2 + ["follow"] * 2 + ["follow_request"] * 2
                                   + ["mention"])

    body = ok(world.get(alice, "/api/v2/notifications"))
    groups = groups_of(body)
    # v1 and v2 agree on every notification's group.
    assert {n["group_key"] for n in v1} == set(groups)
    fav = next(g for g in groups.values() if g["type"] == "favourite")
    assert fav["group_key"].startswith(f"favourite-{status['id']}-")
    assert fav["notifications_count"] == 3 and fav["status_id"] == status["id"]
    assert set(fav["sample_account_ids"]) == {f.id for f in fans}
    boosts = next(g for g in groups.values() if g["type"] == "reblog")
    assert boosts["group_key"].startswith(f"reblog-{status['id']}-")
    assert boosts["notifications_count"] == 2 and boosts["status_id"] == status["id"]
    follow = next(g for g in groups.values() if g["type"] == "follow")
    assert follow["group_key"].startswith("follow--") and follow["notifications_count"] == 2
    assert follow["status_id"] is None
    assert set(follow["sample_account_ids"]) == {f.id for f in fans[:2]}
    singles = [g for g in groups.values() if g["type"] in ("mention", "follow_request")]
    assert len(singles) == 3 and all(g["group_key"].startswith("ungrouped-") for g in singles)
    assert all(g["notifications_count"] == 1 for g in singles)
    assert [g["status_id"] for g in singles if g["type"] == "mention"] == [mention["id"]]
    assert len(groups) == 6
    # Newest group first.
    newest = [int(g["most_recent_notification_id"]) for g in body["notification_groups"]]
    assert newest == sorted(newest, reverse=True)
    # Each account and status once, every sampled account present.
    account_ids = [a["id"] for a in body["accounts"]]
    assert len(account_ids) == len(set(account_ids))
    assert {i for g in groups.values() for i in g["sample_account_ids"]} <= set(account_ids)
    assert sorted(s["id"] for s in body["statuses"]) == sorted({status["id"], mention["id"]})

    # grouped_types[] limits grouping; partial_avatars splits accounts.
    only_fav = groups_of(ok(world.get(alice, "/api/v2/notifications",
                                      params={"grouped_types[]": "favourite"})))
    assert sum(1 for g in only_fav.values() if g["type"] == "follow") == 2
    partial = ok(world.get(alice, "/api/v2/notifications",
                           params={"expand_accounts": "partial_avatars"}))
    assert "partial_accounts" in partial
    assert {a["id"] for a in partial["accounts"]} | {a["id"] for a in partial[
        "partial_accounts"]} == set(account_ids)
    assert ok(world.get(alice, "/api/v2/notifications", params={"types[]": "favourite"}))[
        "notification_groups"] == [fav]

    one = ok(world.get(alice, f"/api/v2/notifications/{fav['group_key']}"))
    assert one["notification_groups"] == [fav]
    accounts = ok(world.get(alice, f"/api/v2/notifications/{fav['group_key']}/accounts"))
    assert {a["id"] for a in accounts} == {f.id for f in fans}
    assert ok(world.get(alice, "/api/v2/notifications/unread_count"))["count"] == len(groups)
    assert ok(world.get(alice, "/api/v1/notifications/unread_count"))["count"] == len(v1)
    # Someone else cannot see alice's groups.
    assert world.get(fans[0], f"/api/v2/notifications/{fav['group_key']}").status_code == 404
    assert world.get(alice, "/api/v2/notifications/nonsense-x-y").status_code == 404

    # The v1 visibility rules: a blocked account's notifications leave the group.
    ok(world.post_json(alice, f"/api/v1/accounts/{fans[0].id}/block"))
    fav = groups_of(ok(world.get(alice, "/api/v2/notifications")))[fav["group_key"]]
    assert fav["notifications_count"] == 2 and fans[0].id not in fav["sample_account_ids"]

    ok(world.post_json(alice, f"/api/v2/notifications/{fav['group_key']}/dismiss"))
    assert world.get(alice, f"/api/v2/notifications/{fav['group_key']}").status_code == 404
    assert not [n for n in ok(world.get(alice, "/api/v1/notifications"))
                if n["type"] == "favourite" and n["account"]["id"] != fans[0].id]


def test_grouped_notifications_pages(world: ApiWorld) -> None:
    author = world.member("author")
    readers = [world.member("reader") for _ in range(3)]
    ids = []
    for i in range(3):
        s = ok(world.post_json(author, "/api/v1/statuses",
                               {"status": f"Annonce {i}", "visibility": "public"}))
        ids.append(s["id"])
        for r in readers:
            ok(world.post_json(r, f"/api/v1/statuses/{s['id']}/favourite"))
    first = world.get(author, "/api/v2/notifications", params={"limit": 2})
    page = ok(first)
    assert [g["status_id"] for g in page["notification_groups"]] == [ids[2], ids[1]]
    assert 'rel="next"' in first.headers["link"]
    oldest = min(int(g["page_min_id"]) for g in page["notification_groups"])
    rest = ok(world.get(author, "/api/v2/notifications", params={"max_id": oldest}))
    assert [g["status_id"] for g in rest["notification_groups"]] == [ids[0]]


def test_notification_requests_and_policy_are_routed(world: ApiWorld) -> None:
    bob = world.member("bob")
    assert ok(world.get(bob, "/api/v1/notifications/requests")) == []
    assert ok(world.post_json(bob, "/api/v1/notifications/requests/dismiss",
                              {"id": ["1"]})) == {}
    assert ok(world.post_json(bob, "/api/v1/notifications/requests/accept", {})) == {}
    assert ok(world.get(bob, "/api/v1/notifications/requests/merged")) == {"merged": True}
    assert world.get(bob, "/api/v1/notifications/requests/123").status_code == 404
    assert world.post_json(bob, "/api/v1/notifications/requests/123/accept").status_code == 404
    assert world.post_json(bob, "/api/v1/notifications/requests/123/dismiss").status_code == 404
    assert world.get(None, "/api/v1/notifications/requests").status_code == 401

    policy = ok(world.get(bob, "/api/v2/notifications/policy"))
    assert {k: policy[k] for k in ("for_not_following", "for_not_followers",
                                   "for_new_accounts", "for_private_mentions",
                                   "for_limited_accounts")} == dict.fromkeys(
        ("for_not_following", "for_not_followers", "for_new_accounts",
         "for_private_mentions", "for_limited_accounts"), "accept")
    assert policy["summary"] == {"pending_requests_count": 0, "pending_notifications_count": 0}
    assert ok(world.client.patch("/api/v2/notifications/policy", headers=bob.headers,
                                 json={"for_new_accounts": "accept"})) == policy
    refused = world.client.patch("/api/v2/notifications/policy", headers=bob.headers,
                                 json={"for_new_accounts": "filter"})
    assert refused.status_code == 422
    assert world.client.patch("/api/v2/notifications/policy", headers=bob.headers,
                              json={"for_new_accounts": "maybe"}).status_code == 422
    v1 = ok(world.get(bob, "/api/v1/notifications/policy"))
    assert v1["filter_not_following"] is False


def test_other_surface(world: ApiWorld) -> None:
    carol = world.member("carol")
    tag = ok(world.get(carol, "/api/v1/tags/Boulangerie"))
    assert tag["id"].isdigit() and tag["name"] == "boulangerie" or tag["id"].isdigit()
    assert ok(world.get(carol, "/api/v1/tags/boulangerie"))["id"] == tag["id"]
    for path in ("/api/v1/domain_blocks", "/api/v1/suggestions",
                 "/api/v2/suggestions", "/api/v1/followed_tags", "/api/v1/featured_tags",
                 "/api/v2/filters", "/api/v1/instance/domain_blocks"):
        assert ok(world.get(carol, path)) == [], path
    assert world.get(None, "/api/v1/instance/domain_blocks").status_code == 401
    privacy = ok(world.get(None, "/api/v1/instance/privacy_policy"))
    assert "RGPD" in privacy["content"] and privacy["updated_at"]
    assert ok(world.get(carol, "/api/v1/accounts", params={"id[]": [carol.id, "999"]})) == [
        ok(world.get(carol, f"/api/v1/accounts/{carol.id}"))]


def answers(world: ApiWorld, who: Member, url: str) -> bool:
    parts = urlsplit(url)
    assert parts.netloc == "hub.test", url
    return world.get(who, parts.path).status_code == 200


def test_instance_advertises_only_what_answers(world: ApiWorld) -> None:
    dan = world.member("dan")
    v1 = ok(world.get(None, "/api/v1/instance"))
    v2 = ok(world.get(None, "/api/v2/instance"))
    assert all(r["hint"] is not None for r in v1["rules"])
    assert v2["api_versions"] == {"mastodon": 2}
    assert v1["version"].startswith("4.2.0 ") and v2["version"] == v1["version"]
    features = provided(world.app)
    if "streaming" in features:  # once the streaming routes exist: advertised, and it connects
        assert v1["urls"]["streaming_api"] == v2["configuration"]["urls"]["streaming"] == (
            "wss://hub.test")
        with world.client.websocket_connect(f"/api/v1/streaming?access_token={dan.token}"
                                            "&stream=user"):
            pass
    else:  # none advertised (the WebSocket would be refused)
        assert "streaming_api" not in v1["urls"]
        assert "streaming" not in v2["configuration"]["urls"]
    upload = world.client.post("/api/v2/media", headers=dan.headers,
                               files={"file": ("a.png", MISSING_PNG, "image/png")})
    for answer in (v1, v2):
        media = answer["configuration"]["media_attachments"]
        statuses = answer["configuration"]["statuses"]
        if "media" in features:  # once uploads exist: PNG advertised, and accepted
            assert "image/png" in media["supported_mime_types"]
            assert statuses["max_media_attachments"] > 0
        else:  # no type accepted, no attachment, and uploads are refused
            assert media["supported_mime_types"] == [] and statuses["max_media_attachments"] == 0
    assert (upload.status_code in (200, 202)) == ("media" in features), upload.text
    # Every URL advertised answers.
    urls = [u for u in v2["configuration"]["urls"].values() if u]
    urls.append(v2["thumbnail"]["url"])
    for url in urls:
        assert answers(world, dan, url), url
    # Polls: the limits advertised are the ones enforced.
    polls = v2["configuration"]["polls"]
    assert polls == v1["configuration"]["polls"]
    options = [f"Choix {i}" for i in range(polls["max_options"])]
    ok(world.post_json(dan, "/api/v1/statuses", {"status": "Sondage", "poll": {
        "options": options, "expires_in": polls["min_expiration"]}}))
    assert world.post_json(dan, "/api/v1/statuses", {"status": "Sondage", "poll": {
        "options": [*options, "Un de trop"], "expires_in": polls["min_expiration"]}}
    ).status_code == 422
    assert world.post_json(dan, "/api/v1/statuses", {"status": "Sondage", "poll": {
        "options": ["a" * polls["max_characters_per_option"], "b"],
        "expires_in": polls["max_expiration"]}}).status_code == 200
    # The 4.3 level api_versions announces: each of its endpoints answers.
    for path in ("/api/v2/notifications", "/api/v2/notifications/policy",
                 "/api/v1/notifications/requests", "/api/v2/notifications/unread_count",
                 "/api/v1/statuses", "/api/v1/accounts"):
        assert world.get(dan, path).status_code == 200, path
    for path in ("/api/v1/instance/rules", "/api/v1/instance/extended_description",
                 "/api/v1/instance/privacy_policy", "/api/v1/instance/languages",
                 "/api/v1/instance/activity"):
        assert world.get(None, path).status_code == 200, path


async def _socket(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.close()


async def _upload(request: Request) -> Response:
    return JSONResponse({"id": "1"})


def test_features_come_from_the_routes() -> None:
    """The registry is the router: a real handler provides a feature, a stub does not, and
    a real handler shadowed by a stub provides nothing (it would never answer)."""
    assert provided(Starlette(routes=list(stubs.routes))) == frozenset()
    socket = WebSocketRoute("/api/v1/streaming", _socket)
    upload = Route("/api/v2/media", _upload, methods=["POST"])
    assert provided(Starlette(routes=[socket, *stubs.routes])) == {"streaming"}
    assert provided(Starlette(routes=[upload, *stubs.routes])) == {"media"}
    assert provided(Starlette(routes=[*stubs.routes, upload])) == frozenset()


def test_mastodon_py_notifications_and_instance_v2(
        make_hub: Callable[..., HubProcess]) -> None:
    """Mastodon.py against a real ``voisins serve``: v1 notifications still work and the v2
    instance (with ``api_versions``) parses."""
    hub = make_hub("surface")
    for name in ("alice", "bob"):
        hub.add_user(name)
    hub.start()
    scopes = ["read", "write", "follow"]
    clients = {}
    for name in ("alice", "bob"):
        cid, secret = Mastodon.create_app("surface", api_base_url=hub.base, scopes=scopes)
        client = Mastodon(client_id=cid, client_secret=secret, api_base_url=hub.base)
        client.log_in(f"{name}@{hub.host}.test", hub.passwords[name], scopes=scopes,
                      allow_http=True)
        clients[name] = client
    alice, bob = clients["alice"], clients["bob"]
    post = alice.status_post("Ouvert dimanche", visibility="public")
    bob.status_favourite(post)
    notes = alice.notifications(types=["favourite"])
    assert [(n.type, n.status.id) for n in notes] == [("favourite", post.id)]
    assert notes[0].group_key.startswith(f"favourite-{post.id}-")
    info = alice.instance_v2()
    assert info.api_versions == {"mastodon": 2} and info.domain
    assert info.configuration.polls.max_options >= 2
    assert all(rule.hint is not None for rule in alice.instance_rules())


def test_lists_with_their_accounts_and_timeline(any_world: ApiWorld) -> None:
    world = any_world
    owner, baker, florist, other = (world.member(n) for n in ("owner", "baker", "florist",
                                                                "other"))
    world.follow(owner, baker)
    assert ok(world.get(owner, "/api/v1/lists")) == []
    assert world.post_json(owner, "/api/v1/lists", {"title": "  "}).status_code == 422
    assert world.post_json(owner, "/api/v1/lists", {"title": "Commerces",
                                                    "replies_policy": "all"}).status_code == 422
    made = ok(world.post_json(owner, "/api/v1/lists", {"title": "Commerces"}))
    assert made == {"id": made["id"], "title": "Commerces", "replies_policy": "list",
                    "exclusive": False}
    lid = made["id"]
    # Only accounts the owner follows; all or nothing.
    refused = world.post_json(owner, f"/api/v1/lists/{lid}/accounts",
                              {"account_ids": [baker.id, florist.id]})
    assert refused.status_code == 422
    assert ok(world.get(owner, f"/api/v1/lists/{lid}/accounts")) == []
    ok(world.post_json(owner, f"/api/v1/lists/{lid}/accounts", {"account_ids": [baker.id]}))
    assert [a["id"] for a in ok(world.get(owner, f"/api/v1/lists/{lid}/accounts"))] == [
        baker.id]
    assert [x["id"] for x in ok(world.get(owner, f"/api/v1/accounts/{baker.id}/lists"))] == [
        lid]
    # The list timeline: what the owner may see of the listed accounts.
    shown = world.post(baker, "Pain aux noix ce matin", "followers")
    hidden = world.post(baker, f"@{other.username} ta commande", "direct")
    world.post(florist, "Tulipes", "neighbourhood")
    ids = [s["id"] for s in ok(world.get(owner, f"/api/v1/timelines/list/{lid}"))]
    assert str(shown) in ids and str(hidden) not in ids and len(ids) == 1
    # Nobody else sees the list.
    for path in (f"/api/v1/lists/{lid}", f"/api/v1/lists/{lid}/accounts",
                 f"/api/v1/timelines/list/{lid}"):
        assert world.get(other, path).status_code == 404, path
    assert ok(world.get(other, f"/api/v1/accounts/{baker.id}/lists")) == []
    renamed = ok(world.client.put(f"/api/v1/lists/{lid}", headers=owner.headers,
                                  json={"title": "Boutiques", "replies_policy": "none"}))
    assert renamed["title"] == "Boutiques" and renamed["replies_policy"] == "none"
    ok(world.client.request("DELETE", f"/api/v1/lists/{lid}/accounts", headers=owner.headers,
                            json={"account_ids": [baker.id]}))
    assert ok(world.get(owner, f"/api/v1/lists/{lid}/accounts")) == []
    ok(world.client.delete(f"/api/v1/lists/{lid}", headers=owner.headers))
    assert world.get(owner, f"/api/v1/lists/{lid}").status_code == 404
    assert ok(world.get(owner, "/api/v1/lists")) == []
