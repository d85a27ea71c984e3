"""Helpers for the browser tests (module site_browser): screenshots, the axe-core accessibility pass, logging in.

Chromium is Debian's (``/usr/bin/chromium``), driven by Playwright without any browser
download; axe-core comes from the npm registry into ``.tools/`` (``scripts/test`` installs
both). Fixtures are in ``tests/site/conftest.py``: ``browser_page`` gives a fresh page
(French browser) per test.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
AXE_JS = Path(os.environ.get("VOISINS_AXE_JS",
                             ROOT / ".tools" / "node_modules" / "axe-core" / "axe.min.js"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]


def chromium_path() -> str | None:
    configured = os.environ.get("VOISINS_CHROMIUM")
    if configured:
        return configured
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def screenshot(page: Any, name: str, *, full_page: bool = True) -> Path:
    """Save the page to tests/site/screenshots/<name>.png (for review) and print the path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    print(f"screenshot: {path}")
    return path


PHONE = {"width": 390, "height": 844}


def screenshot_phone(page: Any, name: str) -> Path:
    """Save the page at phone width (390×844) to tests/site/screenshots/<name>.png, check
    that nothing makes the page scroll sideways (a wide table scrolls in its own box), and
    give the window its size back."""
    before = page.viewport_size
    page.set_viewport_size(PHONE)
    try:
        path = screenshot(page, name)
        wider = page.evaluate("() => document.documentElement.scrollWidth"
                              " - document.documentElement.clientWidth")
        assert wider <= 0, f"{name}: the page is {wider} px wider than a phone's screen"
    finally:
        if before:
            page.set_viewport_size(before)
    return path


def axe_violations(page: Any, impacts: tuple[str, ...] = ("serious", "critical")
                   ) -> list[dict[str, Any]]:
    """Run axe-core on the page; the violations of the given impacts."""
    if not AXE_JS.exists():
        raise AssertionError(f"axe-core is missing at {AXE_JS} (scripts/test installs it)")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=AXE_JS.read_text(encoding="utf-8"))
    result = page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations']})")
    return [v for v in result["violations"] if v.get("impact") in impacts]


def assert_accessible(page: Any, name: str = "") -> None:
    """No serious or critical axe-core violation on the current page."""
    problems = axe_violations(page)
    if problems:
        summary = [{"id": v["id"], "impact": v["impact"], "help": v["help"],
                    "nodes": [n["html"][:200] for n in v["nodes"][:5]]} for v in problems]
        raise AssertionError(f"accessibility problems on {name or page.url}:\n"
                             + json.dumps(summary, indent=2, ensure_ascii=False))


def log_in(page: Any, base: str, login: str, password: str, next_url: str = "/") -> None:
    """Log in through the login form, as a member would."""
    page.goto(f"{base}/login?next={next_url}")
    page.fill("#login", login)
    page.fill("#password", password)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_load_state()
