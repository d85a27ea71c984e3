"""In Chromium: an admin signs in, approves an application, looks at the invite tree and
suspends a member; axe-core on the dashboard and the members list; screenshots in
tests/site/screenshots/console-*.png."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from console_world import make_application
from site_browser import assert_accessible, log_in, screenshot, screenshot_phone
from support.hubs import HubProcess


def test_admin_approves_looks_at_the_tree_and_suspends(
        make_hub: Callable[..., HubProcess], browser_page: Any) -> None:
    hub = make_hub("console")
    hub.add_user("claire", role="admin")
    hub.add_user("sophie")
    hub.add_user("bob")
    hub.start()
    make_application(hub, "sophie", "nina")
    page = browser_page
    log_in(page, hub.base, "claire", hub.passwords["claire"], "/console")
    page.wait_for_url(f"{hub.base}/console")
    assert page.locator("h1").inner_text() == "Tableau de bord"
    assert page.locator("svg.chart[role=img] > title").count() == 1
    screenshot(page, "console-dashboard")
    screenshot_phone(page, "console-dashboard-phone")
    assert_accessible(page, "console dashboard")

    page.click("nav >> text=Candidatures")
    page.wait_for_url("**/console/applications")
    assert "@sophie" in page.locator("main").inner_text()
    screenshot(page, "console-applications")
    screenshot_phone(page, "console-applications-phone")
    assert_accessible(page, "console applications")
    page.click("button:has-text('Accepter @nina')")
    page.wait_for_url("**/console/applications?done=approved")
    assert page.locator("[role=status]").inner_text().startswith("La candidature est acceptée")

    page.goto(f"{hub.base}/console/tree")
    page.fill("#member", "nina")
    page.click("form[role=search] button")
    page.wait_for_url("**/console/tree?member=nina")
    assert "@sophie" in page.locator("#h-up + ol").inner_text()
    screenshot(page, "console-tree")
    screenshot_phone(page, "console-tree-phone")
    assert_accessible(page, "console invite tree")

    page.click("nav >> text=Membres")
    page.wait_for_url("**/console/members")
    assert page.locator("tbody tr").count() == 4
    screenshot(page, "console-members")
    screenshot_phone(page, "console-members-phone")
    assert_accessible(page, "console members")
    page.click("a:has-text('@bob')")
    page.wait_for_url("**/console/members/bob")
    page.fill("#reason", "Annonces trompeuses")
    page.click("button:has-text('Suspendre')")
    page.wait_for_url("**/console/members/bob?done=suspended")
    assert page.locator("button:has-text('Rétablir')").is_visible()
    screenshot(page, "console-member-suspended")
    screenshot_phone(page, "console-member-suspended-phone")
    assert_accessible(page, "console member")
    page.goto(f"{hub.base}/console/audit")
    text = page.locator("main").inner_text()
    assert "member.suspend" in text and "application.approve" in text
    screenshot(page, "console-audit")
    screenshot_phone(page, "console-audit-phone")
    assert_accessible(page, "console audit log")

    # The hub's own settings: a wrong postal code is shown by its field, then a rename.
    page.goto(f"{hub.base}/console/settings")
    page.click("a:has-text('Nom, présentation, territoire')")
    page.wait_for_url("**/console/settings/hub")
    page.fill("#h-territory", "75011, 7501")
    page.click("main button[type=submit]")
    assert page.locator("#h-territory").get_attribute("aria-invalid") == "true"
    assert "code postal à 5 chiffres" in page.locator("#e-territory").inner_text()
    screenshot(page, "console-hub-error")
    assert_accessible(page, "console hub settings with an error")
    page.fill("#h-territory", "75011")
    page.fill("#h-name", "Les Voisins du Onze")
    page.select_option("#h-audience", "hub")
    page.click("main button[type=submit]")
    page.wait_for_url("**/console/settings/hub?done=saved")
    assert page.locator("a.brand").inner_text().startswith("Les Voisins du Onze")
    assert page.locator("#h-name").input_value() == "Les Voisins du Onze"
    screenshot(page, "console-hub")
    screenshot_phone(page, "console-hub-phone")
    assert_accessible(page, "console hub settings")
