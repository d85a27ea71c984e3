"""Paging parameters and the ``Link`` header.

Emitted as Mastodon does (client-api.md §1.4): absolute URLs, ``next`` first, no commas
inside the URLs (they are percent-encoded), numeric cursors only.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlencode

from fedi.api.params import Params
from fedi.services.timelines import Page

PAGING_KEYS = {"max_id", "since_id", "min_id", "limit", "access_token"}


def page_of(params: Params, *, default: int = 20, maximum: int = 40) -> Page:
    return Page(max_id=params.id("max_id"), since_id=params.id("since_id"),
                min_id=params.id("min_id"),
                limit=params.int("limit", default, low=1, high=maximum))


def link_header(base: str, path: str, params: Params, cursors: Sequence[int]) -> dict[str, str]:
    """``Link`` for a page whose items have these cursors (newest first); none when empty."""
    if not cursors:
        return {}
    kept: list[tuple[str, str]] = []
    for key, value in params.data.items():
        if key in PAGING_KEYS or value is None:
            continue
        if isinstance(value, list):
            kept.extend((f"{key}[]", str(v)) for v in value if isinstance(v, (str, int)))
        elif isinstance(value, bool):
            kept.append((key, "true" if value else "false"))
        elif isinstance(value, (str, int)):
            kept.append((key, str(value)))
    limit = params.data.get("limit")
    extra = []
    if isinstance(limit, (str, int)) and str(limit).isdigit():
        extra = [("limit", str(limit))]
    url = f"{base}{path}?"
    nxt = url + urlencode(kept + [("max_id", str(cursors[-1]))] + extra)
    prev = url + urlencode(kept + [("min_id", str(cursors[0]))] + extra)
    return {"Link": f'<{nxt}>; rel="next", <{prev}>; rel="prev"'}
