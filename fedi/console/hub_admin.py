"""Admin-only console pages: trade categories and the trade rule, linked hubs (link,
unlink, refuse, with their delivery health) and the hub settings. Moderators get 403."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fedi.config import normalize_domain
from fedi.console.access import ADMIN, by_of, done, page, reading, require_role, writing
from fedi.i18n import N_, translate, translate_text
from fedi.models import Neighbour
from fedi.services import audit, neighbours, trades
from fedi.services.domains import other_servers
from fedi.services.hub_health import domain_health, link_health
from fedi.services.hub_settings import IDENTITY, SPECS, SettingError, all_settings, set_setting
from fedi.site.page import publish_ctx, read_form
from fedi.web.state import hub_of
from fedi.web.templating import request_language

NOTICES = {"saved": N_("Your changes were saved."), "linked": N_("The link is requested."),
           "unlinked": N_("The link is ended."), "allowed": N_("The domain is allowed."),
           "blocked": N_("The domain is blocked."),
           "removed": N_("The domain is neither allowed nor blocked any more.")}


# The hub's name, description, territory and default audience have their own page
# (fedi/console/identity.py).
GENERAL = {key: spec for key, spec in SPECS.items() if key not in IDENTITY}


def _notice(request: Request, lang: str) -> str | None:
    notice = NOTICES.get(request.query_params.get("done", ""))
    return translate(lang, notice) if notice else None


def _trades_page(request: Request, error: str | None = None, status: int = 200,
                 values: dict[str, str] | None = None) -> Response:
    lang = request_language(request)
    with reading(request) as session:
        rows = [(t, len(trades.holders(session, t.slug))) for t in trades.list_trades(session)]
        rule = trades.rule_is_on(session)
        crowded = trades.crowded_trades(session) if rule else []
    return page(request, "console/trades.html", {
        "nav": "trades", "rows": rows, "rule": rule, "crowded": crowded, "error": error,
        "values": values or {}, "notice": _notice(request, lang)}, status=status)


@require_role(*ADMIN)
async def trades_page(request: Request) -> Response:
    return _trades_page(request)


@require_role(*ADMIN)
async def add_trade(request: Request) -> Response:
    form = await read_form(request, ("label_fr", "label_en"), limit=500)
    lang = request_language(request)
    by = by_of(request)
    try:
        with writing(request) as session:
            row = trades.add_trade(session, form["label_fr"], form["label_en"] or None)
            audit.record(session, by.username, by.role, "trade.add", row.slug,
                         {"fr": row.label_fr, "en": row.label_en})
    except trades.TradeError as exc:
        message = exc.message_fr if lang == "fr" else str(exc)
        return _trades_page(request, message, 422, form)
    return done("/console/trades?done=saved")


@require_role(*ADMIN)
async def trade_rule(request: Request) -> Response:
    form = await read_form(request, ("rule",), limit=10)
    by = by_of(request)
    with writing(request) as session:
        trades.set_trade_rule(session, form["rule"] == "on")
        audit.record(session, by.username, by.role, "trade.rule", "trade_rule",
                     {"on": form["rule"] == "on"})
    return done("/console/trades?done=saved")


def _neighbours_page(request: Request, error: str | None = None, status: int = 200,
                     domain: str = "", other: dict[str, str] | None = None) -> Response:
    lang = request_language(request)
    with reading(request) as session:
        health = {h.domain: h for h in link_health(session)}
        rows = list(session.scalars(select(Neighbour).order_by(Neighbour.domain)))
        others = other_servers(session, hub_of(request).settings)
        listed = {row.domain for row in rows}
        configured = [domain_health(session, d, "linked") for d in
                      hub_of(request).settings.neighbours if d not in listed]
    return page(request, "console/neighbours.html", {
        "nav": "neighbours", "rows": rows, "health": health, "ended": neighbours.ENDED,
        "error": error, "domain": domain, "notice": _notice(request, lang),
        "others": others, "other": other or {}, "configured": configured}, status=status)


@require_role(*ADMIN)
async def neighbours_page(request: Request) -> Response:
    return _neighbours_page(request)


async def _link_action(request: Request, action: str, raw: str) -> Response:
    lang = request_language(request)
    hub = hub_of(request)
    try:
        domain = normalize_domain(raw)
    except ValueError:
        return _neighbours_page(request, translate(lang, "This is not a hub's domain name."),
                                422, raw[:255])
    if domain == hub.settings.domain:
        return _neighbours_page(request, translate(lang, "This is not a hub's domain name."),
                                422, raw[:255])
    if action == "link" and hub.peers.is_blocked(domain):
        return _neighbours_page(request, translate(
            lang, "This domain is blocked: unblock it first."), 422, domain)
    by = by_of(request)
    try:
        with writing(request) as session:
            ctx = publish_ctx(hub)
            if action == "link":
                neighbours.request_link(session, ctx, domain, source="admin")
            elif action == "refuse":
                neighbours.refuse_request(session, ctx, domain)
            else:
                neighbours.unlink(session, ctx, domain)
            audit.record(session, by.username, by.role, f"neighbour.{action}", domain)
    except neighbours.LinkError as exc:
        return _neighbours_page(request, translate(
            lang, "This cannot be done: %(why)s") % {"why": str(exc)}, 422, domain)
    hub.peers.invalidate()
    return done("/console/neighbours?done=" + ("linked" if action == "link" else "unlinked"))


@require_role(*ADMIN)
async def link(request: Request) -> Response:
    form = await read_form(request, ("domain",), limit=300)
    return await _link_action(request, "link", form["domain"].strip())


@require_role(*ADMIN)
async def unlink(request: Request) -> Response:
    return await _link_action(request, "unlink", request.path_params["domain"][:255])


@require_role(*ADMIN)
async def refuse(request: Request) -> Response:
    return await _link_action(request, "refuse", request.path_params["domain"][:255])


def _settings_page(request: Request, errors: dict[str, str] | None = None, status: int = 200,
                   values: dict[str, Any] | None = None) -> Response:
    lang = request_language(request)
    with reading(request) as session:
        current = all_settings(session)
    specs = [(key, spec.help_fr if lang == "fr" else spec.help_en, (values or current)[key],
              isinstance(spec.default, bool)) for key, spec in GENERAL.items()]
    return page(request, "console/settings.html", {
        "nav": "settings", "specs": specs, "errors": errors or {},
        "error": translate(lang, "Some settings are not valid: nothing was changed.")
        if errors else None, "notice": _notice(request, lang)}, status=status)


@require_role(*ADMIN)
async def settings_page(request: Request) -> Response:
    return _settings_page(request)


@require_role(*ADMIN)
async def save_settings(request: Request) -> Response:
    form = await read_form(request, tuple(GENERAL), limit=200)
    lang = request_language(request)
    values: dict[str, Any] = {}
    for key, spec in GENERAL.items():
        values[key] = form[key] == "on" if isinstance(spec.default, bool) else form[key]
    errors: dict[str, str] = {}
    for key, spec in GENERAL.items():
        try:
            spec.parse(values[key])
        except SettingError as exc:
            errors[key] = translate_text(lang, str(exc))
    if errors:
        return _settings_page(request, errors, 422, values)
    by = by_of(request)
    with writing(request) as session:
        before = all_settings(session)
        for key, value in values.items():
            if before[key] != spec_value(key, value):
                set_setting(session, key, value)
                audit.record(session, by.username, by.role, "settings.set", key,
                             {"from": str(before[key]), "to": str(value)})
    return done("/console/settings?done=saved")


def spec_value(key: str, value: Any) -> Any:
    return SPECS[key].parse(value)


routes = [
    Route("/console/trades", trades_page, methods=["GET"]),
    Route("/console/trades", add_trade, methods=["POST"]),
    Route("/console/trades/rule", trade_rule, methods=["POST"]),
    Route("/console/neighbours", neighbours_page, methods=["GET"]),
    Route("/console/neighbours", link, methods=["POST"]),
    Route("/console/neighbours/{domain}/unlink", unlink, methods=["POST"]),
    Route("/console/neighbours/{domain}/refuse", refuse, methods=["POST"]),
    Route("/console/settings", settings_page, methods=["GET"]),
    Route("/console/settings", save_settings, methods=["POST"]),
]
