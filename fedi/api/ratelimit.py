"""Rate limits: fixed windows counted in this process, with Mastodon's ``X-RateLimit-*``
headers. The API is limited per token (once a token has been seen to be valid) or else per
client address; login attempts per address and failed logins per account
(security-and-performance.md §5.4 #31).

Counters are kept per *class* of key (the text before the first ``:``: ``api-ip``,
``api-token``, ``login-ip``, ``login-account``…), each with its own bound, so a flood of
keys of one class (junk ``Authorization`` values, invented logins) can never push out the
counters of another: a locked account stays locked until its window ends. A full class
first drops the windows that are over, then the least used counters that are still under
their limit; counters at their limit are never dropped.

The client address is the socket's peer, which uvicorn rewrites from ``X-Forwarded-For``
only for the proxies listed in ``server.forwarded_allow_ips`` (none by default).

Why not the ``limits`` library: its in-memory storage has no bound per key class, runs a
timer thread that scans every key a hundred times a second, and reads the wall clock
itself; what is needed here is these hundred lines.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PERIOD = 300.0
MAX_KEYS_PER_CLASS = 50_000
MAX_KNOWN_TOKENS = 20_000


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


@dataclass
class _Counter:
    start: float
    count: int
    period: float
    limit: int


def key_class(key: str) -> str:
    return key.partition(":")[0]


class RateLimiter:
    """Counters per key in fixed windows of ``period`` seconds, bounded per key class."""

    def __init__(self, clock: Callable[[], float] = time.time,
                 max_keys: int = MAX_KEYS_PER_CLASS) -> None:
        self.clock = clock
        self.max_keys = max_keys
        self._classes: dict[str, dict[str, _Counter]] = {}
        self._known_tokens: OrderedDict[str, None] = OrderedDict()

    def _current(self, key: str, period: float) -> _Counter | None:
        counter = self._classes.get(key_class(key), {}).get(key)
        if counter is not None and self.clock() - counter.start >= period:
            return None
        return counter

    def hit(self, key: str, limit: int, period: float = PERIOD) -> Window:
        """Count one request; ``allowed`` is False past the limit."""
        now = self.clock()
        counters = self._classes.setdefault(key_class(key), {})
        counter = self._current(key, period)
        if counter is None:
            if key not in counters and len(counters) >= self.max_keys:
                self._make_room(counters)
                if len(counters) >= self.max_keys:
                    # Every counter here is at its limit: refuse rather than forget one.
                    return Window(limit, 0, now + period, False)
            counter = counters[key] = _Counter(now, 0, period, limit)
        counter.count += 1
        counter.limit = limit
        return Window(limit, limit - counter.count, counter.start + period,
                      counter.count <= limit)

    def peek(self, key: str, limit: int, period: float = PERIOD) -> Window:
        counter = self._current(key, period)
        if counter is None:
            return Window(limit, limit, self.clock() + period, True)
        return Window(limit, limit - counter.count, counter.start + period,
                      counter.count < limit)

    def release(self, key: str) -> None:
        """Give back one hit: a reserved attempt that turned out not to count."""
        counter = self._classes.get(key_class(key), {}).get(key)
        if counter is not None and counter.count > 0:
            counter.count -= 1

    def reset(self, key: str) -> None:
        self._classes.get(key_class(key), {}).pop(key, None)

    def size(self, cls: str) -> int:
        return len(self._classes.get(cls, {}))

    def _make_room(self, counters: dict[str, _Counter]) -> None:
        now = self.clock()
        for key in [k for k, c in counters.items() if now - c.start >= c.period]:
            del counters[key]
        if len(counters) < self.max_keys:
            return
        # Still full: drop the least used tenth among counters under their limit.
        under = sorted((c.count, k) for k, c in counters.items() if c.count < c.limit)
        for _count, key in under[: max(1, self.max_keys // 10)]:
            del counters[key]

    # --- tokens seen valid: only those get a key of their own --------------------------

    def knows_token(self, digest: str) -> bool:
        return digest in self._known_tokens

    def note_valid_token(self, digest: str, limit: int) -> None:
        """A request authenticated with this token: from now on it is counted per token.
        The request that proved it valid is counted there too."""
        if digest in self._known_tokens:
            self._known_tokens.move_to_end(digest)
            return
        self._known_tokens[digest] = None
        if len(self._known_tokens) > MAX_KNOWN_TOKENS:
            self._known_tokens.popitem(last=False)
        self.hit("api-token:" + digest, limit)


def limits(extra: Any) -> dict[str, int]:
    """``[api]`` settings: ``rate_limit`` (per token, 5 min), ``login_rate_limit_ip``,
    ``login_rate_limit_account`` (failures)."""
    section = extra.get("api", {}) if hasattr(extra, "get") else {}
    out = {"rate_limit": 300, "login_rate_limit_ip": 25, "login_rate_limit_account": 10}
    for key in out:
        value = section.get(key) if isinstance(section, dict) else None
        if isinstance(value, int) or (isinstance(value, str) and value.isascii()
                                      and value.isdigit()):
            out[key] = int(value)
    return out


def limiter_of(hub: Any) -> RateLimiter:
    limiter = hub.extras.get("rate_limiter")
    if limiter is None:
        limiter = hub.extras["rate_limiter"] = RateLimiter()
    return limiter


def client_address(scope: Scope) -> str:
    """The client's address as a rate-limit key: IPv6 clients by their /64, since one
    machine usually holds a whole /64."""
    client = scope.get("client")
    if not client:
        return "unknown"
    text = str(client[0])
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return text
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return str(addr.ipv4_mapped)
        return str(ipaddress.IPv6Network((addr, 64), strict=False))
    return text


def authorization_digest(value: bytes | str) -> str:
    raw = value.encode("latin-1") if isinstance(value, str) else value
    return hashlib.sha256(raw).hexdigest()[:24]


class ApiRateLimit:
    """Counts every ``/api/`` request per known-valid token, else per address; 429 past
    the limit. An ``Authorization`` value never seen valid is counted per address, so
    inventing values neither escapes the limit nor grows the counters."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/api/") or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        hub = scope["app"].state.hub
        limiter = limiter_of(hub)
        key = "api-ip:" + client_address(scope)
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                digest = authorization_digest(value)
                if limiter.knows_token(digest):
                    key = "api-token:" + digest
        window = limiter.hit(key, limits(hub.settings.extra)["rate_limit"])
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
