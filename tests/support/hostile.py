"""A hostile remote for security tests, and the small helpers those tests share.

``HostileRemote`` is an in-process Starlette app served by uvicorn in a background thread,
on its own 127.0.x.y loopback address, with actors that have their own RSA keys. Each test
configures what it answers: actor documents (honest or forged), redirects, wrong content
types, trickled or huge bodies. It records every request it gets, so a test can assert
that something was *never* fetched (a JSON-LD context, a private address, a key refetch).
It acts too: it signs POSTs and GETs to a real hub with ``fedi.signatures.sign_request``,
and can break those signatures in the ways the security catalogue lists.

Nothing here waits blindly: servers and hubs are polled with a deadline (``wait_for``).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Self

import httpx
import pytest
import uvicorn
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from support.hubs import HubProcess, free_port, wait_for
from support.world import query

from fedi.keys import generate_private_key_pem, public_pem_from_private
from fedi.models import Actor, InboxItem, Notification, Status, TimelineEntry
from fedi.signatures import sign_request

AP_JSON = "application/activity+json"
AS = "https://www.w3.org/ns/activitystreams"
SECURITY = "https://w3id.org/security/v1"
ACCEPT_AP = f'{AP_JSON}, application/ld+json; profile="{AS}"'

# Hostile remotes live on 127.0.2.x, hubs made here on 127.0.3.x; the conftest's hubs use
# 127.0.0.x. Distinct hosts make "another host" a real difference in every origin check.
_remote_hosts = itertools.count(secrets.randbelow(200))
_hub_hosts = itertools.count(secrets.randbelow(200))

Handler = Callable[[Request], Awaitable[Response]]


def _remote_host() -> str:
    return f"127.0.2.{next(_remote_hosts) % 240 + 10}"


def now_utc() -> datetime:
    return datetime.now(UTC)


def new_token() -> str:
    return secrets.token_hex(6)


@dataclass(frozen=True)
class Seen:
    """One request the hostile remote received."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeActor:
    """An actor the hostile remote serves; its document is built on each request, so a key
    rotation or a forged field takes effect at once."""

    remote: HostileRemote
    name: str
    path: str
    type: str
    private_key_pem: str
    public_key_pem: str
    overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def uri(self) -> str:
        return f"{self.remote.base}{self.path}"

    @property
    def key_id(self) -> str:
        return f"{self.uri}#main-key"

    @property
    def inbox(self) -> str:
        return f"{self.uri}/inbox"

    @property
    def followers(self) -> str:
        return f"{self.uri}/followers"

    def rotate_key(self) -> str:
        """A new key pair under the same keyId; returns the old private key."""
        old = self.private_key_pem
        self.private_key_pem = generate_private_key_pem()
        self.public_key_pem = public_pem_from_private(self.private_key_pem)
        return old

    def doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "@context": [AS, SECURITY],
            "id": self.uri,
            "type": self.type,
            "preferredUsername": self.name,
            "name": self.name.title(),
            "inbox": self.inbox,
            "outbox": f"{self.uri}/outbox",
            "followers": self.followers,
            "following": f"{self.uri}/following",
            "manuallyApprovesFollowers": True,
            "endpoints": {"sharedInbox": f"{self.remote.base}/inbox"},
            "publicKey": {"id": self.key_id, "owner": self.uri,
                          "publicKeyPem": self.public_key_pem},
        }
        doc.update(self.overrides)
        return doc


class HostileRemote:
    """A remote server under the test's control, on a loopback address of its own."""

    def __init__(self, host: str | None = None) -> None:
        self.host = host or _remote_host()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((self.host, 0))
        self._sock.listen(256)
        self.port = int(self._sock.getsockname()[1])
        self._lock = threading.Lock()
        self._requests: list[Seen] = []
        self._routes: dict[str, Handler] = {}
        self.actors: dict[str, FakeActor] = {}
        self.sent_bytes: dict[str, int] = {}
        self._stopping = threading.Event()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._client = httpx.Client(timeout=30)

    # --- life -----------------------------------------------------------------------------

    @property
    def domain(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def base(self) -> str:
        return f"http://{self.domain}"

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def start(self) -> Self:
        app = Starlette(routes=[Route("/{path:path}", self._dispatch,
                                      methods=["GET", "POST", "HEAD"])])
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                                timeout_graceful_shutdown=2)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run,
                                        kwargs={"sockets": [self._sock]},
                                        name=f"hostile-{self.domain}", daemon=True)
        self._thread.start()
        wait_for(lambda: self._server is not None and self._server.started, timeout=10,
                 what=f"hostile remote {self.domain} to listen")
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=15)
            self._thread = None
        self._client.close()
        self._sock.close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what it serves -------------------------------------------------------------------

    def add_actor(self, name: str, *, type: str = "Person", path: str | None = None,
                  private_key_pem: str | None = None) -> FakeActor:
        pem = private_key_pem or generate_private_key_pem()
        actor = FakeActor(self, name, path or f"/users/{name}", type, pem,
                          public_pem_from_private(pem))
        self.actors[actor.path] = actor
        return actor

    def route(self, path: str, handler: Handler) -> None:
        """Answer ``path`` (no query) with ``handler``, replacing anything served there."""
        self._routes[path] = handler

    def serve_json(self, path: str, doc: Any, *, content_type: str = AP_JSON,
                   status: int = 200) -> None:
        body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()

        async def handler(_request: Request) -> Response:
            return Response(body, status_code=status, media_type=content_type)

        self.route(path, handler)

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        async def handler(_request: Request) -> Response:
            return Response(status_code=status, headers={"Location": location})

        self.route(path, handler)

    def trickle(self, path: str, *, interval: float = 0.2, content_type: str = AP_JSON) -> None:
        """A 200 whose body comes one byte per ``interval`` seconds, until the client leaves
        or the remote stops (the slow-loris response of CVE-2023-36461)."""

        async def handler(request: Request) -> Response:
            async def body() -> Any:
                yield b"{"
                while not self._stopping.is_set() and not await request.is_disconnected():
                    await asyncio.sleep(interval)  # the attack itself, not synchronisation
                    self._count_sent(path, 1)
                    yield b" "

            return StreamingResponse(body(), media_type=content_type)

        self.route(path, handler)

    def stall(self, path: str) -> threading.Event:
        """Accept requests and send no status line until the returned event is set (or the
        remote stops); then answer 503."""
        release = threading.Event()

        async def handler(_request: Request) -> Response:
            while not (release.is_set() or self._stopping.is_set()):
                await asyncio.sleep(0.05)  # the attack itself, not synchronisation
            return Response(status_code=503)

        self.route(path, handler)
        return release

    def huge(self, path: str, size: int, *, declare_length: bool,
             content_type: str = AP_JSON) -> None:
        """``size`` bytes of JSON-looking padding, with or without a Content-Length."""
        chunk = b" " * 65536

        async def handler(request: Request) -> Response:
            async def body() -> Any:
                sent = 0
                yield b"["
                # Stop producing once the client has gone: sent_bytes is then what was
                # written before it hung up (plus what the socket buffers held).
                while (sent < size and not self._stopping.is_set()
                       and not await request.is_disconnected()):
                    piece = chunk[: min(len(chunk), size - sent)]
                    sent += len(piece)
                    self._count_sent(path, len(piece))
                    yield piece

            headers = {"Content-Length": str(size + 1)} if declare_length else None
            return StreamingResponse(body(), media_type=content_type, headers=headers)

        self.route(path, handler)

    def _count_sent(self, path: str, n: int) -> None:
        with self._lock:
            self.sent_bytes[path] = self.sent_bytes.get(path, 0) + n

    async def _dispatch(self, request: Request) -> Response:
        body = await request.body()
        path = request.url.path
        with self._lock:
            self._requests.append(Seen(request.method, path, request.url.query,
                                       {k.lower(): v for k, v in request.headers.items()},
                                       body))
        handler = self._routes.get(path)
        if handler is not None:
            return await handler(request)
        if request.method == "POST" and (path == "/inbox" or path.endswith("/inbox")):
            return Response(status_code=202)
        actor = self.actors.get(path)
        if actor is not None and request.method == "GET":
            return JSONResponse(actor.doc(), media_type=AP_JSON)
        if path == "/.well-known/webfinger":
            return self._webfinger(request)
        return JSONResponse({"error": "not found"}, status_code=404)

    def _webfinger(self, request: Request) -> Response:
        resource = request.query_params.get("resource", "")
        name = resource.removeprefix("acct:").split("@", 1)[0]
        actor = self.actors.get(f"/users/{name}")
        if actor is None:
            return JSONResponse({"error": "not found"}, status_code=404)
        return JSONResponse({"subject": resource, "links": [
            {"rel": "self", "type": AP_JSON, "href": actor.uri}]},
            media_type="application/jrd+json")

    # --- what it saw ----------------------------------------------------------------------

    def seen(self, path: str | None = None, method: str | None = None) -> list[Seen]:
        with self._lock:
            return [r for r in self._requests
                    if (path is None or r.path == path) and (method is None or r.method == method)]

    def count(self, path: str | None = None, method: str | None = None) -> int:
        return len(self.seen(path, method))

    def deliveries(self, type_: str | None = None) -> list[dict[str, Any]]:
        """Activities the hub POSTed here, parsed."""
        out = []
        for r in self.seen(method="POST"):
            try:
                doc = json.loads(r.body)
            except ValueError:
                continue
            if isinstance(doc, dict) and (type_ is None or doc.get("type") == type_):
                out.append(doc)
        return out

    # --- acting on a hub ------------------------------------------------------------------

    def sign(self, method: str, url: str, actor: FakeActor, body: bytes | None = None, *,
             now: datetime | None = None, key_id: str | None = None,
             private_key_pem: str | None = None, signed_headers: Sequence[str] | None = None,
             headers: dict[str, str] | None = None) -> dict[str, str]:
        """Headers for a request signed as ``actor`` (or with an overridden key and keyId)."""
        base = dict(headers or {})
        if method.upper() == "POST":
            base.setdefault("Content-Type", AP_JSON)
        else:
            base.setdefault("Accept", ACCEPT_AP)
        return sign_request(method, url, headers=base, body=body,
                            private_key_pem=private_key_pem or actor.private_key_pem,
                            key_id=key_id or actor.key_id, now=now or now_utc(),
                            signed_headers=signed_headers)

    def post(self, url: str, doc: Any, actor: FakeActor, **sign_args: Any) -> httpx.Response:
        """POST ``doc`` (a dict, or bytes sent as they are) signed as ``actor``."""
        body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
        return self._client.post(url, content=body,
                                 headers=self.sign("POST", url, actor, body, **sign_args))

    def send(self, method: str, url: str, headers: dict[str, str],
             body: bytes = b"") -> httpx.Response:
        """A request exactly as given (for tampered or replayed signatures)."""
        return self._client.request(method, url, headers=headers, content=body)

    def get(self, url: str, actor: FakeActor | None, **sign_args: Any) -> httpx.Response:
        """A GET of ``url``, signed as ``actor`` (unsigned when None)."""
        headers = (self.sign("GET", url, actor, **sign_args) if actor is not None
                   else {"Accept": ACCEPT_AP})
        return self._client.get(url, headers=headers)


# --- activities -----------------------------------------------------------------------------


def create_note(actor: FakeActor, *, to: Iterable[str], cc: Iterable[str] = (),
                content: str = "<p>hello</p>", in_reply_to: str | None = None,
                mentions: Iterable[str] = (), object_id: str | None = None,
                attributed_to: str | None = None,
                context: Any = AS) -> dict[str, Any]:
    """A Create(Note) by ``actor`` with fresh ids (the same to/cc on activity and object)."""
    token = new_token()
    obj: dict[str, Any] = {
        "id": object_id or f"{actor.uri}/statuses/{token}",
        "type": "Note",
        "attributedTo": attributed_to or actor.uri,
        "content": content,
        "to": list(to),
        "cc": list(cc),
        "inReplyTo": in_reply_to,
        "tag": [{"type": "Mention", "href": m} for m in mentions],
        "published": now_utc().strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return {"@context": context, "id": f"{obj['id']}/activity", "type": "Create",
            "actor": actor.uri, "to": obj["to"], "cc": obj["cc"], "object": obj}


def activity(actor: FakeActor, type_: str, obj: Any, *, to: Iterable[str] = (),
             cc: Iterable[str] = ()) -> dict[str, Any]:
    return {"@context": AS, "id": f"{actor.uri}/activities/{new_token()}", "type": type_,
            "actor": actor.uri, "object": obj, "to": list(to), "cc": list(cc)}


# --- a hub for one test module ----------------------------------------------------------------


def start_hub(workdir: Path, name: str, *, database_url: str | None = None,
              users: Iterable[str] = (), allow: Iterable[str] = (),
              extra_config: str = "", federation: str = "",
              allowed: Iterable[str] = ()) -> HubProcess:
    """A real ``voisins serve`` on a loopback address of its own: configured, migrated, with
    members, listing ``allow`` as neighbours, started.

    The neighbours go in the config file (``[federation] neighbours``), which the hub
    treats like ``voisins neighbours add``; it saves a CLI run per domain and per module.
    """
    host = f"127.0.3.{next(_hub_hosts) % 240 + 10}"
    workdir.mkdir(parents=True, exist_ok=True)
    hub = HubProcess(name=name, host=host, port=free_port(host), workdir=workdir,
                     database_url=database_url or f"sqlite:///{workdir / (name + '.db')}",
                     extra_config=extra_config)
    hub.write_config()
    text = hub.config_path.read_text(encoding="utf-8")
    listed = ", ".join(json.dumps(d) for d in allow)
    assert "neighbours = []" in text
    # ``federation``: more lines for the [federation] table; ``extra_config``: more tables.
    text = text.replace("allowed = []",  # allowed servers: not linked hubs
                        f"allowed = [{', '.join(json.dumps(d) for d in allowed)}]", 1)
    hub.config_path.write_text(text.replace("neighbours = []", f"neighbours = [{listed}]\n"
                                            f"{federation}", 1), encoding="utf-8")
    assert set(hub.settings().neighbours) == set(allow)
    hub.migrate()
    for user in users:
        hub.add_user(user)
    hub.start()
    return hub


@contextmanager
def hostile_world(workdir: Path, name: str, *, remotes: int = 1, users: Sequence[str] = ("alice",),
                  database_url: str | None = None,
                  extra_config: str = "") -> Iterator[SimpleNamespace]:
    """A started hub listing ``remotes`` hostile remotes as neighbours (``evil``, then
    ``other``), with its shared inbox and each member's actor URI; all stopped after.
    ``extra_config``: more tables for its voisins.toml."""
    with ExitStack() as stack:
        evils = [stack.enter_context(HostileRemote()) for _ in range(remotes)]
        hub = start_hub(workdir, name, database_url=database_url, users=users,
                        allow=[e.domain for e in evils], extra_config=extra_config)
        stack.callback(hub.stop)
        world = SimpleNamespace(hub=hub, evil=evils[0], inbox=f"{hub.base}/inbox",
                                **{u: member_uri(hub, u) for u in users})
        if remotes > 1:
            world.other = evils[1]
        yield world


def pg_database_url(request: pytest.FixtureRequest, name: str) -> str:
    """A fresh database on the session's PostgreSQL server (skips when there is none)."""
    server = request.getfixturevalue("pg_server")
    return str(server.create_database(f"t_{name}_{new_token()}"))


# --- what the hub stored ----------------------------------------------------------------------


def member_uri(hub: HubProcess, username: str) -> str:
    return f"{hub.base}/users/{username}"


def inbox_item(hub: HubProcess, activity_id: str) -> InboxItem | None:
    return query(hub, lambda s: s.scalar(select(InboxItem)
                                         .where(InboxItem.activity_uri == activity_id)))


def wait_processed(hub: HubProcess, activity_id: str, timeout: float = 15.0) -> InboxItem:
    """The stored activity once the worker is done with it (fails if it failed)."""
    item = wait_for(lambda: (i := inbox_item(hub, activity_id)) is not None
                    and i.state != "pending" and i, timeout=timeout,
                    what=f"{activity_id} to be processed")
    assert item.state == "done", f"{activity_id}: {item.state} ({item.last_error})"
    return item


def status_by_uri(hub: HubProcess, uri: str) -> Status | None:
    return query(hub, lambda s: s.scalar(select(Status).where(Status.uri == uri)))


def actor_by_uri(hub: HubProcess, uri: str) -> Actor | None:
    return query(hub, lambda s: s.scalar(select(Actor).where(Actor.uri == uri)))


def timeline_of(hub: HubProcess, username: str) -> list[str]:
    """Status URIs in a member's home timeline."""

    def q(s: Any) -> list[str]:
        owner = s.scalar(select(Actor.id).where(Actor.uri == member_uri(hub, username)))
        return list(s.scalars(select(Status.uri).join(
            TimelineEntry, TimelineEntry.status_id == Status.id)
            .where(TimelineEntry.owner_id == owner)))

    return query(hub, q)


def notifications_of(hub: HubProcess, username: str) -> list[tuple[str, int | None]]:
    """(type, status id) of a member's notifications."""

    def q(s: Any) -> list[tuple[str, int | None]]:
        owner = s.scalar(select(Actor.id).where(Actor.uri == member_uri(hub, username)))
        return [(n.type, n.status_id) for n in s.scalars(
            select(Notification).where(Notification.owner_id == owner))]

    return query(hub, q)


def elapsed(start: float) -> float:
    return time.monotonic() - start


# --- relationships between members and hostile actors -----------------------------------------


def store_remote_actor(hub: HubProcess, fake: FakeActor) -> None:
    """Make the hub fetch and store ``fake`` (``voisins lookup``), as a member would."""
    if actor_by_uri(hub, fake.uri) is None:
        hub.cli("lookup", fake.uri)


def remote_follows_member(hub: HubProcess, fake: FakeActor, username: str) -> None:
    """``fake`` sends a signed Follow to the member, who accepts it (the hub's own service,
    which sends the Accept back)."""
    from support.world import actor, hub_session

    from fedi.services.relationships import accept_follow

    member = member_uri(hub, username)
    doc = activity(fake, "Follow", member, to=[member])
    response = fake.remote.post(f"{member}/inbox", doc, fake)
    assert response.status_code == 202, response.text
    wait_processed(hub, doc["id"])
    with hub_session(hub) as (s, ctx):
        accept_follow(s, ctx, actor(s, member), actor(s, fake.uri))


def member_follows_remote(hub: HubProcess, username: str, fake: FakeActor) -> None:
    """The member follows ``fake`` (the hub sends a Follow); ``fake`` answers with a signed
    Accept, and the follow is accepted on the hub."""
    from support.world import actor, hub_session

    from fedi.models import Follow
    from fedi.services.relationships import follow

    store_remote_actor(hub, fake)
    member = member_uri(hub, username)
    with hub_session(hub) as (s, ctx):
        follow_uri = follow(s, ctx, actor(s, member), actor(s, fake.uri)).uri
    accept = activity(fake, "Accept", {"id": follow_uri, "type": "Follow", "actor": member,
                                       "object": fake.uri}, to=[member])
    response = fake.remote.post(f"{hub.base}/inbox", accept, fake)
    assert response.status_code == 202, response.text
    wait_processed(hub, accept["id"])
    assert query(hub, lambda s: s.scalar(select(Follow.state).where(
        Follow.uri == follow_uri))) == "accepted"


def can_member_see(hub: HubProcess, username: str, status_uri: str) -> bool:
    """The hub's own visibility rule, for one member and one status."""
    from support.world import actor, hub_session

    from fedi.services.visibility import can_see

    with hub_session(hub) as (s, ctx):
        status = s.scalar(select(Status).where(Status.uri == status_uri))
        assert status is not None, f"{status_uri} is not stored"
        return can_see(s, actor(s, member_uri(hub, username)), status,
                       is_linked=ctx.is_allowed)
