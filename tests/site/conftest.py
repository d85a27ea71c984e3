"""Browser fixtures: Debian's Chromium through Playwright (see tests/site/browser.py).

Without Chromium the browser tests are skipped, unless ``VOISINS_REQUIRE_BROWSER=1``
(``scripts/test`` sets it when it could install Chromium), where they fail loudly.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from site_browser import CHROMIUM_ARGS, chromium_path

_problem: list[str] = []


def _unavailable(message: str) -> None:
    _problem.append(message)
    if os.environ.get("VOISINS_REQUIRE_BROWSER") == "1":
        pytest.fail(message)
    pytest.skip(message)


# Module scope, not session: Playwright's sync API keeps an asyncio loop running in this
# thread while it is open, and later tests that call asyncio.run() would then fail.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = chromium_path()
    if executable is None:
        _unavailable("browser tests cannot run: chromium is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("browser tests cannot run: playwright is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS,
                                             headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser_page(browser: Any) -> Iterator[Any]:
    """A fresh page (own cookies) of a French-speaking browser in a laptop-sized window;
    ``page.set_viewport_size({"width": 390, "height": 844})`` for a phone."""
    context = browser.new_context(locale="fr-FR", viewport={"width": 1200, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # type: ignore[no-untyped-def]
    if _problem:
        terminalreporter.write_sep("!", "BROWSER TESTS DID NOT RUN", red=True, bold=True)
        terminalreporter.write_line(_problem[0], red=True)
