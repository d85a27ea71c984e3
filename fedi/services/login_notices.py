"""Telling a member by mail about a sign-in from a browser or an app not seen before.

A sign-in is new when its browser (user agent) has no login record for the member (records
are kept 30 days: fedi.services.retention), or when it signs an app in that the member never
authorized (no token of that app, even revoked). The very first sign-in of an account is not
told: there is nothing to compare it with. Call ``notice_login`` before recording the login,
in the same transaction, so the mail leaves only if the login is recorded.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fedi.config import Settings
from fedi.db import utcnow
from fedi.mail.messages import compose
from fedi.mail.queue import enqueue
from fedi.models import Actor, LoginRecord, OAuthApp, OAuthToken, User
from fedi.services.retention import MAX_USER_AGENT

MAX_SHOWN = 200  # characters of a user agent shown in the mail


def _seen_any(session: Session, user_id: int) -> bool:
    return (session.scalar(select(LoginRecord.id).where(LoginRecord.user_id == user_id)
                           .limit(1)) is not None
            or session.scalar(select(OAuthToken.id).where(OAuthToken.user_id == user_id)
                              .limit(1)) is not None)


def is_new_login(session: Session, user_id: int, user_agent: str,
                 app_id: int | None = None) -> bool:
    """Whether this browser, or this app, has never signed this member in (but some other
    sign-in has: the first one of an account is not new)."""
    if not _seen_any(session, user_id):
        return False
    agent = user_agent[:MAX_USER_AGENT]
    seen_browser = session.scalar(select(LoginRecord.id).where(
        LoginRecord.user_id == user_id, LoginRecord.user_agent == agent).limit(1)) is not None
    if not seen_browser:
        return True
    if app_id is None:
        return False
    return session.scalar(select(OAuthToken.id).where(
        OAuthToken.user_id == user_id, OAuthToken.app_id == app_id).limit(1)) is None


def notice_login(session: Session, settings: Settings, user_id: int, *, ip: str,
                 user_agent: str, app_id: int | None = None,
                 now: datetime | None = None) -> bool:
    """Queue the « new sign-in » mail when the sign-in is new; True if one was queued."""
    if not is_new_login(session, user_id, user_agent, app_id):
        return False
    user = session.get(User, user_id)
    if user is None or not user.email:
        return False
    now = now or utcnow()
    lang = "en" if user.locale == "en" else "fr"
    username = session.scalar(select(Actor.username).where(Actor.id == user.actor_id)) or ""
    app = session.scalar(select(OAuthApp.name).where(OAuthApp.id == app_id)) if app_id else None
    agent = " ".join(user_agent.split())[:MAX_SHOWN] or "?"
    message = compose("new_login", lang, {
        "hub": settings.name, "username": username, "when": now.strftime("%Y-%m-%d %H:%M UTC"),
        "app": app or "", "agent": agent, "ip": ip or "?",
        "link": f"{settings.base_url}/settings#password"})
    enqueue(session, "new_login", user.email, lang, message, now=now)
    return True
