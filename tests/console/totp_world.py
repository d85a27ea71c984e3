"""TOTP helpers of the console's tests (module totp_world): turn the second factor on for a
member directly in the hub's database, and compute codes as the member's app would."""

from __future__ import annotations

import time

import pyotp
from support.hubs import HubProcess
from support.world import hub_session

from fedi import totp
from fedi.db import utcnow
from fedi.services.invites import user_by_username


def enable_totp(hub: HubProcess, username: str) -> str:
    """The member's TOTP secret, on (as if they had confirmed it in their settings)."""
    secret = totp.new_secret()
    with hub_session(hub) as (session, _ctx):
        user = user_by_username(session, username)
        assert user is not None
        user.totp_secret = secret
        user.totp_enabled_at = utcnow()
    return secret


def code_now(secret: str) -> str:
    return pyotp.TOTP(secret).now()


def code_next(secret: str) -> str:
    """The code of the next 30-second step (accepted: one step of drift is allowed)."""
    return pyotp.TOTP(secret).at(time.time() + 30)


def wrong_code(secret: str) -> str:
    """Six digits that are none of the codes accepted around now."""
    now = time.time()
    taken = {pyotp.TOTP(secret).at(now + d) for d in (-60, -30, 0, 30, 60)}
    return next(c for c in ("000000", "111111", "222222", "333333", "444444", "555555")
                if c not in taken)
