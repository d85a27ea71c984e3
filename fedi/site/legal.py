"""``/privacy-policy`` and ``/rules``: public pages (no login needed, so that an invited
person reads them before signing up), French by default, English on ``?lang=en`` or for
members who chose English."""

from __future__ import annotations

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fedi.services.hub_rules import hub_rules
from fedi.services.legal import contact, policy_html, privacy_policy
from fedi.web.state import hub_of
from fedi.web.templating import render, request_language


def rule_text(text: str, lang: str) -> str:
    """Rules are written « français / English »: the part in ``lang``."""
    fr, sep, en = text.partition(" / ")
    return en if sep and lang == "en" else fr


async def privacy_page(request: Request) -> Response:
    hub = hub_of(request)
    lang = request_language(request)
    with hub.read_sessions() as session:
        policy = privacy_policy(session)
        html = policy_html(policy, lang, hub=hub.settings.name,
                           contact=contact(session, hub.settings.domain, lang),
                           base=hub.urls.base)
    return render(request, "site/legal.html", {
        "page": "privacy", "body": Markup(html), "updated_at": policy.updated_at})


async def rules_page(request: Request) -> Response:
    lang = request_language(request)
    with hub_of(request).read_sessions() as session:
        rules = [(rule_text(text, lang), rule_text(hint, lang) if hint else "")
                 for _id, text, hint in hub_rules(session)]
    return render(request, "site/legal.html", {"page": "rules", "rules": rules})


routes = [
    Route("/privacy-policy", privacy_page, methods=["GET"], name="privacy_policy"),
    Route("/rules", rules_page, methods=["GET"], name="rules"),
]
