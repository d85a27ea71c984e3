"""``POST /api/v1/accounts``: sign-up from a client app, with an invite code.

The same checks as the sign-up page (``fedi.services.registration``). Without a valid invite
the answer is 403 with a sentence saying why, as Mastodon answers when registrations are
closed; a field to correct is a 422 in Mastodon's shape (``error`` plus ``details`` per
field). Voisins asks more than Mastodon does: ``trade``, ``postal_code`` and ``relation``
(``lives``, ``works`` or ``both``); apps that do not send them get a 422 naming the field.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fedi.api.auth import Call, endpoint
from fedi.api.errors import ApiError
from fedi.api.tokens import issue_token
from fedi.i18n import browser_language
from fedi.keys import generate_private_key_pem
from fedi.models import OAuthApp
from fedi.services.accounts_profile import announce_new_member
from fedi.services.passwords import PasswordsBusy, password_work_of
from fedi.services.registration import (
    RegistrationError,
    SignupForm,
    check_form,
    normalise,
    register,
)


class ValidationFailed(ApiError):
    """Mastodon's 422: ``{"error": "Validation failed: …", "details": {field: [...]}}``."""

    def __init__(self, exc: RegistrationError, lang: str) -> None:
        super().__init__(422, f"Validation failed: {exc.message(lang)}")
        self.details = {exc.field: [{"error": exc.code, "description": exc.message(lang)}]}

    def response(self) -> Response:
        return JSONResponse({"error": self.message, "details": self.details}, status_code=422)


def _language(call: Call) -> str:
    locale = (call.params.str("locale", "", max_len=16) or "").lower()
    if locale.startswith(("fr", "en")):
        return locale[:2]
    return browser_language(call.request.headers.get("accept-language"))


async def _hash_once(call: Call, password: str) -> str:
    """The password's hash, made once per request: the endpoint wrapper may run the handler
    a second time in a write session, which must not hash while holding the lock."""
    cached = getattr(call.request.state, "password_hash", None)
    if cached is None:
        cached = await password_work_of(call.hub.extras).hash(password)
        call.request.state.password_hash = cached
    return str(cached)


async def _key_once(call: Call) -> str:
    """The new member's RSA key, made once per request and outside the transaction (as the
    password's hash): 50 to 200 ms of CPU that SQLite's write lock need not wait for."""
    cached = getattr(call.request.state, "private_key_pem", None)
    if cached is None:
        cached = await run_in_threadpool(generate_private_key_pem)
        call.request.state.private_key_pem = cached
    return str(cached)


async def create_account(call: Call) -> Any:
    p = call.params
    lang = _language(call)
    # Mastodon requires agreement=true: the rules and privacy policy, accepted (recorded).
    agreement = p.bool("agreement", False)
    form = SignupForm(
        invite_code=p.str("invite_code", "", max_len=200) or "",
        username=p.str("username", "", max_len=200) or "",
        email=p.str("email", "", max_len=400) or "",
        password=p.str("password", "", max_len=2000) or "",
        postal_code=p.str("postal_code", "", max_len=20) or "",
        relation=p.str("relation", "", max_len=20) or "",
        trade=p.str("trade", "", max_len=200) or "",
        display_name=p.str("display_name", "", max_len=200) or "",
        business_name=p.str("business_name", "", max_len=400) or "",
        locale=lang, agreement=bool(agreement))
    hub, session = call.hub, call.session
    try:
        # Check first (a refused sign-up costs no hash), then hash outside the transaction
        # (nothing written yet, so no write lock is held), then check again and write.
        becomes = check_form(session, hub.settings, normalise(form))[2]
        password_hash = await _hash_once(call, form.password)
        key = await _key_once(call) if becomes == "member" else None
        outcome = await run_in_threadpool(register, session, hub.settings, form,
                                          password_hash=password_hash, private_key_pem=key)
    except PasswordsBusy:
        raise ApiError(503, "The hub is busy: try again in a moment",
                       headers={"Retry-After": "5"}) from None
    except RegistrationError as exc:
        if exc.status == 403:
            raise ApiError(403, exc.message(lang)) from None
        raise ValidationFailed(exc, lang) from None
    if outcome.user is None:
        status_url = f"{hub.urls.base}/signup/status/{outcome.status_token}"
        message = ("Your application waits for the hub's admins." if lang == "en"
                   else "Votre demande attend la décision des admins du hub.")
        if outcome.state == "waitlisted":
            message = ("Your trade already has its member here: you are on the waiting list."
                       if lang == "en" else
                       "Votre métier a déjà son membre ici : vous êtes sur la liste d'attente.")
        return JSONResponse({"state": outcome.state, "message": message,
                             "status_url": status_url}, status_code=202)
    announce_new_member(session, call.ctx, outcome.user.actor_id)
    assert call.caller is not None
    app = session.scalar(select(OAuthApp).where(OAuthApp.id == call.caller.app_id))
    assert app is not None
    return issue_token(session, app, outcome.user.id, app.scopes.split())


routes = [
    Route("/api/v1/accounts", endpoint("write:accounts", auth="token")(create_account),
          methods=["POST"]),
]
