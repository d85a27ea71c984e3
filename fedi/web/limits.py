"""ASGI middleware: refuse bodies over the limit before reading them whole."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 1024 * 1024


class BodyTooLarge(Exception):
    pass


class BodySizeLimit:
    """413 when Content-Length says too much, or when the streamed body grows past it."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES,
                 upload_paths: tuple[str, ...] = (), upload_bytes: int = 0) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # File uploads (media, avatars) get their own, larger cap on these exact paths.
        self.upload_paths = frozenset(upload_paths)
        self.upload_bytes = max(upload_bytes, max_bytes)

    async def _reject(self, send: Send, limit: int) -> None:
        body = json.dumps({"error": f"request body over {limit} bytes"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = (self.upload_bytes if scope.get("path", "") in self.upload_paths
                 else self.max_bytes)
        for name, value in scope.get("headers", []):
            if name == b"content-length" and (not value.isdigit() or int(value) > limit):
                await self._reject(send, limit)
                return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._reject(send, limit)
