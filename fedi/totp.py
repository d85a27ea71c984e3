"""Time-based one-time passwords (RFC 6238) for the second factor: secrets, the
``otpauth://`` address authenticator apps read, and which 30-second step a code belongs to.

Pure: the time comes in as an argument. Single use is the caller's job: it stores the last
accepted step and refuses any code of that step or an earlier one
(fedi.services.second_factor).
"""

from __future__ import annotations

import hmac

import pyotp

DIGITS = 6
PERIOD = 30
# One step either side: a phone clock a little off, or a code typed as it changed.
DRIFT_STEPS = 1


def new_secret() -> str:
    """160 random bits in base32 (32 characters), what authenticator apps expect."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    """``otpauth://totp/…`` for the set-up page (typed or scanned into the app)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD).provisioning_uri(
        name=account, issuer_name=issuer)


def grouped(secret: str) -> str:
    """The secret in blocks of four, easier to type by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def clean_code(text: str | None) -> str | None:
    """Six digits (spaces and dashes, as apps show them, dropped), or None."""
    if text is None:
        return None
    code = "".join(c for c in text[:32] if c not in " -\t")
    if len(code) != DIGITS or not (code.isascii() and code.isdigit()):
        return None
    return code


def step_of(timestamp: float) -> int:
    return int(timestamp // PERIOD)


def code_at(secret: str, step: int) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD).generate_otp(step)


def matching_step(secret: str, code: str | None, timestamp: float) -> int | None:
    """The step (within the drift allowed around ``timestamp``) whose code this is, or None.
    Every candidate is compared in constant time."""
    cleaned = clean_code(code)
    if cleaned is None:
        return None
    now = step_of(timestamp)
    found = None
    for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
        if hmac.compare_digest(code_at(secret, step).encode(), cleaned.encode()):
            found = step
    return found
