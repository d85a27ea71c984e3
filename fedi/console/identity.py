"""``/console/settings/hub``: admins set the hub's name, description, territory and the
default audience of new members. Empty fields mean "as in voisins.toml"; a saved change
shows on every page, in apps and in the hub's actor at once (fedi.services.hub_identity),
and goes to the audit log."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fedi.console.access import ADMIN, by_of, done, page, reading, require_role, writing
from fedi.i18n import translate, translate_text
from fedi.services import audit
from fedi.services.hub_identity import announce_hub, apply_identity, config_identity
from fedi.services.hub_settings import IDENTITY, SPECS, SettingError, all_settings, set_setting
from fedi.site.page import publish_ctx, read_form
from fedi.web.state import hub_of
from fedi.web.templating import request_language

LIMITS = {"hub_name": 200, "hub_description": 2000, "territory": 600, "default_audience": 40}


def _page(request: Request, errors: dict[str, str] | None = None, status: int = 200,
          values: dict[str, Any] | None = None) -> Response:
    lang = request_language(request)
    hub = hub_of(request)
    with reading(request) as session:
        current = {key: all_settings(session)[key] for key in IDENTITY}
    base = config_identity(hub.settings)
    return page(request, "console/hub_identity.html", {
        "nav": "settings", "values": values or current, "errors": errors or {},
        "config": {"hub_name": base.name, "hub_description": base.description,
                   "territory": ", ".join(base.territory)},
        "shown": {"name": hub.settings.name, "territory": ", ".join(hub.settings.territory)},
        "error": translate(lang, "Some settings are not valid: nothing was changed.")
        if errors else None,
        "notice": translate(lang, "Your changes were saved.")
        if request.query_params.get("done") == "saved" else None}, status=status)


@require_role(*ADMIN)
async def identity_page(request: Request) -> Response:
    return _page(request)


@require_role(*ADMIN)
async def save_identity(request: Request) -> Response:
    form = await read_form(request, IDENTITY, limit=max(LIMITS.values()))
    lang = request_language(request)
    parsed: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key in IDENTITY:
        if len(form[key]) > LIMITS[key]:
            errors[key] = translate(lang, "Too long.")
            continue
        try:
            parsed[key] = SPECS[key].parse(form[key])
        except SettingError as exc:
            errors[key] = translate_text(lang, str(exc))
    if errors:
        return _page(request, errors, 422, dict(form))
    hub = hub_of(request)
    by = by_of(request)
    with writing(request) as session:
        before = all_settings(session)
        for key in IDENTITY:
            if before[key] != parsed[key]:
                set_setting(session, key, parsed[key])
                audit.record(session, by.username, by.role, "settings.set", key,
                             {"from": str(before[key])[:200], "to": str(parsed[key])[:200]})
    changed = [key for key in IDENTITY if before[key] != parsed[key]]
    with writing(request) as session:  # this process at once, the others within seconds
        if apply_identity(session, hub.settings) and set(changed) & {"hub_name", "territory"}:
            announce_hub(session, publish_ctx(hub))
    hub.peers.invalidate()  # the territory decides which hubs border this one
    return done("/console/settings/hub?done=saved")


routes = [
    Route("/console/settings/hub", identity_page, methods=["GET"]),
    Route("/console/settings/hub", save_identity, methods=["POST"]),
]
