"""The data and privacy pages in Chromium, with an axe-core pass and screenshots: sign-up
with the consent checkbox, « Télécharger mes données » (asked, built by the worker of the
real hub, downloaded), the CSV import with a bad file, the privacy policy and rules, and
the admin editing the policy in the console."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from site_browser import assert_accessible, log_in, screenshot
from support.hubs import HubProcess, wait_for


def test_data_and_privacy_pages(make_hub: Callable[..., HubProcess], browser_page: Any,
                                tmp_path: Path) -> None:
    hub = make_hub("donnees")
    hub.add_user("claire", role="admin")
    hub.add_user("alice")
    hub.start()
    code = hub.cli("invites", "create").stdout.split("/invite/", 1)[1].split()[0]
    page = browser_page

    # Sign-up: the consent box links to the rules and the privacy policy, and is required.
    page.goto(f"{hub.base}/invite/{code}")
    assert page.locator("input[name=agreement]").get_attribute("required") is not None
    assert page.locator("label:has(input[name=agreement]) a").count() == 2
    screenshot(page, "data-signup-consent")
    assert_accessible(page, "sign-up with consent")

    page.goto(f"{hub.base}/privacy-policy")
    assert page.locator("h1").inner_text() == "Politique de confidentialité"
    assert "30 jours" in page.locator("main").inner_text()
    screenshot(page, "data-privacy-policy")
    assert_accessible(page, "privacy policy")
    page.goto(f"{hub.base}/rules?lang=en")
    assert page.locator("h1").inner_text() == "Rules of the hub"
    assert_accessible(page, "rules")

    log_in(page, hub.base, "alice", hub.passwords["alice"], "/settings")
    page.click("text=Télécharger mes données")
    page.wait_for_url("**/settings/export")
    page.click("button:has-text('Demander mon archive')")
    page.wait_for_url("**/settings/export?asked=1")
    notice = page.locator("[role=status]").inner_text()  # the worker may be done already
    assert "en cours de préparation" in notice or "est prête" in notice
    assert_accessible(page, "export asked")

    def ready() -> bool:  # the worker builds it in the background; the page shows the link
        page.reload()
        return page.locator("a[download]").count() > 0

    wait_for(ready, timeout=60, what="the archive's download link")
    screenshot(page, "data-export")
    with page.expect_download() as download:
        page.click("a[download]")
    saved = tmp_path / "archive.zip"
    download.value.save_as(saved)
    assert saved.read_bytes()[:2] == b"PK"
    page.click("button:has-text('Demander mon archive')")
    assert "déjà demandé une archive" in page.locator("[role=alert]").inner_text()

    page.goto(f"{hub.base}/settings/import")
    bad = tmp_path / "following_accounts.csv"
    bad.write_text("Account address\nce n'est pas une adresse\n", encoding="utf-8")
    page.set_input_files("#file", str(bad))
    page.click("form[action='/settings/import'] button[type=submit]")
    page.wait_for_load_state()
    assert "Ligne 2" in page.locator("[role=alert]").inner_text()
    assert page.locator("#file").get_attribute("aria-invalid") == "true"
    screenshot(page, "data-import-error")
    assert_accessible(page, "import error")

    page.context.clear_cookies()
    log_in(page, hub.base, "claire", hub.passwords["claire"], "/console/settings")
    page.click("text=Modifier la politique de confidentialité")
    page.wait_for_url("**/console/settings/privacy")
    assert_accessible(page, "console privacy policy")
    page.fill("#privacy-fr", "Nous gardons **très peu** de données.")
    page.click("form[action='/console/settings/privacy'] button[type=submit]")
    page.wait_for_url("**/console/settings/privacy?done=saved")
    screenshot(page, "console-privacy-policy")
    page.goto(f"{hub.base}/privacy-policy")
    assert page.locator(".legal strong").inner_text() == "très peu"
