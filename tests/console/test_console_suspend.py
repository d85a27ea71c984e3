"""Suspension, approvals and the audit log, over real HTTP with the session cookie: a
suspended member's token gets 401, their web session ends, their post disappears from
another member's reads, a linked hub is told (toot:suspended); every action is audited."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
from console_world import (
    console_post,
    logged_in,
    make_application,
    password_token,
    register_app,
)
from site_http import login
from sqlalchemy import select
from support.hubs import HubProcess, wait_for
from support.world import query

from fedi.models import Actor, AuditEntry, User

ROOT = Path(__file__).resolve().parents[2]


def api(hub: HubProcess, token: str, path: str) -> httpx.Response:
    return httpx.get(f"{hub.base}{path}", headers={"Authorization": f"Bearer {token}"})


def audit_actions(hub: HubProcess) -> list[tuple[str, str, str, str]]:
    return query(hub, lambda s: [(e.actor_username, e.actor_role, e.action, e.target)
                                 for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))])


def link(a: HubProcess, b: HubProcess) -> None:
    a.cli("neighbours", "add", b.domain)
    b.cli("neighbours", "add", a.domain)


def test_suspend_hides_posts_kills_tokens_and_sessions_and_tells_linked_hubs(
        make_hub: Callable[..., HubProcess], db_backend: str) -> None:
    hub = make_hub("susp", backend=db_backend)
    other = make_hub("other", backend=db_backend)
    link(hub, other)
    hub.add_user("manon", role="moderator")
    hub.add_user("alice")
    hub.add_user("bob")
    other.add_user("olga")
    hub.start()
    other.start()
    app = register_app(hub)
    bob_token, alice_token = password_token(hub, app, "bob"), password_token(hub, app, "alice")
    # The link is made by a Follow/Accept exchange after start: wait until the hub itself
    # counts the other as linked (its peers), or the suspension would not be sent there.
    wait_for(lambda: other.domain in api(hub, alice_token, "/api/v1/instance/peers").json(),
             timeout=120, what="the two hubs to be linked")  # a Follow sent before the
    # other hub answered waits for its retry
    posted = httpx.post(f"{hub.base}/api/v1/statuses", data={
        "status": "Vide-grenier dimanche", "visibility": "unlisted"},
        headers={"Authorization": f"Bearer {bob_token}"})
    assert posted.status_code == 200, posted.text
    status_id = posted.json()["id"]
    assert api(hub, alice_token, f"/api/v1/statuses/{status_id}").status_code == 200
    local = api(hub, alice_token, "/api/v1/timelines/public?local=true").json()
    assert status_id in [s["id"] for s in local]
    # The linked hub knows bob (a signed fetch of his actor).
    other.cli("lookup", f"bob@{hub.domain}")
    bob_uri = f"{hub.base}/users/bob"
    with httpx.Client(base_url=hub.base) as bob_browser:
        assert login(bob_browser, "bob", hub.passwords["bob"]).status_code == 303
        assert bob_browser.get("/settings").status_code == 200
        with logged_in(hub, "manon") as manon:
            page = manon.get("/console/members?status=active&q=bo")
            assert "@bob" in page.text and "@alice" not in page.text
            done = console_post(manon, "/console/members/bob", "/console/members/bob/suspend",
                                {"reason": "spam"})
            assert done.status_code == 303, done.text[:500]
            again = console_post(manon, "/console/members/bob", "/console/members/bob/suspend")
            assert again.status_code == 422 and "déjà suspendu" in again.text
            assert "@bob" in manon.get("/console/members?status=suspended").text
        # Token: 401; web session: gone; login: refused.
        assert api(hub, bob_token, "/api/v1/accounts/verify_credentials").status_code == 401
        assert bob_browser.get("/settings").status_code == 303
        assert login(bob_browser, "bob", hub.passwords["bob"]).status_code != 303
    # The post is hidden from every read of another member.
    assert api(hub, alice_token, f"/api/v1/statuses/{status_id}").status_code == 404
    local = api(hub, alice_token, "/api/v1/timelines/public?local=true").json()
    assert status_id not in [s["id"] for s in local]
    # The linked hub got Update(Person) with suspended: true.
    wait_for(lambda: query(other, lambda s: s.scalar(select(Actor.suspended_at).where(
        Actor.uri == bob_uri))) is not None, what="the linked hub to learn of the suspension")
    assert ("manon", "moderator", "member.suspend", "@bob") in audit_actions(hub)
    # Reinstate from the command line (in French): everything comes back.
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("VOISINS_", "LC_"))},
           "LANG": "fr_FR.UTF-8"}
    out = subprocess.run([sys.executable, "-m", "fedi.cli", "--config", str(hub.config_path),
                          "users", "reinstate", "bob"], capture_output=True, text=True, env=env,
                         cwd=hub.workdir, timeout=120, check=False)
    assert out.returncode == 0 and "@bob est rétabli·e" in out.stdout, out.stderr
    assert api(hub, bob_token, "/api/v1/accounts/verify_credentials").status_code == 200
    assert api(hub, alice_token, f"/api/v1/statuses/{status_id}").status_code == 200
    wait_for(lambda: query(other, lambda s: s.scalar(select(Actor.suspended_at).where(
        Actor.uri == bob_uri))) is None, what="the linked hub to learn of the reinstatement")
    assert ("(command line)", "cli", "member.reinstate", "@bob") in audit_actions(hub)
    listed = hub.cli("users", "list", "--status", "active").stdout
    assert "@bob" in listed and "@alice" in listed


def test_approve_refuse_roles_and_bad_input(make_hub: Callable[..., HubProcess]) -> None:
    hub = make_hub("apps")
    hub.add_user("claire", role="admin")
    hub.add_user("manon", role="moderator")
    hub.add_user("sophie")
    hub.start()
    nina = make_application(hub, "sophie", "nina")
    paul = make_application(hub, "sophie", "paul", trade="fleuriste")
    with logged_in(hub, "manon") as manon:
        page = manon.get("/console/applications")
        assert "@nina" in page.text and "@sophie" in page.text and "75011" in page.text
        too_long = console_post(manon, "/console/applications", f"/console/applications/{paul}/refuse",
                                {"reason": "x" * 2001})
        assert too_long.status_code == 422 and "trop long" in too_long.text
        assert "@paul" in manon.get("/console/applications").text  # nothing changed
        assert console_post(manon, "/console/applications", f"/console/applications/{nina}/approve"
                            ).status_code == 303
        assert console_post(manon, "/console/applications", f"/console/applications/{paul}/refuse",
                            {"reason": "Hors du quartier"}).status_code == 303
        twice = console_post(manon, "/console/members/sophie", f"/console/applications/{nina}/approve")
        assert twice.status_code == 422
        tree = manon.get("/console/tree?member=nina")
        assert tree.status_code == 200 and "@sophie" in tree.text
        assert manon.get("/console/tree?member=nobody").status_code == 404
        # A moderator may not change roles.
        refused = console_post(manon, "/console/members/sophie", "/console/members/sophie/role",
                               {"role": "admin"})
        assert refused.status_code == 403
    with logged_in(hub, "claire") as claire:
        bad = console_post(claire, "/console/members/sophie", "/console/members/sophie/role",
                           {"role": "king"})
        assert bad.status_code == 422 and "rôle doit être" in bad.text
        ok = console_post(claire, "/console/members/sophie", "/console/members/sophie/role",
                          {"role": "moderator"})
        assert ok.status_code == 303
        audit_page = claire.get("/console/audit")
        assert "application.approve" in audit_page.text
    roles = query(hub, lambda s: s.scalar(select(User.role).join(Actor, Actor.id == User.actor_id)
                                          .where(Actor.username == "sophie")))
    assert roles == "moderator"
    actions = [a[2:] for a in audit_actions(hub)]
    assert actions == [("application.approve", "@nina"), ("application.refuse", "@paul"),
                       ("member.role", "@sophie")]
    assert query(hub, lambda s: s.scalar(select(User.id).join(Actor, Actor.id == User.actor_id)
                                         .where(Actor.username == "nina"))) is not None


def test_audit_log_is_insert_only_in_code() -> None:
    """No code path updates or deletes audit rows: only fedi.services.audit touches the model,
    and it only adds and selects."""
    users = [p for p in (ROOT / "fedi").rglob("*.py") if "AuditEntry" in p.read_text("utf-8")]
    assert sorted(p.relative_to(ROOT).as_posix() for p in users) == [
        "fedi/models/__init__.py", "fedi/models/console.py", "fedi/services/audit.py"]
    source = (ROOT / "fedi/services/audit.py").read_text("utf-8")
    for word in ("update(", "delete(", ".delete", "merge(", "audit_log"):
        assert word not in source.split('"""', 2)[2], word
    raw = re.compile(r"(update|delete\s+from|truncate)\s+(table\s+)?audit_log", re.IGNORECASE)
    for path in [*(ROOT / "fedi").rglob("*.py"), *(ROOT / "fedi").rglob("*.sql")]:
        assert not raw.search(path.read_text("utf-8")), path
