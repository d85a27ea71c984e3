"""A crash on an HTML route shows the 500 page in the reader's language, no trace; on the
API it stays JSON."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient
from support.hubs import HubProcess

from fedi.app import create_app
from fedi.web.csrf import guard_routes


async def boom(request: Request) -> Response:
    raise RuntimeError("secret detail")


def test_server_error_pages(make_hub: Callable[..., HubProcess]) -> None:
    hub = make_hub("crash")
    app = create_app(hub.settings())
    app.router.routes[:0] = [*guard_routes([Route("/boom", boom)]), Route("/api/v1/boom", boom)]
    client = TestClient(app, raise_server_exceptions=False)
    french = client.get("/boom")
    assert french.status_code == 500 and "Un problème est survenu" in french.text
    assert "secret detail" not in french.text and 'lang="fr"' in french.text
    english = client.get("/boom", headers={"Accept-Language": "en"})
    assert "Something went wrong" in english.text
    api = client.get("/api/v1/boom", headers={"Accept": "text/html"})
    assert api.status_code == 500 and api.json() == {"error": "internal error"}
