"""Where a browser goes when it opens an ActivityPub URL of this hub.

``/users/<name>`` and its statuses answer ActivityPub with content negotiation; a browser
(no ActivityPub ``Accept``) is sent to the member pages, which ask it to log in first
(Mastodon redirects ``/users/<name>`` to ``/@<name>`` the same way).
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response


def html_view(request: Request) -> Response:
    """A redirect to the page showing what this ActivityPub URL names."""
    params = request.path_params
    username = quote(str(params.get("username", "")), safe="")
    target = f"/@{username}"
    status_id = str(params.get("status_id", ""))
    if status_id.isdigit() and len(status_id) <= 20:
        target += f"/{status_id}"
    return RedirectResponse(target, status_code=303,
                            headers={"Vary": "Accept", "Cache-Control": "private"})
