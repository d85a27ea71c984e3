"""Every unsafe route of the member site refuses a form without its CSRF token (403 page),
even from a logged-in browser, and changes nothing."""

from __future__ import annotations

import re
from collections.abc import Callable

from site_http import csrf_of
from starlette.routing import Mount, Route
from starlette.testclient import TestClient
from support.hubs import HubProcess

from fedi.app import create_app
from fedi.site.routes import routes
from fedi.web.csrf import CsrfGuard


def test_every_site_route_is_guarded() -> None:
    for route in routes:
        assert isinstance(route, Route | Mount) and isinstance(route.app, CsrfGuard), route


def test_every_unsafe_route_refuses_a_form_without_token(
        make_hub: Callable[..., HubProcess]) -> None:
    hub = make_hub("guard")
    hub.add_user("alice")
    client = TestClient(create_app(hub.settings()), base_url=hub.base)
    page = client.get("/login")
    logged = client.post("/login", data={"login": "alice", "password": hub.passwords["alice"],
                                         "csrf_token": csrf_of(page)}, follow_redirects=False)
    assert logged.status_code == 303
    unsafe = [r for r in routes if isinstance(r, Route) and r.methods
              and r.methods & {"POST", "PUT", "PATCH", "DELETE"}]
    assert len(unsafe) >= 5
    for route in unsafe:
        path = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: "alice" if "name" in m.group(1) else "1",
                      route.path)
        for method in sorted(route.methods & {"POST", "PUT", "PATCH", "DELETE"}):
            answer = client.request(method, path, data={"text": "x", "status": "x"},
                                    follow_redirects=False)
            assert answer.status_code == 403, (method, path, answer.status_code)
            assert answer.headers["content-type"].startswith("text/html")
    assert client.get("/settings").status_code == 200  # still logged in: nothing was undone
