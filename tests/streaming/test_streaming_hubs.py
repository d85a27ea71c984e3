"""The streaming API against real ``voisins serve`` processes: Mastodon.py's ``stream_user``
(SSE) and a raw WebSocket client get a followed member's followers-only post, a
non-follower gets nothing, notifications, deletes, revocation; and with two web processes
on one PostgreSQL database, a post made through one reaches a stream held by the other."""

from __future__ import annotations

import json
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from mastodon import Mastodon, StreamListener
from sqlalchemy import text
from support.hubs import HubProcess, free_port, wait_for
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from fedi.db import make_engine

pytestmark = pytest.mark.multihub
SCOPES = "read write follow"


def login(hub: HubProcess, name: str, base: str | None = None) -> tuple[str, dict[str, str]]:
    """A password-grant token; returns it and the app's credentials (to revoke it)."""
    base = base or hub.base
    app = httpx.post(f"{base}/api/v1/apps", data={
        "client_name": "stream-test", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
        "scopes": SCOPES}, timeout=30).json()
    answer = httpx.post(f"{base}/oauth/token", data={
        "grant_type": "password", "username": f"{name}@{hub.host}.test",
        "password": hub.passwords[name], "client_id": app["client_id"],
        "client_secret": app["client_secret"], "scope": SCOPES}, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"], app


def api(hub_base: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=hub_base, headers={"Authorization": f"Bearer {token}"},
                        timeout=20)


class Socket:
    """A WebSocket client reading frames in a thread, each with its arrival time."""

    def __init__(self, conn: ClientConnection) -> None:
        self.conn = conn
        self.frames: list[tuple[float, dict[str, Any]]] = []
        self.closed = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for text in self.conn:
                self.frames.append((time.monotonic(), json.loads(text)))
        except ConnectionClosed:
            pass
        finally:
            self.closed.set()

    def send(self, doc: dict[str, Any]) -> None:
        self.conn.send(json.dumps(doc))

    def subscribe(self, *streams: str) -> None:
        """Subscribe, and wait until the server has applied it: messages are applied in
        order, so the error answering a later unknown stream comes after them (Mastodon
        acknowledges nothing else)."""
        marker = f"marker-{time.monotonic_ns()}"
        for stream in streams:
            self.send({"type": "subscribe", "stream": stream})
        self.send({"type": "subscribe", "stream": marker})
        errors = sum(1 for _a, f in self.frames if f.get("error"))
        wait_for(lambda: sum(1 for _a, f in self.frames if f.get("error")) > errors,
                 what=f"the server to apply the subscriptions {streams}")

    def find(self, event: str, pred: Callable[[Any], bool]) -> tuple[float, dict[str, Any]] | None:
        found = self._find(event, pred)
        if found is None and self.closed.is_set():  # waiting longer would not help: say why
            raise AssertionError(f"the socket closed ({self.conn.close_code} "
                                 f"{self.conn.close_reason!r}) before a matching {event}")
        return found

    def _find(self, event: str, pred: Callable[[Any], bool]) -> tuple[float, dict[str, Any]] | None:
        for at, frame in list(self.frames):
            if frame.get("event") == event:
                payload = frame.get("payload")
                value = payload if event == "delete" else json.loads(payload)
                if pred(value):
                    return at, frame
        return None


@contextmanager
def socket(base: str, token: str, how: str = "protocol", **query: str) -> Iterator[Socket]:
    url = base.replace("http://", "ws://") + "/api/v1/streaming"
    kwargs: dict[str, Any] = {}
    if how == "protocol":
        kwargs["subprotocols"] = [token]
    elif how == "header":
        kwargs["additional_headers"] = {"Authorization": f"Bearer {token}"}
    else:
        query["access_token"] = token
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    conn = connect(url, open_timeout=10, **kwargs)
    if how == "protocol":
        assert conn.subprotocol == token  # echoed, as browsers require
    s = Socket(conn)
    try:
        yield s
    finally:
        conn.close()


class Collector(StreamListener):  # type: ignore[misc]
    def __init__(self) -> None:
        self.updates: list[tuple[float, Any]] = []

    def on_update(self, status: Any) -> None:
        self.updates.append((time.monotonic(), status))


@pytest.fixture
def hub(make_hub: Callable[..., HubProcess]) -> HubProcess:
    h = make_hub("st")
    for name in ("alice", "bob", "carol"):
        h.add_user(name)
    h.start()
    return h


def follow(hub_base: str, follower: httpx.Client, followee: httpx.Client) -> None:
    target = followee.get("/api/v1/accounts/verify_credentials").json()["id"]
    me = follower.get("/api/v1/accounts/verify_credentials").json()["id"]
    rel = follower.post(f"/api/v1/accounts/{target}/follow").json()
    if not rel["following"]:
        assert followee.post(f"/api/v1/follow_requests/{me}/authorize").status_code == 200
    wait_for(lambda: follower.get("/api/v1/accounts/relationships",
                                  params={"id[]": target}).json()[0]["following"])


def test_followers_only_post_reaches_followers_streams_only(hub: HubProcess) -> None:
    (a_tok, _), (b_tok, b_app), (c_tok, _) = (login(hub, n) for n in ("alice", "bob", "carol"))
    alice, bob, carol = api(hub.base, a_tok), api(hub.base, b_tok), api(hub.base, c_tok)
    follow(hub.base, bob, alice)
    instance = httpx.get(f"{hub.base}/api/v2/instance").json()
    assert instance["configuration"]["urls"]["streaming"] == f"ws://{hub.domain}"

    mp = Mastodon(access_token=b_tok, api_base_url=hub.base)
    collector = Collector()
    handle = mp.stream_user(collector, run_async=True, reconnect_async=False)
    try:
        with socket(hub.base, b_tok) as bob_ws, \
                socket(hub.base, c_tok, how="header") as carol_ws, \
                socket(hub.base, a_tok, how="query", stream="user:notification") as alice_ws:
            bob_ws.subscribe("user", "direct")
            for sub in ({"type": "subscribe", "stream": "user"},
                        {"type": "subscribe", "stream": "public:local"},
                        {"type": "subscribe", "stream": "hashtag", "tag": "Marche"}):
                carol_ws.send(sub)
            carol_ws.send({"type": "subscribe", "stream": "nonsense"})
            wait_for(lambda: any(f.get("error") == "Unknown stream type"
                                 for _a, f in carol_ws.frames), what="subscription error")
            wait_for(lambda: handle.is_receiving(), what="Mastodon.py stream open")

            ws_latency, mp_latency, private_ids = [], [], []
            for i in range(3):
                posted = alice.post("/api/v1/statuses", data={
                    "status": f"pour mes abonnés {i}", "visibility": "private"}).json()
                t0 = time.monotonic()
                sid = posted["id"]
                private_ids.append(sid)
                at, frame = wait_for(lambda sid=sid: bob_ws.find(
                    "update", lambda s: s["id"] == sid), timeout=30, what="update on bob's socket")
                assert frame["stream"] == ["user"]
                ws_latency.append(at - t0)
                at2, status = wait_for(lambda sid=sid: next(
                    ((a, s) for a, s in collector.updates if s.id == sid), None),
                                       timeout=30, what="update on Mastodon.py's stream")
                assert status.visibility == "private" and status.favourited is False
                mp_latency.append(at2 - t0)
            assert statistics.median(ws_latency) < 1.0, ws_latency
            assert statistics.median(mp_latency) < 1.0, mp_latency

            # The marker: a later post carol may see. Once it is there, the followers-only
            # posts sent before it would have been too.
            marker = alice.post("/api/v1/statuses", data={
                "status": "ouvert à tous #marche", "visibility": "public"}).json()
            wait_for(lambda: carol_ws.find("update", lambda s: s["id"] == marker["id"]),
                     timeout=30, what="marker on carol's socket")
            streams = {tuple(f["stream"]) for _a, f in carol_ws.frames if f.get("event")}
            assert ("public:local",) in streams and ("hashtag", "marche") in streams
            seen = [json.loads(f["payload"])["id"] for _a, f in carol_ws.frames
                    if f.get("event") == "update"]
            assert not set(seen) & set(private_ids)

            # A notification (carol favourites alice's post) on user:notification.
            carol.post(f"/api/v1/statuses/{marker['id']}/favourite")
            _at, frame = wait_for(lambda: alice_ws.find(
                "notification", lambda n: n["type"] == "favourite"), timeout=30,
                what="notification")
            assert frame["stream"] == ["user:notification"]

            # An edit arrives as `status.update`; a direct message as `conversation`.
            alice.put(f"/api/v1/statuses/{private_ids[1]}", data={"status": "modifié"})
            wait_for(lambda: bob_ws.find("status.update", lambda s: s["id"] == private_ids[1]
                                         and "modifié" in s["content"]), timeout=30,
                     what="status.update on bob's socket")
            dm = alice.post("/api/v1/statuses", data={
                "status": "@bob rien que pour toi", "visibility": "direct"}).json()
            _at, frame = wait_for(lambda: bob_ws.find(
                "conversation", lambda c: c["last_status"]["id"] == dm["id"]), timeout=30,
                what="conversation on bob's socket")
            assert frame["stream"] == ["direct"]
            assert not carol_ws.find("update", lambda s: s["id"] == dm["id"])

            # A delete arrives as `delete` with the bare id.
            alice.delete(f"/api/v1/statuses/{private_ids[0]}")
            wait_for(lambda: bob_ws.find("delete", lambda i: i == private_ids[0]), timeout=30,
                     what="delete on bob's socket")
            assert not carol_ws.find("delete", lambda i: i == private_ids[0])

            # Revoking bob's token closes his socket.
            assert not bob_ws.closed.is_set()
            r = httpx.post(f"{hub.base}/oauth/revoke", data={
                "client_id": b_app["client_id"], "client_secret": b_app["client_secret"],
                "token": b_tok})
            assert r.status_code == 200
            wait_for(bob_ws.closed.is_set, timeout=10, what="bob's socket to close")
            assert not carol_ws.closed.is_set()

            # Suspending carol by a path no hook sees (plain SQL): the re-check closes it.
            engine = make_engine(hub.settings().database_url)
            try:
                with engine.begin() as conn:
                    conn.execute(text("UPDATE users SET disabled = :yes WHERE email = :email"),
                                 {"yes": True, "email": f"carol@{hub.host}.test"})
            finally:
                engine.dispose()
            wait_for(carol_ws.closed.is_set, timeout=10, what="carol's socket to close")
            assert not alice_ws.closed.is_set()
    finally:
        handle.close()


def test_bad_tokens_and_paths(hub: HubProcess) -> None:
    r = httpx.get(f"{hub.base}/api/v1/streaming/user",
                  headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and "error" in r.json()
    assert httpx.get(f"{hub.base}/api/v1/streaming/health").text == "OK"
    assert httpx.get(f"{hub.base}/api/v1/streaming/nowhere").json() == {
        "error": "Unknown channel requested"}
    assert httpx.get(f"{hub.base}/api/v1/streaming").status_code == 404
    with pytest.raises(Exception):  # noqa: B017 - the handshake is refused
        connect(hub.base.replace("http", "ws") + "/api/v1/streaming?access_token=nope",
                open_timeout=10)
    token, _ = login(hub, "alice")
    r = httpx.get(f"{hub.base}/api/v1/streaming/hashtag",
                  headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 400


@pytest.mark.postgres
def test_two_web_processes_on_postgresql(make_hub: Callable[..., HubProcess]) -> None:
    first = make_hub("pg1", backend="postgresql")
    for name in ("alice", "bob"):
        first.add_user(name)
    first.start()
    # A second web process: same configuration and database, another port.
    second = HubProcess(name="pg1b", host=first.host, port=free_port(first.host),
                        workdir=first.workdir / "second", database_url=first.database_url)
    second.workdir.mkdir()
    text = first.config_path.read_text().replace(f"port = {first.port}",
                                                 f"port = {second.port}")
    second.config_path.write_text(text)
    second.passwords = first.passwords
    try:
        second.start()  # waits on its own port; its domain is the first process's
        base2 = second.base
        (a_tok, _), (b_tok, _) = login(first, "alice"), login(first, "bob")
        alice, bob = api(first.base, a_tok), api(first.base, b_tok)
        follow(first.base, bob, alice)
        with socket(base2, b_tok, stream="user") as bob_ws:
            posted = alice.post("/api/v1/statuses", data={
                "status": "par l'autre processus", "visibility": "private"}).json()
            wait_for(lambda: bob_ws.find("update", lambda s: s["id"] == posted["id"]),
                     timeout=30, what="update through LISTEN/NOTIFY")
    finally:
        second.stop()

