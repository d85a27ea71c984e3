"""``/console/settings/privacy`` and ``/console/settings/rules``: admins edit the privacy
policy (Markdown, French and English) and the hub's rules. Each change is in the audit
log."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fedi.console.access import ADMIN, by_of, done, page, reading, require_role, writing
from fedi.i18n import translate
from fedi.models import HubSetting
from fedi.services import audit, hub_rules, legal
from fedi.site.page import read_form
from fedi.web.templating import request_language


def _policy_page(request: Request, error: str | None = None, status: int = 200,
                 values: dict[str, str] | None = None) -> Response:
    lang = request_language(request)
    with reading(request) as session:
        policy = legal.privacy_policy(session)
    texts = values or {"fr": policy.fr, "en": policy.en}
    return page(request, "console/privacy.html", {
        "nav": "settings", "texts": texts, "custom": policy.custom,
        "updated_at": policy.updated_at, "error": error,
        "notice": translate(lang, "Your changes were saved.")
        if request.query_params.get("done") == "saved" else None}, status=status)


@require_role(*ADMIN)
async def policy_page(request: Request) -> Response:
    return _policy_page(request)


@require_role(*ADMIN)
async def save_policy(request: Request) -> Response:
    form = await read_form(request, ("fr", "en", "reset"), limit=legal.MAX_SOURCE + 1)
    lang = request_language(request)
    fr, en = ("", "") if form["reset"] == "on" else (form["fr"], form["en"])
    by = by_of(request)
    try:
        with writing(request) as session:
            policy = legal.set_privacy_policy(session, fr, en)
            audit.record(session, by.username, by.role, "settings.privacy_policy",
                         "privacy_policy", {"fr_chars": len(fr), "en_chars": len(en),
                                            "default": not policy.custom})
    except legal.PolicyError as exc:
        return _policy_page(request, exc.message(lang), 422, {"fr": fr, "en": en})
    return done("/console/settings/privacy?done=saved")


def _rules_page(request: Request, error: str | None = None, status: int = 200,
                text: str | None = None) -> Response:
    lang = request_language(request)
    with reading(request) as session:
        rules = hub_rules.hub_rules(session)
        custom = session.get(HubSetting, hub_rules.KEY) is not None
    return page(request, "console/rules.html", {
        "nav": "settings", "text": hub_rules.as_text(rules) if text is None else text,
        "custom": custom, "error": error, "max_rules": hub_rules.MAX_RULES,
        "notice": translate(lang, "Your changes were saved.")
        if request.query_params.get("done") == "saved" else None}, status=status)


@require_role(*ADMIN)
async def rules_page(request: Request) -> Response:
    return _rules_page(request)


@require_role(*ADMIN)
async def save_rules(request: Request) -> Response:
    form = await read_form(request, ("rules", "reset"), limit=10_000)
    lang = request_language(request)
    text = "" if form["reset"] == "on" else form["rules"]
    by = by_of(request)
    try:
        with writing(request) as session:
            rules = hub_rules.set_rules(session, text)
            audit.record(session, by.username, by.role, "settings.rules", "rules",
                         {"rules": [f"{rule_id}. {rule_text}"[:120]
                                    for rule_id, rule_text, _hint in rules]})
    except hub_rules.RulesError as exc:
        return _rules_page(request, exc.message(lang), 422, text)
    return done("/console/settings/rules?done=saved")


routes = [
    Route("/console/settings/privacy", policy_page, methods=["GET"]),
    Route("/console/settings/privacy", save_policy, methods=["POST"]),
    Route("/console/settings/rules", rules_page, methods=["GET"]),
    Route("/console/settings/rules", save_rules, methods=["POST"]),
]
