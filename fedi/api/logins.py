"""Checking a login and password (the password grant and the login form of
``/oauth/authorize``), with the limits per address and per account.

Order matters (issue 13 #3): the account is read in a deferred (read) session that is closed
before anything slow; the attempt is *counted* against the account before its password is
checked, so parallel guesses cannot all pass a limit read earlier; the hash runs in
fedi.services.passwords, outside any transaction; a stronger rehash is written afterwards in
a short write. An account is one counter whether it is named by username or by email.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from fedi.api.errors import ApiError
from fedi.api.ratelimit import Window, limiter_of, limits
from fedi.db import transaction
from fedi.models import Actor, User
from fedi.services.login_notices import notice_login
from fedi.services.passwords import PasswordsBusy, password_work_of
from fedi.services.retention import record_login
from fedi.web.state import Hub

MAX_LOGIN = 320
MAX_PASSWORD = 1024


class LoginLimited(ApiError):
    """Too many attempts from this address or on this account."""

    def __init__(self, window: Window) -> None:
        super().__init__(429, "Too many requests", headers=window.headers())


class LoginBusy(ApiError):
    def __init__(self) -> None:
        super().__init__(503, "Too many logins are being checked: try again in a moment",
                         headers={"Retry-After": "5"})


@dataclass(frozen=True)
class Account:
    user_id: int
    password_hash: str


def find_account(session: Session, login: str) -> Account | None:
    """The active local account named by this username or email."""
    login = login.strip()
    query = select(User.id, User.password_hash).join(Actor, Actor.id == User.actor_id)
    if "@" in login:
        query = query.where(func.lower(User.email) == login.lower())
    else:
        query = query.where(Actor.local, Actor.username == login.lower())
    row = session.execute(query.where(User.disabled.is_(False), Actor.deleted_at.is_(None))).first()
    return Account(row[0], row[1]) if row else None


async def verify_login(hub: Hub, login: str, password: str, address: str, *,
                       user_agent: str = "", kind: str = "web",
                       app_id: int | None = None) -> int | None:
    """The id of the member whose login and password these are, or None. A sign-in from a
    browser or app (``app_id``) not seen before is told to the member by mail.

    Raises ``LoginLimited`` (429) past the limits, ``LoginBusy`` (503) when the password
    queue is full. Opens and closes its own sessions: call it with none open."""
    limiter = limiter_of(hub)
    conf = limits(hub.settings.extra)
    per_ip = limiter.hit(f"login-ip:{address}", conf["login_rate_limit_ip"])
    if not per_ip.allowed:
        raise LoginLimited(per_ip)
    login = login.strip()
    if len(password) > MAX_PASSWORD:
        password = ""
    account = None
    if login and len(login) <= MAX_LOGIN:
        with hub.read_sessions() as session:
            account = find_account(session, login)
    # Unknown logins have a class of counters of their own, so inventing them cannot push
    # out the counters of real accounts (fedi.api.ratelimit).
    key = (f"login-account:{account.user_id}" if account is not None
           else f"login-unknown:{login.lower()[:MAX_LOGIN]}")
    reserved = limiter.hit(key, conf["login_rate_limit_account"])
    if not reserved.allowed:
        limiter.release(key)
        raise LoginLimited(reserved)
    work = password_work_of(hub.extras)
    try:
        if account is None:
            await work.spend_like_a_check(password)
            return None
        verdict = await work.verify(account.password_hash, password)
    except PasswordsBusy:
        limiter.release(key)  # never checked: does not count against the account
        raise LoginBusy() from None
    if not verdict.ok:
        return None
    limiter.release(key)  # a success is not a failed attempt
    with transaction(hub.write_sessions) as session:  # kept 30 days (fedi.services.retention)
        told = notice_login(session, hub.settings, account.user_id, ip=address,
                            user_agent=user_agent, app_id=app_id)
        record_login(session, account.user_id, ip=address, user_agent=user_agent, kind=kind)
    sender = hub.extras.get("mail_sender") if told else None
    if sender is not None:
        sender.wake()
    if verdict.needs_rehash:
        await rehash(hub, account, password)
    return account.user_id


async def rehash(hub: Hub, account: Account, password: str) -> None:
    """Move the stored hash to today's parameters: hash outside the transaction, then
    write only if nobody changed the password meanwhile."""
    try:
        new_hash = await password_work_of(hub.extras).hash(password)
    except PasswordsBusy:
        return  # next login will do it
    with transaction(hub.write_sessions) as session:
        session.execute(update(User).where(User.id == account.user_id,
                                           User.password_hash == account.password_hash)
                        .values(password_hash=new_hash))
