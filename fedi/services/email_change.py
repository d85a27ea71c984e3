"""Changing a member's email address: a single-use link, valid 24 hours, goes to the new
address; the old address is told that a change was asked (without the link). The address
changes only when the link is opened.

No enumeration: an address another member already uses gets the same answer and the same
work (a token made, the messages rendered, the old address told), only no link is queued.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from fedi.config import Settings
from fedi.db import utcnow
from fedi.mail.messages import compose
from fedi.mail.queue import enqueue
from fedi.models import Actor, MailToken, User
from fedi.services.mail_links import digest

PURPOSE = "email_change"
LIFETIME = timedelta(hours=24)
MAX_EMAIL = 320


def valid_address(address: str) -> bool:
    """A plausible address: one ``@`` between a local part and a dotted domain, no spaces."""
    local, _, domain = address.rpartition("@")
    return (0 < len(address) <= MAX_EMAIL and bool(local) and "." in domain.strip(".")
            and not any(c.isspace() or c in "<>,;\"" for c in address))


def address_taken(session: Session, address: str, user_id: int) -> bool:
    return session.scalar(select(User.id).where(func.lower(User.email) == address.lower(),
                                                User.id != user_id)) is not None


def request_change(session: Session, settings: Settings, user: User, new_address: str, *,
                   now: datetime | None = None) -> bool:
    """Ask for ``user``'s address to become ``new_address``. True when the link was queued
    (the caller answers the same either way); earlier links of the member stop working."""
    now = now or utcnow()
    new_address = new_address.strip()
    lang = "en" if user.locale == "en" else "fr"
    username = session.scalar(select(Actor.username).where(Actor.id == user.actor_id)) or ""
    token = secrets.token_urlsafe(32)
    link = compose(PURPOSE, lang, {
        "hub": settings.name, "username": username, "address": new_address,
        "link": f"{settings.base_url}/email/change/{token}"})
    notice = compose("email_change_notice", lang, {
        "hub": settings.name, "username": username,
        "link": f"{settings.base_url}/settings#password"})
    session.execute(update(MailToken).where(MailToken.user_id == user.id,
                                            MailToken.purpose == PURPOSE,
                                            MailToken.used_at.is_(None)).values(used_at=now))
    enqueue(session, "email_change_notice", user.email, lang, notice, now=now)
    if new_address.lower() == user.email.lower() or address_taken(session, new_address, user.id):
        return False
    session.add(MailToken(token_hash=digest(token), user_id=user.id, purpose=PURPOSE,
                          email=new_address, expires_at=now + LIFETIME, created_at=now))
    enqueue(session, PURPOSE, new_address, lang, link, now=now)
    return True


def apply_change(session: Session, token: str, *, now: datetime | None = None) -> bool:
    """Use the link once: the member's address becomes (and is confirmed as) the one the link
    was sent to. False if the link is unknown, used, expired, or the address was taken since."""
    now = now or utcnow()
    if not token or len(token) > 128:
        return False
    row = session.get(MailToken, digest(token))
    if row is None or row.purpose != PURPOSE or row.used_at is not None or row.expires_at <= now:
        return False
    user = session.get(User, row.user_id)
    if user is None or user.disabled or address_taken(session, row.email, user.id):
        return False
    used = session.execute(update(MailToken).where(MailToken.token_hash == row.token_hash,
                                                   MailToken.used_at.is_(None))
                           .values(used_at=now))
    if used.rowcount != 1:  # type: ignore[attr-defined]
        return False
    user.email = row.email
    user.email_confirmed_at = now
    # Links mailed to the old address (password reset, confirmation) stop working.
    session.execute(update(MailToken).where(MailToken.user_id == user.id,
                                            MailToken.used_at.is_(None))
                    .values(used_at=now))
    return True
