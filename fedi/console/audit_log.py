"""``/console/audit``: the audit log, newest first (read only: it is never edited)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fedi.console.access import STAFF, page, reading, require_role
from fedi.services import audit
from fedi.site.page import parse_id

PAGE = 100


@require_role(*STAFF)
async def audit_page(request: Request) -> Response:
    before = parse_id(request.query_params.get("before"))
    with reading(request) as session:
        rows = audit.entries(session, limit=PAGE, before_id=before)
    older = rows[-1].id if len(rows) == PAGE else None
    return page(request, "console/audit.html", {"nav": "audit", "rows": rows, "older": older})


routes = [Route("/console/audit", audit_page, methods=["GET"])]
