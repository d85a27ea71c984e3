"""Which optional features the running app provides, read from its router: the registry is
the routes themselves. A feature is present when the request apps make for it reaches a real
handler (not a stub marked with ``stub``). The instance answers advertise only those, so a
branch that adds streaming or media upload makes them appear by adding its routes, and
nothing is advertised that fails.

Probes: ``streaming`` is a WebSocket at ``/api/v1/streaming`` (or Mastodon's server-sent
events at ``/api/v1/streaming/user``); ``media`` is ``POST /api/v2/media``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from starlette.routing import BaseRoute, Match

F = TypeVar("F", bound=Callable[..., Any])

PROBES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "streaming": (("websocket", "/api/v1/streaming", "GET"),
                  ("http", "/api/v1/streaming/user", "GET")),
    "media": (("http", "/api/v2/media", "POST"),),
}


def stub(fn: F) -> F:
    """Mark a handler as a placeholder answer (404/422): its route provides no feature.
    ``functools.wraps`` copies the mark onto the API wrapper."""
    fn.voisins_stub = True  # type: ignore[attr-defined]
    return fn


def _scope(kind: str, path: str, method: str) -> dict[str, Any]:
    scope: dict[str, Any] = {"type": kind, "path": path, "root_path": "", "headers": [],
                             "query_string": b""}
    if kind == "http":
        scope["method"] = method
    return scope


def _handler(routes: Iterable[BaseRoute], scope: dict[str, Any]) -> Any:
    """The endpoint Starlette would run for ``scope`` (first full match), or None."""
    for route in routes:
        match, _child = route.matches(scope)
        if match == Match.FULL:
            return getattr(route, "endpoint", None) or getattr(route, "app", None) or route
    return None


def provided(app: Any) -> frozenset[str]:
    """The optional features this app's routes provide."""
    routes = list(getattr(app, "routes", ()))
    found = set()
    for feature, probes in PROBES.items():
        for kind, path, method in probes:
            handler = _handler(routes, _scope(kind, path, method))
            if handler is not None and not getattr(handler, "voisins_stub", False):
                found.add(feature)
                break
    return frozenset(found)
