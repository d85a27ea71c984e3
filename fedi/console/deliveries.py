"""``/console/deliveries``: dead deliveries per domain (activity type, last error, when),
with retry and discard per delivery or per domain. Moderators may look; only admins act."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fedi.config import normalize_domain
from fedi.console.access import ADMIN, STAFF, by_of, done, page, reading, require_role, writing
from fedi.i18n import N_, translate
from fedi.services import dead_letters
from fedi.services.hub_health import domain_health
from fedi.site.page import read_form
from fedi.web.state import hub_of
from fedi.web.templating import request_language

NOTICES = {"retried": N_("The deliveries are back in the queue: they are sent again now."),
           "discarded": N_("The deliveries are discarded."),
           "none": N_("There was no dead delivery to act on.")}


def _domain_filter(raw: str) -> str:
    try:
        return normalize_domain(raw[:300]) if raw.strip() else ""
    except ValueError:
        return ""


def _page(request: Request, error: str | None = None, status: int = 200) -> Response:
    lang = request_language(request)
    wanted = _domain_filter(request.query_params.get("domain", ""))
    with reading(request) as session:
        rows = dead_letters.dead_letters(session, wanted or None)
        domains = [(d, domain_health(session, d.domain, "")) for d in
                   dead_letters.dead_by_domain(session)]
    notice = NOTICES.get(request.query_params.get("done", ""))
    return page(request, "console/deliveries.html", {
        "nav": "deliveries", "rows": rows, "domains": domains, "wanted": wanted,
        "error": error, "notice": translate(lang, notice) if notice else None,
        "limit": dead_letters.LIST_LIMIT}, status=status)


@require_role(*STAFF)
async def deliveries_page(request: Request) -> Response:
    return _page(request)


async def _target(request: Request) -> tuple[int | None, str | None, str | None]:
    """(delivery id, domain, error) from the posted form: one of the two, well formed."""
    lang = request_language(request)
    form = await read_form(request, ("id", "domain"), limit=300)
    if form["id"].strip():
        if not form["id"].strip().isdigit() or len(form["id"].strip()) > 20:
            return None, None, translate(lang, "This is not a delivery number.")
        return int(form["id"].strip()), None, None
    if form["domain"].strip():
        try:
            return None, normalize_domain(form["domain"]), None
        except ValueError:
            return None, None, translate(lang, "This is not a domain name.")
    return None, None, translate(lang, "Say which delivery or which domain.")


def _nudge(request: Request, domains: list[str]) -> None:
    """Send at once: the in-process worker forgets its back-off for these hosts and wakes."""
    worker = hub_of(request).extras.get("delivery_worker")
    if worker is None:
        return  # a separate ``voisins worker`` picks them up on its next poll
    for domain in domains:
        worker.breaker.forget(domain)
    worker.wake()


@require_role(*ADMIN)
async def retry(request: Request) -> Response:
    delivery_id, domain, error = await _target(request)
    if error:
        return _page(request, error, 422)
    with writing(request) as session:
        _count, domains = dead_letters.retry(session, by_of(request),
                                             delivery_id=delivery_id, domain=domain)
    _nudge(request, domains)
    return done("/console/deliveries?done=" + ("retried" if domains else "none"))


@require_role(*ADMIN)
async def discard(request: Request) -> Response:
    delivery_id, domain, error = await _target(request)
    if error:
        return _page(request, error, 422)
    with writing(request) as session:
        count = dead_letters.discard(session, by_of(request), delivery_id=delivery_id,
                                     domain=domain)
    return done("/console/deliveries?done=" + ("discarded" if count else "none"))


routes = [
    Route("/console/deliveries", deliveries_page, methods=["GET"]),
    Route("/console/deliveries/retry", retry, methods=["POST"]),
    Route("/console/deliveries/discard", discard, methods=["POST"]),
]
