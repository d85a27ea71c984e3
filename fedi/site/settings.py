"""``/settings``: language, default audience, connected apps, calendar feed, password.

Every change is a small form posting to its own address and coming back with
``?saved=…`` (post/redirect/get). Changing the password ends the member's other sessions
and revokes every app token, so a stolen session or app is shut out.
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import NoMatchFound, Route

from fedi.db import transaction, utcnow
from fedi.i18n import LANGUAGES
from fedi.models import OAuthApp, OAuthToken, User
from fedi.services.passwords import PasswordsBusy, password_work_of
from fedi.web.session import end_other_sessions, member_of, require_member
from fedi.web.state import hub_of
from fedi.web.templating import render

# Stored as the Mastodon API value, as /api/v1/accounts/update_credentials does.
AUDIENCES = ("private", "unlisted", "public", "direct")
MAX_PASSWORD = 1024
MIN_PASSWORD = 8


def connected_apps(request: Request, user_id: int) -> list[dict[str, object]]:
    with hub_of(request).read_sessions() as session:
        rows = session.execute(
            select(OAuthApp.id, OAuthApp.name, OAuthApp.website, func.min(OAuthToken.created_at),
                   func.count(OAuthToken.id))
            .join(OAuthToken, OAuthToken.app_id == OAuthApp.id)
            .where(OAuthToken.user_id == user_id, OAuthToken.revoked_at.is_(None))
            .group_by(OAuthApp.id, OAuthApp.name, OAuthApp.website)
            .order_by(OAuthApp.name)
        ).all()
    return [{"id": r[0], "name": r[1], "website": r[2], "since": r[3], "tokens": r[4]}
            for r in rows]


def calendar_feed(request: Request) -> str | None:
    """The member's calendar feed page, once the events feature adds a route of that name."""
    try:
        return str(request.url_for("calendar_feed_settings").path)
    except NoMatchFound:
        return None


def settings_form(request: Request, error: str | None = None, status: int = 200) -> Response:
    member = member_of(request)
    return render(request, "site/settings.html", {
        "nav": "settings", "saved": request.query_params.get("saved"), "error": error,
        "languages": LANGUAGES, "audiences": AUDIENCES,
        "audience": member.user.default_visibility or "private",
        "apps": connected_apps(request, member.user.id), "calendar_feed": calendar_feed(request),
    }, status=status)


@require_member
async def settings_page(request: Request) -> Response:
    return settings_form(request)


def saved(what: str) -> Response:
    return RedirectResponse(f"/settings?saved={what}#{what}", status_code=303)


async def form_value(request: Request, name: str, max_len: int = 200) -> str:
    async with request.form() as form:
        value = form.get(name, "")
    if not isinstance(value, str) or len(value) > max_len:
        raise HTTPException(400, "bad form value")
    return value


@require_member
async def set_language(request: Request) -> Response:
    member = member_of(request)
    lang = await form_value(request, "lang", 8)
    if lang not in LANGUAGES:
        raise HTTPException(400, "unknown language")
    with transaction(hub_of(request).write_sessions) as session:
        session.execute(update(User).where(User.id == member.user.id).values(locale=lang))
    return saved("language")


@require_member
async def set_audience(request: Request) -> Response:
    member = member_of(request)
    audience = await form_value(request, "audience", 16)
    if audience not in AUDIENCES:
        raise HTTPException(400, "unknown audience")
    with transaction(hub_of(request).write_sessions) as session:
        session.execute(update(User).where(User.id == member.user.id)
                        .values(default_visibility=audience))
    return saved("audience")


async def _set_choice(request: Request, field: str, column: str) -> Response:
    """A settings checkbox: on when ticked, off when not (an unticked box sends nothing);
    any other value is refused and changes nothing."""
    member = member_of(request)
    wanted = await form_value(request, field, 8)
    if wanted not in ("", "on"):
        raise HTTPException(400, "bad form value")
    with transaction(hub_of(request).write_sessions) as session:
        session.execute(update(User).where(User.id == member.user.id)
                        .values({column: wanted == "on"}))
    return saved(field)


@require_member
async def set_digest(request: Request) -> Response:
    """« Recevoir le résumé hebdomadaire du hub » (fedi.services.digest)."""
    return await _set_choice(request, "digest", "digest_opt_in")


@require_member
async def set_reminders(request: Request) -> Response:
    """Event reminders by mail too (fedi.services.reminder_mail)."""
    return await _set_choice(request, "remind_by_email", "remind_by_email")


@require_member
async def revoke_app(request: Request) -> Response:
    member = member_of(request)
    raw = request.path_params.get("app_id", "")
    if not (str(raw).isascii() and str(raw).isdigit()) or len(str(raw)) > 20:
        raise HTTPException(404)
    with transaction(hub_of(request).write_sessions) as session:
        done = session.execute(
            update(OAuthToken)
            .where(OAuthToken.user_id == member.user.id, OAuthToken.app_id == int(raw),
                   OAuthToken.revoked_at.is_(None))
            .values(revoked_at=utcnow()))
    if not done.rowcount:  # type: ignore[attr-defined]
        raise HTTPException(404)
    return saved("apps")


@require_member
async def change_password(request: Request) -> Response:
    member = member_of(request)
    async with request.form() as form:
        values = {k: form.get(k, "") for k in ("current", "new", "confirm")}
    current, new, confirm = (v if isinstance(v, str) else "" for v in values.values())
    if len(new) < MIN_PASSWORD or len(new) > MAX_PASSWORD:
        return settings_form(request, "password_length", 422)
    if new != confirm:
        return settings_form(request, "password_mismatch", 422)
    with hub_of(request).read_sessions() as session:
        stored = session.scalar(select(User.password_hash).where(User.id == member.user.id))
    # argon2 runs in the hub's password queue with no transaction open (services/passwords.py):
    # the write lock is taken only to store the result.
    work = password_work_of(hub_of(request).extras)
    try:
        ok = stored is not None and len(current) <= MAX_PASSWORD and (
            await work.verify(stored, current)).ok
        if not ok:
            return settings_form(request, "password_wrong", 422)
        new_hash = await work.hash(new)
    except PasswordsBusy:
        return settings_form(request, "password_busy", 503)
    with transaction(hub_of(request).write_sessions) as session:
        changed = session.execute(update(User).where(User.id == member.user.id,
                                                     User.password_hash == stored)
                                  .values(password_hash=new_hash))
        if not changed.rowcount:  # type: ignore[attr-defined]
            raise HTTPException(409, "password changed meanwhile")
        end_other_sessions(session, member.user.id, member.token_hash)
        session.execute(update(OAuthToken).where(OAuthToken.user_id == member.user.id,
                                                 OAuthToken.revoked_at.is_(None))
                        .values(revoked_at=utcnow()))
    return saved("password")


routes = [
    Route("/settings", settings_page, methods=["GET"], name="settings"),
    Route("/settings/language", set_language, methods=["POST"]),
    Route("/settings/audience", set_audience, methods=["POST"]),
    Route("/settings/digest", set_digest, methods=["POST"]),
    Route("/settings/apps/{app_id}/revoke", revoke_app, methods=["POST"]),
    Route("/settings/password", change_password, methods=["POST"]),
    Route("/settings/reminders", set_reminders, methods=["POST"]),
]
