"""The TOTP second factor of a member's login: set-up (a secret, then a first code to turn
it on), checking a code once, and turning it off.

A code is accepted at most once: the last accepted step is stored, and only an ``UPDATE``
that moves it forward accepts a code, so two logins racing with the same code cannot
both pass. Rate limits are the caller's (fedi.api.second_factor).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from fedi import totp
from fedi.models import User

OK = "ok"
MISSING = "missing"  # no code given (or not six digits)
WRONG = "wrong"
USED = "used"  # the right code, but already accepted once


@dataclass(frozen=True)
class SetupState:
    enabled: bool
    secret: str | None  # the pending secret while set-up is under way


def is_enabled(user: User) -> bool:
    return user.totp_enabled_at is not None and bool(user.totp_secret)


def setup_state(user: User) -> SetupState:
    if is_enabled(user):
        return SetupState(True, None)
    return SetupState(False, user.totp_secret or None)


def start_setup(session: Session, user: User) -> str:
    """A new pending secret (replacing an unconfirmed one); the factor is not on yet."""
    if is_enabled(user):
        raise ValueError("the second factor is already on")
    user.totp_secret = totp.new_secret()
    user.totp_last_step = None
    session.flush()
    return user.totp_secret


def _accept(session: Session, user_id: int, step: int, enable_at: datetime | None) -> bool:
    """Move the last step forward to ``step``; False when it already is there or beyond."""
    values: dict[str, object] = {"totp_last_step": step}
    if enable_at is not None:
        values["totp_enabled_at"] = enable_at
    moved = session.execute(
        update(User).where(User.id == user_id, or_(User.totp_last_step.is_(None),
                                                   User.totp_last_step < step))
        .values(**values).execution_options(synchronize_session=False))
    return bool(moved.rowcount)  # type: ignore[attr-defined]


def _check(session: Session, user: User, code: str | None, now: datetime,
           enable: bool) -> str:
    if not user.totp_secret:
        return WRONG
    if totp.clean_code(code) is None:
        return MISSING
    step = totp.matching_step(user.totp_secret, code, now.timestamp())
    if step is None:
        return WRONG
    if user.totp_last_step is not None and step <= user.totp_last_step:
        return USED
    return OK if _accept(session, user.id, step, now if enable else None) else USED


def confirm_setup(session: Session, user: User, code: str | None, now: datetime) -> str:
    """Turn the factor on with a first valid code from the app (that code is then used)."""
    if is_enabled(user):
        raise ValueError("the second factor is already on")
    return _check(session, user, code, now, enable=True)


def use_code(session: Session, user: User, code: str | None, now: datetime) -> str:
    """Check a login code: ``OK`` once per code, ``USED`` after, ``WRONG``, ``MISSING``."""
    if not is_enabled(user):
        return WRONG
    return _check(session, user, code, now, enable=False)


def disable(session: Session, user: User) -> None:
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    session.flush()
