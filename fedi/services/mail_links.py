"""Mail a member or applicant: single-use links (password reset, email confirmation) and the
notices of sign-up (invitation, application received / approved / refused).

Every message is queued in the caller's transaction (fedi.mail.queue): it leaves only if the
change it tells about is committed. Links hold a random token; only its SHA-256 is stored,
and a link works once (``used_at`` is set by an update that only one request can win).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from fedi.config import Settings
from fedi.db import utcnow
from fedi.mail.messages import compose
from fedi.mail.queue import enqueue
from fedi.models import Actor, Application, Invite, MailToken, OAuthCode, OAuthToken, User

RESET_LIFETIME = timedelta(hours=1)
CONFIRM_LIFETIME = timedelta(days=7)
DUMMY_EMAIL = "nobody@invalid.example"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _language(value: str | None) -> str:
    return "en" if value == "en" else "fr"


def _new_token(session: Session, user: User, purpose: str, lifetime: timedelta,
               now: datetime) -> str:
    token = secrets.token_urlsafe(32)
    session.add(MailToken(token_hash=digest(token), user_id=user.id, purpose=purpose,
                          email=user.email, expires_at=now + lifetime, created_at=now))
    return token


def _username(session: Session, user: User) -> str:
    return session.scalar(select(Actor.username).where(Actor.id == user.actor_id)) or ""


# --- email confirmation ----------------------------------------------------------------------


def send_confirmation(session: Session, settings: Settings, user: User, *,
                      now: datetime | None = None) -> None:
    """Mail ``user`` a link that confirms their address (sign-up, approval)."""
    now = now or utcnow()
    token = _new_token(session, user, "confirm", CONFIRM_LIFETIME, now)
    lang = _language(user.locale)
    message = compose("confirm", lang, {
        "hub": settings.name, "username": _username(session, user),
        "link": f"{settings.base_url}/email/confirm/{token}"})
    enqueue(session, "confirm", user.email, lang, message, now=now)


def confirm_email(session: Session, token: str, *, now: datetime | None = None) -> bool:
    """Record the confirmation of the address the link was sent to; False if the link is
    unknown, used, expired, or the member changed address since."""
    now = now or utcnow()
    if not token or len(token) > 128:
        return False
    row = session.get(MailToken, digest(token))
    if row is None or row.purpose != "confirm" or row.expires_at <= now:
        return False
    user = session.get(User, row.user_id)
    if user is None or user.email.lower() != row.email.lower():
        return False
    used = session.execute(update(MailToken).where(MailToken.token_hash == row.token_hash,
                                                   MailToken.used_at.is_(None))
                           .values(used_at=now))
    if used.rowcount != 1:  # type: ignore[attr-defined]
        return False
    user.email_confirmed_at = user.email_confirmed_at or now
    return True


# --- password reset ----------------------------------------------------------------------


def active_user_by_email(session: Session, email: str) -> User | None:
    email = email.strip()
    if not email or len(email) > 320 or "@" not in email:
        return None
    return session.scalar(
        select(User).join(Actor, Actor.id == User.actor_id)
        .where(func.lower(User.email) == email.lower(), User.disabled.is_(False),
               Actor.deleted_at.is_(None)))


def request_reset(session: Session, settings: Settings, email: str, lang: str, *,
                  now: datetime | None = None) -> None:
    """Mail a reset link to the member with this address, if there is one.

    The same work either way (a token made, a message rendered; queued only for a member),
    so neither the answer nor its timing tells whether the address is registered."""
    now = now or utcnow()
    user = active_user_by_email(session, email)
    token = secrets.token_urlsafe(32)
    language = _language(user.locale if user is not None else lang)
    message = compose("reset", language, {
        "hub": settings.name,
        "username": _username(session, user) if user is not None else "",
        "link": f"{settings.base_url}/password/reset/{token}", "minutes": 60})
    if user is None:
        digest(token)
        return
    session.add(MailToken(token_hash=digest(token), user_id=user.id, purpose="reset",
                          email=user.email, expires_at=now + RESET_LIFETIME, created_at=now))
    enqueue(session, "reset", user.email, language, message, now=now)


def reset_target(session: Session, token: str, *, now: datetime | None = None) -> int | None:
    """The member a reset link is for, while it is unused and under an hour old."""
    now = now or utcnow()
    if not token or len(token) > 128:
        return None
    row = session.get(MailToken, digest(token))
    if row is None or row.purpose != "reset" or row.used_at is not None or row.expires_at <= now:
        return None
    return row.user_id


def reset_password(session: Session, token: str, password_hash: str, *,
                   now: datetime | None = None) -> int | None:
    """Use the link once: set the new password (hashed beforehand, outside the transaction),
    revoke every API token and pending authorization code of the member, and return their
    id (the caller ends their web sessions in the same transaction:
    ``fedi.web.session.end_all_sessions``). None if the link is no longer good."""
    now = now or utcnow()
    user_id = reset_target(session, token, now=now)
    if user_id is None:
        return None
    used = session.execute(update(MailToken).where(MailToken.token_hash == digest(token),
                                                   MailToken.used_at.is_(None))
                           .values(used_at=now))
    if used.rowcount != 1:  # type: ignore[attr-defined]
        return None
    user = session.get(User, user_id)
    if user is None:
        return None
    user.password_hash = password_hash
    # The link came through this address: it is confirmed too.
    user.email_confirmed_at = user.email_confirmed_at or now
    session.execute(delete(OAuthCode).where(OAuthCode.user_id == user_id))
    session.execute(update(OAuthToken).where(OAuthToken.user_id == user_id,
                                             OAuthToken.revoked_at.is_(None))
                    .values(revoked_at=now))
    session.execute(update(MailToken).where(MailToken.user_id == user_id,
                                            MailToken.purpose == "reset",
                                            MailToken.used_at.is_(None))
                    .values(used_at=now))
    return user_id


# --- sign-up notices -----------------------------------------------------------------------


def send_invitation(session: Session, settings: Settings, invite: Invite, sponsor: str,
                    address: str, lang: str, *, now: datetime | None = None) -> None:
    lang = _language(lang)
    message = compose("invitation", lang, {
        "hub": settings.name, "sponsor": sponsor,
        "link": f"{settings.base_url}/invite/{invite.code}?lang={lang}",
        "expires_at": invite.expires_at.strftime("%Y-%m-%d") if invite.expires_at else ""})
    enqueue(session, "invitation", address, lang, message, now=now)


def application_received(session: Session, settings: Settings, application: Application,
                         status_token: str | None) -> None:
    lang = _language(application.locale)
    message = compose("application_received", lang, {
        "hub": settings.name, "username": application.username,
        "state": application.state,
        "link": f"{settings.base_url}/signup/status/{status_token}" if status_token else ""})
    enqueue(session, "application_received", application.email, lang, message)


def application_approved(session: Session, settings: Settings, application: Application,
                         user: User) -> None:
    lang = _language(application.locale)
    message = compose("application_approved", lang, {
        "hub": settings.name, "username": application.username,
        "link": f"{settings.base_url}/login"})
    enqueue(session, "application_approved", application.email, lang, message)
    send_confirmation(session, settings, user)


def application_refused(session: Session, settings: Settings, application: Application) -> None:
    lang = _language(application.locale)
    message = compose("application_refused", lang, {
        "hub": settings.name, "username": application.username,
        "reason": application.reason or ""})
    enqueue(session, "application_refused", application.email, lang, message)
