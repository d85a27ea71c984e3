"""``/api/v1/streaming``: the WebSocket (subscribe/unsubscribe, several streams on one
socket) and the server-sent-events endpoints, one stream each (client-api.md §4)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from fedi.api.auth import Caller, authenticate
from fedi.streaming.dispatch import Streaming
from fedi.streaming.listener import STREAMS, Listener, Subscription
from fedi.web.state import hub_of

HEARTBEAT_SECONDS = 15.0
NO_STORE = {"Cache-Control": "private, no-store", "X-Accel-Buffering": "no"}
READ_SCOPES = ("read", "read:statuses")
NOTIFICATION_SCOPES = ("read", "read:notifications")


class StreamError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def token_of(conn: HTTPConnection) -> tuple[str | None, str | None]:
    """The token, and the offered ``Sec-WebSocket-Protocol`` to echo (browsers abort a
    handshake whose answer does not name one of the protocols they offered)."""
    offered = conn.headers.get("sec-websocket-protocol", "").split(",")[0].strip() or None
    scheme, _, value = conn.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip(), offered
    if offered:
        return offered, offered
    return conn.query_params.get("access_token") or None, None


def caller_of(conn: HTTPConnection) -> tuple[Caller, str | None]:
    token, protocol = token_of(conn)
    if token is None:
        raise StreamError(401, "Missing access token")
    hub = hub_of(conn)
    with hub.read_sessions() as session:
        caller = authenticate(session, token)
    if caller is None or caller.actor is None:
        raise StreamError(401, "Invalid access token")
    if not any(s in caller.scopes for s in READ_SCOPES + NOTIFICATION_SCOPES):
        raise StreamError(401, "Access token does not have the required scopes")
    return caller, protocol


def subscription(caller: Caller, name: str | None, tag: str | None,
                 list_id: str | None) -> Subscription:
    """A checked subscription; ``StreamError`` for an unknown stream or a missing param."""
    if name not in STREAMS:
        raise StreamError(400, "Unknown stream type")
    scopes = NOTIFICATION_SCOPES if name == "user:notification" else READ_SCOPES
    if not any(s in caller.scopes for s in scopes):
        raise StreamError(401, "Access token does not have the required scopes")
    if name.startswith("hashtag"):
        tag = (tag or "").strip().lstrip("#")
        if not tag or len(tag) > 128:
            raise StreamError(400, "No tag for stream provided")
        return name, tag.lower()
    if name == "list":
        # No lists on this hub yet (GET /api/v1/lists/:id answers 404): none is the caller's.
        raise StreamError(404, "Not authorized to stream this list")
    return name, None


def streaming_of(conn: HTTPConnection) -> Streaming:
    streaming: Streaming | None = hub_of(conn).extras.get("streaming")
    if streaming is None:
        raise StreamError(503, "Streaming is not running")
    return streaming


# -- server-sent events -----------------------------------------------------------------

SSE_PATHS = {
    "/api/v1/streaming/user": "user", "/api/v1/streaming/user/notification": "user:notification",
    "/api/v1/streaming/public": "public", "/api/v1/streaming/public/local": "public:local",
    "/api/v1/streaming/public/remote": "public:remote", "/api/v1/streaming/direct": "direct",
    "/api/v1/streaming/hashtag": "hashtag", "/api/v1/streaming/hashtag/local": "hashtag:local",
    "/api/v1/streaming/list": "list",
}


def _error(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status_code=status, headers=NO_STORE)


async def sse(request: Request) -> Response:
    name = SSE_PATHS.get(request.url.path.rstrip("/"))
    if name is None:
        return _error(400, "Unknown channel requested")
    q = request.query_params
    if name.startswith("public") and q.get("only_media") in ("1", "true"):
        name += ":media"
    try:
        caller, _ = caller_of(request)
        sub = subscription(caller, name, q.get("tag"), q.get("list"))
        streaming = streaming_of(request)
    except StreamError as exc:
        return _error(exc.status, exc.message)
    assert caller.actor is not None
    listener = Listener(actor_id=caller.actor.id, token_id=caller.token_id)
    listener.subscriptions.add(sub)
    streaming.registry.add(listener)

    async def body() -> AsyncIterator[str]:
        try:
            yield ":)\n\n"
            while not listener.closed.is_set():
                frame = await listener.next_frame(HEARTBEAT_SECONDS)
                yield ":thump\n\n" if frame is None else frame.sse_text()
        finally:
            streaming.registry.remove(listener)

    return StreamingResponse(body(), media_type="text/event-stream", headers=NO_STORE)


# -- WebSocket --------------------------------------------------------------------------

async def websocket(ws: WebSocket) -> None:
    try:
        caller, protocol = caller_of(ws)
        streaming = streaming_of(ws)
    except StreamError:
        await ws.close(code=1008)  # before accept: the handshake is refused
        return
    assert caller.actor is not None
    await ws.accept(subprotocol=protocol)
    listener = Listener(actor_id=caller.actor.id, token_id=caller.token_id)
    q = ws.query_params
    if q.get("stream"):
        await _apply(ws, caller, listener, {"type": "subscribe", "stream": q.get("stream"),
                                            "tag": q.get("tag"), "list": q.get("list")})
    streaming.registry.add(listener)
    reader = asyncio.create_task(_read(ws, caller, listener))
    try:
        while not listener.closed.is_set() and not reader.done():
            frame = await listener.next_frame(HEARTBEAT_SECONDS)
            if frame is not None:
                await ws.send_text(frame.websocket_text())
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
    finally:
        streaming.registry.remove(listener)
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader
        code = 1000 if listener.closed_reason in (None, "shutdown", "disconnected") else 1008
        with contextlib.suppress(Exception):
            await ws.close(code=code)


async def _read(ws: WebSocket, caller: Caller, listener: Listener) -> None:
    try:
        while True:
            text = await ws.receive_text()
            try:
                message = json.loads(text)
            except ValueError:
                await ws.send_text(json.dumps({"error": "Invalid JSON", "status": 400}))
                continue
            if isinstance(message, dict):
                await _apply(ws, caller, listener, message)
    except (WebSocketDisconnect, RuntimeError, KeyError):
        listener.close("disconnected")


async def _apply(ws: WebSocket, caller: Caller, listener: Listener,
                 message: dict[str, Any]) -> None:
    kind = message.get("type")
    if kind not in ("subscribe", "unsubscribe"):
        return  # Mastodon ignores other messages
    name = message.get("stream")
    tag = message.get("tag")
    list_id = message.get("list")
    try:
        sub = subscription(caller, name if isinstance(name, str) else None,
                           str(tag) if tag is not None else None,
                           str(list_id) if list_id is not None else None)
    except StreamError as exc:
        await ws.send_text(json.dumps({"error": exc.message, "status": exc.status}))
        return
    if kind == "subscribe":
        listener.subscriptions.add(sub)
    else:
        listener.subscriptions.discard(sub)


async def health(request: Request) -> Response:
    return PlainTextResponse("OK")


async def plain_get(request: Request) -> Response:
    """Mastodon's API host answers 404 here when streaming is on the same host."""
    return _error(404, "Streaming is on this host: open a WebSocket here, or use "
                       "/api/v1/streaming/user (server-sent events)")


routes = [
    Route("/api/v1/streaming/health", health),
    WebSocketRoute("/api/v1/streaming", websocket),
    WebSocketRoute("/api/v1/streaming/", websocket),
    Route("/api/v1/streaming", plain_get),
    *[Route(path, sse) for path in SSE_PATHS],
    Route("/api/v1/streaming/{rest:path}", sse),  # 400 Unknown channel requested
]
