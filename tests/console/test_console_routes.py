"""Every console route has the CSRF guard and a role requirement, and the roles hold on
the server: found by walking the route table (a new route without them fails here)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from console_world import logged_in
from site_http import csrf_of
from starlette.routing import Route
from support.hubs import HubProcess

from fedi.config import load_settings, render_config
from fedi.console.access import ADMIN, ROLES_ATTRIBUTE, STAFF
from fedi.console.routes import routes as console_routes
from fedi.web.csrf import CsrfGuard

ROOT = Path(__file__).resolve().parents[2]


def console_table() -> list[Route]:
    return [r for r in console_routes if isinstance(r, Route)]


def test_every_console_route_has_the_csrf_guard_and_a_role(tmp_path: Path) -> None:
    from fedi.app import create_app

    text = render_config(domain="onze.test", name="Onze", scheme="https", territory=["75011"],
                         database_url=f"sqlite:///{tmp_path / 'hub.db'}")
    (tmp_path / "voisins.toml").write_text(text, encoding="utf-8")
    app = create_app(load_settings(str(tmp_path / "voisins.toml"), env={}))
    served = [r for r in app.routes if isinstance(r, Route) and r.path.startswith("/console")]
    assert len(served) == len(console_routes) >= 10
    for route in served:
        assert isinstance(route.app, CsrfGuard), route.path
        roles = getattr(route.endpoint, ROLES_ATTRIBUTE, None)
        assert roles in (STAFF, ADMIN), (route.path, roles)
    for route in console_table():
        assert route.path.startswith("/console"), route.path


def fill(path: str) -> str:
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: "1" if m.group(1) == "id" else "alice", path)


@pytest.fixture
def hub(make_hub: Callable[..., HubProcess]) -> Iterator[HubProcess]:
    hub = make_hub("roles")
    hub.add_user("claire", role="admin")
    hub.add_user("manon", role="moderator")
    hub.add_user("alice")
    hub.start()
    yield hub


def attempts(client: httpx.Client, token: str) -> Iterator[tuple[str, str, httpx.Response]]:
    for route in console_table():
        for method in sorted(route.methods or ()):
            if method == "HEAD":
                continue
            path = fill(route.path)
            if method == "GET":
                yield method, route.path, client.get(path)
            else:
                yield method, route.path, client.post(path, data={
                    "csrf_token": token, "role": "member", "reason": "x"})


def test_roles_are_enforced_on_every_route(hub: HubProcess) -> None:
    with httpx.Client(base_url=hub.base) as anonymous:
        for method, path, answer in attempts(anonymous, "x"):
            assert answer.status_code in (303, 403), (method, path, answer.status_code)
            if method == "GET":
                assert answer.headers["location"].startswith("/login?next="), path
    with logged_in(hub, "alice") as member:
        token = csrf_of(member.get("/settings"))
        for method, path, answer in attempts(member, token):
            assert answer.status_code == 403, (method, path, answer.status_code)
            assert "<html" in answer.text  # the 403 page, not a bare answer
    admin_only = {(m, r.path) for r in console_table() for m in (r.methods or ())
                  if getattr(r.endpoint, ROLES_ATTRIBUTE) == ADMIN}
    assert ("POST", "/console/members/{username}/role") in admin_only
    # Announcements are the moderator's work too (walked like every other route).
    assert ("POST", "/console/announcements/{id}/publish") not in admin_only
    with logged_in(hub, "manon") as moderator:
        token = csrf_of(moderator.get("/settings"))
        for method, path, answer in attempts(moderator, token):
            if (method, path) in admin_only:
                assert answer.status_code == 403, (method, path)
            else:
                assert answer.status_code != 403, (method, path, answer.status_code)
        assert moderator.get("/console/members").status_code == 200
    with logged_in(hub, "claire") as admin:
        assert admin.get("/console").status_code == 200
        # Without the CSRF token, nothing happens.
        bare = admin.post("/console/members/alice/suspend", data={"reason": "x"})
        assert bare.status_code == 403
        assert 'action="/console/members/alice/suspend"' in admin.get("/console/members/alice").text
