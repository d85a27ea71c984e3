"""``/console/settings/privacy``: admins edit the privacy policy (Markdown, French and
English). Each change is in the audit log with the size of both texts."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fedi.console.access import ADMIN, by_of, done, page, reading, require_role, writing
from fedi.i18n import translate
from fedi.services import audit, legal
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


routes = [
    Route("/console/settings/privacy", policy_page, methods=["GET"]),
    Route("/console/settings/privacy", save_policy, methods=["POST"]),
]
