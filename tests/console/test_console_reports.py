"""Reports in the console, over real hubs.

Two linked hubs (onze, douze): alice on onze reports, with Mastodon.py, a neighbourhood post
of bob, a member of douze; onze's moderator forwards it; douze receives the Flag (signed by
onze's instance actor, to its shared inbox) and lists it as a report from that hub; douze's
moderator, in Chromium, removes the post, and the post disappears on onze too. The audit
logs of both hubs hold the actions. Screenshots in tests/site/screenshots/console-report*.

One hub: warn (a mail in the member's language through the mail queue), suspend, close,
bad input in the forms, and ``voisins reports list|resolve`` in French.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from console_world import console_post, logged_in
from mastodon import Mastodon
from site_browser import assert_accessible, log_in, screenshot, screenshot_phone
from sqlalchemy import select
from support.hubs import HubProcess, wait_for
from support.world import query

from fedi.models import Actor, AuditEntry, OutboxActivity, OutgoingMail, Report, Status


def audit_actions(hub: HubProcess) -> list[tuple[str, str, str]]:
    return query(hub, lambda s: [(e.actor_username, e.action, e.target)
                                 for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))])


def client_for(hub: HubProcess, username: str) -> Mastodon:
    app_id, secret = Mastodon.create_app("Reporter", api_base_url=hub.base,
                                         scopes=["read", "write"])
    api = Mastodon(client_id=app_id, client_secret=secret, api_base_url=hub.base)
    api.log_in(f"{username}@{hub.host}.test", hub.passwords[username], scopes=["read", "write"],
               allow_http=True)
    return api


def link_running(a: HubProcess, a_member: Mastodon, b: HubProcess, b_member: Mastodon) -> None:
    """Link two running hubs (their workers send the Follows at once) and wait until each
    serving process counts the other as linked."""
    a.cli("neighbours", "add", b.domain)
    b.cli("neighbours", "add", a.domain)

    def linked() -> bool:
        return (b.domain in a_member.instance_peers()
                and a.domain in b_member.instance_peers())

    wait_for(linked, timeout=120, what="the two hubs to be linked")


def test_forwarded_flag_reaches_the_other_hub_whose_moderator_removes_the_post(
        make_hub: Callable[..., HubProcess], browser_page: Any) -> None:
    onze = make_hub("onze")
    douze = make_hub("douze", territory=("75012",))
    onze.add_user("manon", role="moderator")
    onze.add_user("alice")
    douze.add_user("lea", role="moderator")
    douze.add_user("bob")
    douze.start()
    onze.start()
    bob = client_for(douze, "bob")
    alice = client_for(onze, "alice")
    link_running(onze, alice, douze, bob)
    posted = bob.status_post("Vends faux billets de concert, payez d'avance",
                             visibility="public")
    bob_uri = posted["uri"]

    def seen_on_onze() -> Any:
        return next((s for s in alice.timeline_public() if s["uri"] == bob_uri), None)

    seen = wait_for(seen_on_onze, timeout=60, what="bob's post to reach onze")
    report = alice.report(seen["account"]["id"], status_ids=[seen["id"]],
                          comment="Arnaque aux billets", forward=True)
    assert report["forwarded"] is False and report["status_ids"] == [seen["id"]]

    # onze's moderator sees the post (a neighbourhood post) and forwards the report.
    with logged_in(onze, "manon") as manon:
        page = manon.get(f"/console/reports/{report['id']}")
        assert "faux billets" in page.text and "Arnaque aux billets" in page.text
        assert "@alice" in page.text  # the moderators of onze know who reported
        sent = console_post(manon, f"/console/reports/{report['id']}",
                            f"/console/reports/{report['id']}/forward")
        assert sent.status_code == 303, sent.text[:500]
        again = console_post(manon, f"/console/reports/{report['id']}",
                             f"/console/reports/{report['id']}/forward")
        assert again.status_code == 422 and "déjà été transmis" in again.text
    flag = query(onze, lambda s: s.scalar(select(OutboxActivity.payload).where(
        OutboxActivity.type == "Flag")))
    assert flag["actor"] == f"{onze.base}/actor"  # the hub, not alice
    assert flag["object"] == [f"{douze.base}/users/bob", bob_uri]
    assert "alice" not in str(flag)

    # douze stores it as a report from onze, about bob and his post.
    def received() -> Any:
        return query(douze, lambda s: s.scalar(select(Report.id).where(
            Report.origin_domain == onze.domain)))

    douze_report = wait_for(received, timeout=60, what="douze to receive the Flag")
    row = query(douze, lambda s: s.get(Report, douze_report))
    assert row.status_uris == [bob_uri] and row.comment == "Arnaque aux billets"
    assert row.reporter_uri == f"{onze.base}/actor"

    # douze's moderator, in Chromium: the report is listed, the post removed.
    page = browser_page
    log_in(page, douze.base, "lea", douze.passwords["lea"], "/console/reports")
    page.wait_for_url(f"{douze.base}/console/reports")
    main = page.locator("main").inner_text()
    assert "@bob" in main and f"le hub {onze.domain}" in main
    screenshot(page, "console-reports")
    screenshot_phone(page, "console-reports-phone")
    assert_accessible(page, "console reports")
    page.click(f"a[href='/console/reports/{douze_report}']")
    page.wait_for_url(f"**/console/reports/{douze_report}")
    assert "faux billets" in page.locator("main").inner_text()
    screenshot(page, "console-report")
    screenshot_phone(page, "console-report-phone")
    assert_accessible(page, "console report")
    page.click("button:has-text('Retirer ce message')")
    page.wait_for_url(f"**/console/reports/{douze_report}?done=removed")
    assert page.locator("[role=status]").inner_text().startswith("Le message est retiré")
    assert "Ce message est retiré." in page.locator("main").inner_text()
    screenshot(page, "console-report-removed")

    # The Delete went where the post went: onze drops it.
    def gone_on_onze() -> bool:
        return query(onze, lambda s: s.scalar(select(Status.deleted_at).where(
            Status.uri == bob_uri))) is not None

    wait_for(gone_on_onze, timeout=60, what="onze to drop the removed post")
    assert bob_uri not in [s["uri"] for s in alice.timeline_public()]
    page.goto(f"{douze.base}/console/audit")
    text = page.locator("main").inner_text()
    assert "report.remove_post" in text and f"report:{douze_report}" in text
    assert ("lea", "report.remove_post", f"report:{douze_report}") in audit_actions(douze)
    assert ("manon", "report.forward", f"report:{report['id']}") in audit_actions(onze)
    resolved = query(douze, lambda s: s.get(Report, douze_report))
    assert resolved.resolved and resolved.outcome == "removed" and resolved.resolved_by == "lea"


def test_warn_suspend_close_bad_input_and_the_command_line(
        make_hub: Callable[..., HubProcess], db_backend: str) -> None:
    hub = make_hub("moder", backend=db_backend)
    hub.add_user("manon", role="moderator")
    hub.add_user("claire", role="admin")
    hub.add_user("alice")
    hub.add_user("bob")
    hub.add_user("eve")
    hub.start()
    alice = client_for(hub, "alice")
    bob_id = str(query(hub, lambda s: s.scalar(select(Actor.id).where(
        Actor.username == "bob", Actor.local))))
    eve_id = str(query(hub, lambda s: s.scalar(select(Actor.id).where(
        Actor.username == "eve", Actor.local))))
    claire_id = str(query(hub, lambda s: s.scalar(select(Actor.id).where(
        Actor.username == "claire", Actor.local))))
    first = alice.report(bob_id, comment="Propos blessants")["id"]
    second = alice.report(eve_id, comment="Spam", category="spam")["id"]
    third = alice.report(bob_id, comment="Encore")["id"]
    fourth = alice.report(claire_id, comment="Pas sympa")["id"]
    with logged_in(hub, "manon") as manon:
        base = f"/console/reports/{first}"
        empty = console_post(manon, base, f"{base}/warn", {"message": "   "})
        assert empty.status_code == 422 and "Écrivez le message" in empty.text
        long = console_post(manon, base, f"{base}/warn", {"message": "x" * 2001})
        assert long.status_code == 422 and "trop long" in long.text
        assert console_post(manon, base, f"{base}/warn",
                            {"message": "Merci de rester courtois."}).status_code == 303
        twice = console_post(manon, f"/console/reports/{third}", f"{base}/dismiss")
        assert twice.status_code == 422 and "déjà traité" in twice.text
        no_post = console_post(manon, f"/console/reports/{third}",
                               f"/console/reports/{third}/remove", {"status_id": "123"})
        assert no_post.status_code == 422 and "ne fait pas partie" in no_post.text
        not_remote = console_post(manon, f"/console/reports/{third}",
                                  f"/console/reports/{third}/forward")
        assert not_remote.status_code == 422 and "autre hub" in not_remote.text
        # A moderator cannot suspend an admin through a report either.
        admin = console_post(manon, f"/console/reports/{fourth}",
                             f"/console/reports/{fourth}/suspend")
        assert admin.status_code == 422 and "administrateur" in admin.text
        assert console_post(manon, f"/console/reports/{second}",
                            f"/console/reports/{second}/suspend",
                            {"reason": "Spam répété"}).status_code == 303
        assert manon.get("/console/reports/999").status_code == 404
        listing = manon.get("/console/reports?state=resolved").text
        assert "membre averti" in listing and "membre suspendu" in listing
    mail = query(hub, lambda s: s.scalar(select(OutgoingMail).where(
        OutgoingMail.kind == "warning")))
    assert mail.recipient == f"bob@{hub.host}.test" and "Merci de rester courtois." in mail.text
    assert mail.subject.startswith("Un message des modérateurs")
    assert query(hub, lambda s: s.scalar(select(Actor.suspended_at).where(
        Actor.username == "eve", Actor.local))) is not None
    # The command line, in French: list the open reports, close one.
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("VOISINS_", "LC_"))},
           "LANG": "fr_FR.UTF-8"}

    def voisins(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "fedi.cli", "--config",
                               str(hub.config_path), *args], capture_output=True, text=True,
                              env=env, cwd=hub.workdir, timeout=120, check=False)

    listed = voisins("reports", "list")
    assert listed.returncode == 0, listed.stderr
    assert f"{third}\t" in listed.stdout and f"{first}\t" not in listed.stdout
    assert "ouvert" in listed.stdout
    closed = voisins("reports", "resolve", str(third), "--note", "doublon")
    assert closed.returncode == 0 and f"Le signalement {third} est traité" in closed.stdout
    again = voisins("reports", "resolve", str(third))
    assert again.returncode == 2 and "déjà traité" in again.stderr
    missing = voisins("reports", "resolve", "42")
    assert missing.returncode == 2 and "aucun signalement 42" in missing.stderr
    english = hub.cli("reports", "list", "--resolved").stdout
    assert f"{third}\t" in english and "resolved (dismissed)" in english
    actions = [(who, what) for who, what, target in audit_actions(hub)]
    assert ("manon", "report.warn") in actions and ("manon", "report.suspend") in actions
    assert ("manon", "member.suspend") in actions
    assert ("(command line)", "report.dismiss") in actions
