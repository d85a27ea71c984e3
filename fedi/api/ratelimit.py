"""Rate limits: fixed windows counted in this process, with Mastodon's ``X-RateLimit-*``
headers. The API is limited per token (or per address without one); login attempts per
address and failed logins per account (security-and-performance.md §5.4 #31).

``X-Forwarded-For`` is never read: behind a proxy every client shares its address, which
errs on the safe side.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PERIOD = 300.0


@dataclass(frozen=True)
class Window:
    limit: int
    remaining: int
    reset_at: float
    allowed: bool

    def headers(self) -> dict[str, str]:
        reset = datetime.fromtimestamp(self.reset_at, tz=UTC)
        return {"X-RateLimit-Limit": str(self.limit),
                "X-RateLimit-Remaining": str(max(0, self.remaining)),
                "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%M:%S.")
                + f"{reset.microsecond // 1000:03d}Z"}


class RateLimiter:
    """Counters per key in fixed windows of ``period`` seconds."""

    def __init__(self, clock: Callable[[], float] = time.time, max_keys: int = 50_000) -> None:
        self.clock = clock
        self.max_keys = max_keys
        self._counts: dict[str, tuple[float, int]] = {}

    def _window(self, key: str, period: float) -> tuple[float, int]:
        now = self.clock()
        start, count = self._counts.get(key, (now, 0))
        if now - start >= period:
            start, count = now, 0
        return start, count

    def hit(self, key: str, limit: int, period: float = PERIOD) -> Window:
        start, count = self._window(key, period)
        count += 1
        if len(self._counts) >= self.max_keys and key not in self._counts:
            self._prune(period)
        self._counts[key] = (start, count)
        return Window(limit, limit - count, start + period, count <= limit)

    def peek(self, key: str, limit: int, period: float = PERIOD) -> Window:
        start, count = self._window(key, period)
        return Window(limit, limit - count, start + period, count < limit)

    def reset(self, key: str) -> None:
        self._counts.pop(key, None)

    def _prune(self, period: float) -> None:
        now = self.clock()
        for key in [k for k, (s, _c) in self._counts.items() if now - s >= period]:
            del self._counts[key]
        if len(self._counts) >= self.max_keys:
            self._counts.clear()


def limits(extra: Any) -> dict[str, int]:
    """``[api]`` settings: ``rate_limit`` (per token, 5 min), ``login_rate_limit_ip``,
    ``login_rate_limit_account`` (failures)."""
    section = extra.get("api", {}) if hasattr(extra, "get") else {}
    out = {"rate_limit": 300, "login_rate_limit_ip": 25, "login_rate_limit_account": 10}
    for key in out:
        value = section.get(key) if isinstance(section, dict) else None
        if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
            out[key] = int(value)
    return out


def limiter_of(hub: Any) -> RateLimiter:
    limiter = hub.extras.get("rate_limiter")
    if limiter is None:
        limiter = hub.extras["rate_limiter"] = RateLimiter()
    return limiter


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class ApiRateLimit:
    """Counts every ``/api/`` request per token or address; 429 past the limit."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/api/") or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        hub = scope["app"].state.hub
        key = "api:" + client_address(scope)
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                key = "api:" + hashlib.sha256(value).hexdigest()[:24]
        window = limiter_of(hub).hit(key, limits(hub.settings.extra)["rate_limit"])
        headers = [(k.lower().encode(), v.encode()) for k, v in window.headers().items()]
        if not window.allowed:
            body = json.dumps({"error": "Too many requests"}).encode()
            await send({"type": "http.response.start", "status": 429,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode()), *headers]})
            await send({"type": "http.response.body", "body": body})
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *headers]}
            await send(message)

        await self.app(scope, receive, with_headers)
