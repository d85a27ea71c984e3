"""``/settings/profile``: a member edits their card. The neighbourhood rules of sign-up hold:
the postal code inside the hub's territory, a trade from the hub's list, free under the
one-member-per-trade rule (the member's own current trade is always kept). Whether the card
is listed in the directory (here and in linked hubs') is the member's choice."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fedi.convert.model_to_api import plain_text
from fedi.i18n import translate
from fedi.models import Actor, User, UserSettings
from fedi.services.accounts_profile import MAX_FIELDS, ProfileChanges, ProfileError, update_profile
from fedi.services.registration import RegistrationError
from fedi.services.territory import POSTAL_RE, city_for, in_territory
from fedi.services.trades import TradeError, TradeTaken, check_trade_change, label, list_trades
from fedi.site.page import back, publish_ctx, read_form, read_form_lists, reading, show, writing
from fedi.web.session import require_member
from fedi.web.state import Hub, hub_of
from fedi.web.templating import request_language

FIELDS = ("display_name", "note", "business_name", "trade", "postal_code", "website",
          "discoverable")


def _values(actor: Actor, settings: UserSettings | None) -> dict[str, Any]:
    fields = [(str(f.get("name", "")), str(f.get("value", ""))) for f in actor.fields or []]
    fields += [("", "")] * (MAX_FIELDS - len(fields))
    return {"display_name": actor.display_name, "business_name": actor.business_name or "",
            "trade": actor.trade or "", "postal_code": actor.postal_code or "",
            "website": actor.website or "", "discoverable": actor.discoverable,
            "note": settings.note_source if settings and settings.note_source
            else plain_text(actor.summary or ""), "fields": fields[:MAX_FIELDS]}


def _form(request: Request, values: dict[str, Any], error: str | None = None,
          error_field: str | None = None, status: int = 200) -> Response:
    hub = hub_of(request)
    lang = request_language(request)
    with reading(request) as (session, _actor, _user):
        trades = [(t.slug, label(t, lang)) for t in list_trades(session)]
    city = city_for(hub.settings)
    return show(request, "site/pages/profile_edit.html", {
        "nav": "profile", "values": values, "trades": trades, "error": error,
        "error_field": error_field, "saved": request.query_params.get("saved") == "1",
        "territory": ", ".join(hub.settings.territory),
        "territory_names": city.describe(hub.settings.territory),
    }, status=status)


@require_member
async def edit_page(request: Request) -> Response:
    with reading(request) as (session, actor, user):
        values = _values(actor, session.get(UserSettings, user.id))
    return _form(request, values)


def _check_place(hub: Hub, lang: str, code: str) -> str | None:
    if not POSTAL_RE.match(code):
        return translate(lang, "The postal code must be 5 digits (e.g. 75011).")
    if not in_territory(hub.settings, code):
        return translate(lang, "This postal code is outside the hub's territory: members live "
                               "or work in the neighbourhood.")
    return None


@require_member
async def save(request: Request) -> Response:
    hub = hub_of(request)
    lang = request_language(request)
    form = await read_form(request, FIELDS, limit=5000)
    lists = await read_form_lists(request, ("field_name", "field_value"))
    pairs = list(zip(lists["field_name"], lists["field_value"], strict=False))[:MAX_FIELDS]
    values: dict[str, Any] = {**form, "discoverable": form["discoverable"] == "on",
                              "fields": pairs + [("", "")] * (MAX_FIELDS - len(pairs))}
    code = form["postal_code"].strip()
    problem = _check_place(hub, lang, code)
    if problem is not None:
        return _form(request, values, problem, "postal_code", 422)
    changes = ProfileChanges(
        display_name=form["display_name"], note=form["note"], business_name=form["business_name"],
        postal_code=code, website=form["website"].strip(),
        fields=[(n, v) for n, v in pairs if n.strip() or v.strip()],
        discoverable=form["discoverable"] == "on")
    error: tuple[str, str] | None = None
    with writing(request) as (session, actor, user):
        try:
            slug = check_trade_change(session, actor, form["trade"])
        except TradeError as exc:
            error = (exc.message_fr if lang == "fr" else str(exc), "trade")
        except TradeTaken as exc:
            # The waiting-list entry (when the hub keeps one) stays; the profile is unchanged.
            error = (exc.message(lang), "trade")
        if error is None:
            try:
                update_profile(session, publish_ctx(hub), actor,
                               ProfileChanges(**{**changes.__dict__, "trade": slug}))
            except ProfileError as exc:
                error = (translate(lang, "This profile could not be saved:") + f" {exc}", "")
            except RegistrationError as exc:
                error = (exc.message(lang), exc.field)
            # Validation comes before any change (apply_changes): on error nothing changed.
            if error is None:
                _keep_note_source(session, user, form["note"])
    if error is not None:
        return _form(request, values, error[0], error[1], 422)
    return back("/settings/profile?saved=1")


def _keep_note_source(session: Any, user: User, note: str) -> None:
    """The bio as typed, as ``update_credentials`` keeps it (apps show it for editing)."""
    settings = session.get(UserSettings, user.id)
    if settings is None:
        settings = UserSettings(user_id=user.id, note_source="", default_sensitive=False)
        session.add(settings)
    settings.note_source = note.strip()


routes = [
    Route("/settings/profile", edit_page, methods=["GET"], name="profile_edit"),
    Route("/settings/profile", save, methods=["POST"]),
]
