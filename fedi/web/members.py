"""Members: the ``/members`` and ``/actor/links`` collections (linked hubs only) and the sign-up
pages behind an invite link (French first, English too). The directory page is the member
site's (fedi.site.directory)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fedi.db import transaction
from fedi.i18n import browser_language, translate
from fedi.keys import generate_private_key_pem
from fedi.models import Actor, TradeCategory
from fedi.services.accounts_profile import announce_new_member
from fedi.services.invites import InviteError, usable_invite
from fedi.services.mesh import links_collection, members_collection
from fedi.services.passwords import PasswordsBusy, password_work_of
from fedi.services.registration import (
    RELATIONS,
    RegistrationError,
    SignupForm,
    application_by_token,
    check_form,
    normalise,
    register,
)
from fedi.services.territory import city_for
from fedi.services.trades import label, list_trades
from fedi.verification import RequestRejected
from fedi.vocab.context import accepts_activitypub
from fedi.web.signed import ap_json, not_found, rejected, verify
from fedi.web.state import Hub, hub_of

PAGE_HEADERS = {"Cache-Control": "no-store", "X-Frame-Options": "DENY",
                "Referrer-Policy": "no-referrer", "Vary": "Accept-Language"}
FIELDS = ("display_name", "username", "email", "password", "trade", "business_name",
          "postal_code", "relation")
MAX_FIELD = 2000
TOKEN_IN_URL_FR = ("Les jetons d'accès dans l'adresse sont refusés (ils finissent dans les "
                   "journaux et l'historique) : envoyez-le dans l'en-tête Authorization.")


def language(request: Request, form: dict[str, str] | None = None) -> str:
    wanted = (form or {}).get("lang") or request.query_params.get("lang")
    if wanted in ("fr", "en"):
        return wanted
    return browser_language(request.headers.get("accept-language"))


# --- collections for linked hubs -----------------------------------------------------------


async def _linked_hub(request: Request) -> Response | None:
    """None when a linked hub signed this request, else the answer to give."""
    if not accepts_activitypub(request.headers.get("accept", "")):
        return not_found()
    try:
        signer = await verify(request)
    except RequestRejected as exc:
        return rejected(exc)
    if not hub_of(request).peers.is_linked(signer.domain):
        return not_found()  # asked to link but not linked yet: nothing to see
    return None


async def get_members(request: Request) -> Response:
    refusal = await _linked_hub(request)
    if refusal is not None:
        return refusal
    hub = hub_of(request)
    page: int | None = None
    raw = request.query_params.get("page")
    if raw is not None:
        if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= 10_000:
            return not_found()
        page = int(raw)
    with hub.sessions() as session:
        doc = members_collection(session, hub.urls, page)
    return ap_json(doc)


async def get_links(request: Request) -> Response:
    refusal = await _linked_hub(request)
    if refusal is not None:
        return refusal
    hub = hub_of(request)
    with hub.sessions() as session:
        doc = links_collection(session, hub.settings, hub.urls)
    return ap_json(doc)


# --- sign-up ---------------------------------------------------------------------------------


def _page(request: Request, template: str, context: dict[str, Any], status: int = 200) -> Response:
    hub = hub_of(request)
    return hub.templates.TemplateResponse(request, template, {"hub_name": hub.settings.name,
                                                              **context},
                                          status_code=status, headers=PAGE_HEADERS)


def _trades(hub: Hub, lang: str) -> list[tuple[str, str]]:
    with hub.sessions() as session:
        return [(t.slug, label(t, lang)) for t in list_trades(session)]


def _form_page(request: Request, hub: Hub, code: str, lang: str, values: dict[str, str],
               error: RegistrationError | None = None, status: int = 200) -> Response:
    city = city_for(hub.settings)
    return _page(request, "signup/form.html", {
        "lang": lang, "code": code, "values": values, "trades": _trades(hub, lang),
        "relations": RELATIONS, "error": error.message(lang) if error else None,
        "error_field": error.field if error else None,
        "territory": ", ".join(hub.settings.territory),
        "territory_names": city.describe(hub.settings.territory),
    }, status)


def _invite_problem(hub: Hub, code: str) -> InviteError | None:
    with hub.sessions() as session:
        try:
            usable_invite(session, code)
        except InviteError as exc:
            return exc
    return None


async def signup_page(request: Request) -> Response:
    hub = hub_of(request)
    code = request.path_params["code"][:64]
    lang = language(request)
    problem = _invite_problem(hub, code)
    if problem is not None:
        return _page(request, "signup/invalid.html", {"lang": lang,
                                                      "message": problem.message(lang)}, 404)
    return _form_page(request, hub, code, lang, {"relation": "lives"})


BAD_FORM = ("This form could not be read: send it again from the invite page.",
            "Ce formulaire n'a pas pu être lu : renvoyez-le depuis la page d'invitation.")
BUSY = ("The hub is busy: send the form again in a moment.",
        "Le hub est très sollicité : renvoyez le formulaire dans un instant.")


async def signup_submit(request: Request) -> Response:
    hub = hub_of(request)
    code = request.path_params["code"][:64]
    try:
        async with request.form(max_files=0, max_fields=20) as form:
            values = {k: v[:MAX_FIELD] if isinstance(v := form.get(k, ""), str) else ""
                      for k in (*FIELDS, "lang", "agreement")}
    except (HTTPException, MultiPartException):  # too many fields, files, a broken body
        lang = language(request)
        return _page(request, "signup/invalid.html",
                     {"lang": lang, "message": BAD_FORM[lang == "fr"]}, 400)
    lang = language(request, values)
    signup = SignupForm(invite_code=code, username=values["username"], email=values["email"],
                        password=values["password"], postal_code=values["postal_code"],
                        relation=values["relation"], trade=values["trade"],
                        display_name=values["display_name"],
                        business_name=values["business_name"], locale=lang,
                        agreement=values["agreement"] == "on")

    def check() -> str:
        with hub.read_sessions() as session:
            return check_form(session, hub.settings, normalise(signup))[2]

    def run(password_hash: str, key: str | None) -> tuple[str, str | None, str | None]:
        from fedi.app import publish_context  # the composition root builds it

        with transaction(hub.sessions) as session:
            outcome = register(session, hub.settings, signup, password_hash=password_hash,
                               private_key_pem=key)
            if outcome.user is not None:
                announce_new_member(session, publish_context(hub), outcome.user.actor_id)
            username = outcome.user and session.scalar(
                select(Actor.username).where(Actor.id == outcome.user.actor_id))
            return outcome.state, outcome.status_token, username

    try:
        # Check first (a refused sign-up costs no hash), hash and make the new member's key
        # outside any transaction, then check again and write in one short transaction.
        becomes = await run_in_threadpool(check)
        password_hash = await password_work_of(hub.extras).hash(signup.password)
        key = (await run_in_threadpool(generate_private_key_pem)
               if becomes == "member" else None)
        state, token, username = await run_in_threadpool(run, password_hash, key)
    except PasswordsBusy:
        values.pop("password", None)
        return _form_page(request, hub, code, lang, values,
                          RegistrationError("base", "ERR_BUSY", *BUSY), 503)
    except RegistrationError as exc:
        values.pop("password", None)
        if exc.field == "invite_code" or exc.code == "ERR_CLOSED":
            return _page(request, "signup/invalid.html", {"lang": lang,
                                                          "message": exc.message(lang)}, 403)
        return _form_page(request, hub, code, lang, values, exc, 422)
    status_url = f"{hub.urls.base}/signup/status/{token}" if token else None
    return _page(request, "signup/done.html", {"lang": lang, "state": state,
                                               "username": username,
                                               "domain": hub.settings.domain,
                                               "status_url": status_url})


async def signup_status(request: Request) -> Response:
    hub = hub_of(request)
    lang = language(request)
    with hub.sessions() as session:
        application = application_by_token(session, request.path_params["token"])
        if application is None:
            return _page(request, "signup/invalid.html", {
                "lang": lang, "message": translate(lang, "This link is not valid.")}, 404)
        trade = session.scalar(select(TradeCategory).where(
            TradeCategory.slug == application.trade))
        context = {"lang": lang, "state": application.state, "username": application.username,
                   "trade": label(trade, lang) if trade else application.trade,
                   "reason": application.reason, "domain": hub.settings.domain}
    return _page(request, "signup/status.html", context)


routes = [
    Route("/members", get_members),
    Route("/actor/links", get_links),
    Route("/invite/{code}", signup_page, methods=["GET"]),
    Route("/invite/{code}", signup_submit, methods=["POST"]),
    Route("/signup/status/{token}", signup_status),
]
