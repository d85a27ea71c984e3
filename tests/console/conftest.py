"""The console's tests reuse the member site's helpers (tests/site: site_http, site_browser)
and its browser fixtures."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

SITE = Path(__file__).resolve().parents[1] / "site"
if str(SITE) not in sys.path:
    sys.path.insert(0, str(SITE))

_spec = importlib.util.spec_from_file_location("site_fixtures", SITE / "conftest.py")
assert _spec is not None and _spec.loader is not None
_site = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_site)

browser = _site.browser
browser_page = _site.browser_page
pytest_terminal_summary = _site.pytest_terminal_summary
