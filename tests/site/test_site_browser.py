"""In Chromium: log in and out, settings, error pages, with the axe-core pass and screenshots."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from site_browser import assert_accessible, log_in, screenshot, screenshot_phone
from support.hubs import HubProcess, free_port, wait_for


@pytest.fixture
def hub(make_hub: Callable[..., HubProcess]) -> Iterator[HubProcess]:
    hub = make_hub("browse")
    hub.add_user("alice", role="admin")
    hub.start()
    yield hub


def test_login_settings_logout_in_a_browser(hub: HubProcess, browser_page: Any) -> None:
    page = browser_page
    page.goto(f"{hub.base}/settings")
    assert page.url.endswith("/login?next=/settings")
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.locator("h1").inner_text().startswith("Connexion")
    screenshot(page, "login")
    screenshot_phone(page, "login-phone")
    assert_accessible(page, "login")
    page.fill("#login", "alice")
    page.fill("#password", "wrong password")
    page.click("form[action='/login'] button[type=submit]")
    assert page.locator("[role=alert]").is_visible()
    assert_accessible(page, "login with an error")
    page.fill("#password", hub.passwords["alice"])
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(f"{hub.base}/settings")
    assert page.locator("h1").inner_text() == "Réglages"
    screenshot(page, "settings")
    assert_accessible(page, "settings")
    # phone layout: same page, nothing hidden
    screenshot_phone(page, "settings-phone")
    # change language to English, then back
    page.select_option("#lang", "en")
    page.click("form[action='/settings/language'] button")
    page.wait_for_url("**/settings?saved=language*")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Settings"
    # log out with the menu button; the settings are closed again
    page.click("nav form[action='/logout'] button")
    page.wait_for_url("**/login")
    page.goto(f"{hub.base}/settings")
    assert "/login" in page.url


def test_error_pages_in_both_languages(hub: HubProcess, browser: Any) -> None:
    for locale, title in (("fr-FR", "Page introuvable"), ("en-GB", "Page not found")):
        context = browser.new_context(locale=locale)
        page = context.new_page()
        response = page.goto(f"{hub.base}/no/such/page")
        assert response is not None and response.status == 404
        assert page.locator("h1").inner_text() == title
        assert page.locator("html").get_attribute("lang") == locale[:2]
        screenshot(page, f"404-{locale[:2]}")
        assert_accessible(page, f"404 {locale}")
        if locale == "fr-FR":  # the visitor's language link
            page.click("footer a[hreflang=en]")
            page.wait_for_url("**?lang=en")
            assert page.locator("h1").inner_text() == "Page not found"
        context.close()


def test_quickstart_admin_logs_in(tmp_path: Path, browser_page: Any) -> None:
    """The login printed by `voisins quickstart` works in the browser."""
    port = free_port("127.0.0.1")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VOISINS_", "LC_", "LANG"))}
    log = tmp_path / "quickstart.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "fedi.cli", "quickstart", "--port",
                                 str(port)], stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path,
                                env=env)
    try:
        def printed() -> re.Match[str] | None:
            assert proc.poll() is None, log.read_text()
            return re.search(r"admin login: (\S+) / (\S+)", log.read_text())

        found = wait_for(printed, timeout=60, what="the admin login")
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: httpx.get(f"{base}/login", timeout=2).status_code == 200, timeout=60,
                 what="quickstart to serve")
        log_in(browser_page, base, found.group(1), found.group(2), next_url="/settings")
        assert browser_page.url == f"{base}/settings"
        assert browser_page.locator("h1").inner_text() == "Réglages"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
