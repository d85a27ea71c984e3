"""When to try a message again: doubling delays from ``base``, never above ``cap`` (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta


def retry_delay(attempts: int, base: float, cap: float) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt (1, 2, …)."""
    exponent = min(max(attempts - 1, 0), 30)
    return float(min(cap, base * (2 ** exponent)))


def next_attempt(now: datetime, attempts: int, base: float, cap: float) -> datetime:
    return now + timedelta(seconds=retry_delay(attempts, base, cap))


def gives_up(attempts: int, max_attempts: int, permanent: bool) -> bool:
    """A refused address is not tried again; anything else until ``max_attempts``."""
    return permanent or attempts >= max_attempts
