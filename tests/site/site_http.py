"""Plain-HTTP helpers for the member site's tests (module site_http): forms with their
CSRF token, logging in with httpx against a real ``voisins serve``."""

from __future__ import annotations

import re

import httpx

CSRF_RE = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def csrf_of(page: httpx.Response) -> str:
    """The CSRF token of the first form on the page."""
    match = CSRF_RE.search(page.text)
    assert match, page.text[:2000]
    return match.group(1)


def login(client: httpx.Client, login: str, password: str, next_url: str = "/settings"
          ) -> httpx.Response:
    """Log in through /login as a browser would (GET the form, POST it with its token)."""
    form = client.get(f"/login?next={next_url}")
    assert form.status_code == 200
    return client.post("/login", data={"login": login, "password": password, "next": next_url,
                                       "csrf_token": csrf_of(form)})


def post_form(client: httpx.Client, page_path: str, action: str, data: dict[str, str]
              ) -> httpx.Response:
    """Open ``page_path``, then POST ``data`` to ``action`` with the page's CSRF token."""
    page = client.get(page_path)
    assert page.status_code == 200, page.text[:500]
    return client.post(action, data={**data, "csrf_token": csrf_of(page)})
