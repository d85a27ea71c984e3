"""The second step of a login (the site's ``/login``, ``/oauth/authorize``): after the
password, a member with TOTP on must give a fresh code. Wrong codes count against the
account like wrong passwords (fedi.api.logins), with a counter of their own."""

from __future__ import annotations

from fedi.api.logins import LoginLimited
from fedi.api.ratelimit import limiter_of, limits
from fedi.db import transaction, utcnow
from fedi.models import User
from fedi.services import second_factor
from fedi.web.state import Hub


def needs_code(hub: Hub, user_id: int) -> bool:
    with hub.read_sessions() as session:
        user = session.get(User, user_id)
        return user is not None and second_factor.is_enabled(user)


def check_code(hub: Hub, user_id: int, code: str | None) -> str:
    """``second_factor.OK`` when the member has no second factor or gave a fresh valid
    code; else ``MISSING``, ``WRONG`` or ``USED``. Raises ``LoginLimited`` (429) past
    the limit of wrong codes on this account."""
    if not needs_code(hub, user_id):
        return second_factor.OK
    limiter = limiter_of(hub)
    key = f"login-totp:{user_id}"
    window = limiter.hit(key, limits(hub.settings.extra)["login_rate_limit_account"])
    if not window.allowed:
        limiter.release(key)
        raise LoginLimited(window)
    with transaction(hub.write_sessions) as session:
        user = session.get(User, user_id)
        if user is None:
            return second_factor.WRONG
        outcome = second_factor.use_code(session, user, code, utcnow())
    if outcome in (second_factor.OK, second_factor.MISSING):
        limiter.release(key)  # only wrong or replayed codes count
    return outcome
