"""``/static/``: the site's stylesheet (and other small files of templates/site/static)."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parents[2] / "templates" / "site" / "static"

routes = [
    Mount("/static", app=StaticFiles(directory=str(STATIC_DIR), check_dir=False), name="static"),
]
