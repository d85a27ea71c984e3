"""``/console/domains``: allow or block another domain, or lift that decision (admins only;
the list, with each domain's delivery health, is on the neighbours page)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fedi.console.access import ADMIN, by_of, done, require_role, writing
from fedi.console.hub_admin import _neighbours_page
from fedi.i18n import translate
from fedi.services import domains
from fedi.site.page import publish_ctx, read_form
from fedi.web.state import hub_of
from fedi.web.templating import request_language


def _after_change(request: Request, domain: str) -> None:
    """The serving process sees the change at once; a delivery worker here stops or resumes."""
    hub = hub_of(request)
    hub.peers.invalidate()
    worker = hub.extras.get("delivery_worker")
    if worker is not None:
        worker.breaker.forget(domain)


@require_role(*ADMIN)
async def decide(request: Request) -> Response:
    form = await read_form(request, ("domain", "policy", "reason"), limit=600)
    lang = request_language(request)
    hub = hub_of(request)
    raw = form["domain"].strip()
    if form["policy"] not in ("allow", "block"):
        return _neighbours_page(request, translate(lang, "Choose to allow or to block."), 422,
                                other=form)
    try:
        domain = domains.clean_domain(raw, hub.settings.domain)
        if len(form["reason"]) > domains.MAX_REASON:
            raise domains.DomainError("The reason is too long (500 characters at most).",
                                      "La raison est trop longue (500 caractères au plus).")
    except domains.DomainError as exc:
        return _neighbours_page(request, exc.message(lang), 422, other=form)
    by = by_of(request)
    with writing(request) as session:
        if form["policy"] == "allow":
            domains.allow(session, by, domain, form["reason"])
        else:
            domains.block(session, publish_ctx(hub), by, domain, form["reason"])
    _after_change(request, domain)
    return done("/console/neighbours?done=" + ("allowed" if form["policy"] == "allow"
                                               else "blocked"))


@require_role(*ADMIN)
async def remove(request: Request) -> Response:
    lang = request_language(request)
    raw = request.path_params["domain"][:300]
    try:
        domain = domains.clean_domain(raw, hub_of(request).settings.domain)
        with writing(request) as session:
            domains.remove(session, by_of(request), domain)
    except domains.DomainError as exc:
        return _neighbours_page(request, exc.message(lang), 422)
    _after_change(request, domain)
    return done("/console/neighbours?done=removed")


routes = [
    Route("/console/domains", decide, methods=["POST"]),
    Route("/console/domains/{domain}/remove", remove, methods=["POST"]),
]
