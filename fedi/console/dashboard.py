"""``/console``: the hub at a glance (members, activity, linked hubs, queues)."""

from __future__ import annotations

from datetime import timedelta

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fedi import i18n
from fedi.console.access import STAFF, page, reading, require_role
from fedi.console.chart import bar_chart
from fedi.db import utcnow
from fedi.services.hub_health import WEEKS, dashboard
from fedi.web.session import member_of
from fedi.web.state import hub_of
from fedi.web.templating import request_language


@require_role(*STAFF)
async def dashboard_page(request: Request) -> Response:
    lang = request_language(request)
    now = utcnow()
    viewer = member_of(request).actor
    with reading(request) as session:
        numbers = dashboard(session, viewer.id, hub_of(request).peers.linked(), now)
    starts = [now - timedelta(weeks=WEEKS - i) for i in range(WEEKS)]
    labels = [i18n.format_date(start, lang, "d MMM") for start in starts]
    title = i18n.translate(lang, "Posts per week, last 12 weeks")
    description = ", ".join(
        i18n.translate(lang, "week of %(day)s: %(count)s") % {"day": label, "count": value}
        for label, value in zip(labels, numbers.weekly_posts, strict=True))
    chart = bar_chart(numbers.weekly_posts, labels, title, description, "activity")
    return page(request, "console/dashboard.html", {
        "nav": "dashboard", "d": numbers, "chart": chart,
        "weeks": list(zip(labels, numbers.weekly_posts, strict=True))})


routes = [Route("/console", dashboard_page, methods=["GET"], name="console")]
