"""CORS for browser clients (Elk, Phanpy), as Mastodon's ``cors.rb`` does
(client-api.md §1.5): any origin, no credentials, ``Link`` and rate-limit headers exposed."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PREFIXES = ("/api/", "/oauth/token", "/oauth/revoke", "/oauth/userinfo", "/.well-known/",
            "/nodeinfo/")
METHODS = b"GET, POST, PUT, DELETE, PATCH, OPTIONS"
DEFAULT_HEADERS = b"Authorization, Content-Type, Idempotency-Key, Accept"
EXPOSE = b"Link, X-RateLimit-Reset, X-RateLimit-Limit, X-RateLimit-Remaining, X-Request-Id"


class ApiCors:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope.get("path", "").startswith(PREFIXES):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        if (scope["method"] == "OPTIONS" and b"origin" in headers
                and b"access-control-request-method" in headers):
            requested = headers.get(b"access-control-request-headers", b"")[:1000]
            await send({"type": "http.response.start", "status": 204, "headers": [
                (b"access-control-allow-origin", b"*"),
                (b"access-control-allow-methods", METHODS),
                (b"access-control-allow-headers", requested or DEFAULT_HEADERS),
                (b"access-control-max-age", b"86400"),
                (b"vary", b"Origin, Access-Control-Request-Headers"),
            ]})
            await send({"type": "http.response.body", "body": b""})
            return

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _v in message.get("headers", [])}
                extra = []
                if b"access-control-allow-origin" not in present:
                    extra.append((b"access-control-allow-origin", b"*"))
                extra.append((b"access-control-expose-headers", EXPOSE))
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_cors)
