"""The optional config tables (``[api]``, ``[delivery]``, ``[mesh]``, ``[registrations]``,
``[territory]``, ``[passwords]``...): their keys and what each accepts, checked when the config loads.

The modules that use these tables read them later (``fedi.api.ratelimit``,
``outbox.worker``, ``fedi.services.mesh``, …); checking every key here, once, means a typo
or a wrong value stops the command with one line naming the key instead of being ignored
at the first request. Values may be strings: ``VOISINS_API_RATE_LIMIT=50`` overrides a key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


class TableError(Exception):
    """A key of an optional table is unknown or has a wrong value."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


Check = Callable[[str, Any], None]


def _number(*, minimum: float, integer: bool) -> Check:
    def check(key: str, value: Any) -> None:
        if isinstance(value, bool):
            raise TableError(key, f"expected a number, got {value!r}")
        try:
            number = int(value) if integer else float(value)
        except (TypeError, ValueError):
            kind = "a whole number" if integer else "a number"
            raise TableError(key, f"expected {kind}, got {value!r}") from None
        if number < minimum:
            raise TableError(key, f"must be at least {minimum:g}, got {value!r}")

    return check


def _positive(*, integer: bool) -> Check:
    def check(key: str, value: Any) -> None:
        _number(minimum=0, integer=integer)(key, value)
        if float(value) <= 0:
            raise TableError(key, f"must be a positive number, got {value!r}")

    return check


def _text(key: str, value: Any) -> None:
    if not isinstance(value, str):
        raise TableError(key, f"expected a string, got {value!r}")


def _email(key: str, value: Any) -> None:
    _text(key, value)
    if value and ("@" not in value or " " in value.strip()):
        raise TableError(key, f"{value!r} is not an e-mail address")


def _choice(*choices: str) -> Check:
    def check(key: str, value: Any) -> None:
        if value not in choices:
            raise TableError(key, f"must be one of {', '.join(choices)}, got {value!r}")

    return check


# One entry per table, one line per key: a branch adding a key adds a line here.
TABLES: dict[str, dict[str, Check]] = {
    "api": {
        "rate_limit": _number(minimum=1, integer=True),
        "login_rate_limit_ip": _number(minimum=1, integer=True),
        "login_rate_limit_account": _number(minimum=1, integer=True),
        "account_stats_ttl": _number(minimum=0, integer=False),
        "contact_email": _email,
    },
    "delivery": {
        "concurrency": _positive(integer=True),
        "per_host": _positive(integer=True),
        "batch": _positive(integer=True),
        "lease_seconds": _positive(integer=False),
        "idle_poll_seconds": _positive(integer=False),
        "slot_wait_seconds": _positive(integer=False),
        "retry_base_seconds": _positive(integer=False),
        "breaker_cooldown_seconds": _positive(integer=False),
    },
    "mesh": {
        "refresh_seconds": _number(minimum=1, integer=False),
    },
    "registrations": {
        "mode": _choice("invite", "invite+approval", "closed"),
    },
    "territory": {
        "file": _text,
    },
    "exports": {
        "path": _text,
        "interval": _positive(integer=False),
    },
    "digest": {
        "interval": _positive(integer=False),
    },
    "passwords": {  # argon2id cost of new hashes (fedi.services.accounts)
        "time_cost": _number(minimum=1, integer=True),
        "memory_kib": _number(minimum=1024, integer=True),
    },
}


def check_tables(data: Mapping[str, Any]) -> None:
    """Raise TableError (naming ``table.key``) for the first wrong key of a known table."""
    for table, checks in TABLES.items():
        values = data.get(table, {})
        if not isinstance(values, Mapping):
            raise TableError(table, "must be a table")
        for key, value in values.items():
            check = checks.get(key)
            if check is None:
                raise TableError(f"{table}.{key}", f"unknown key (known: {', '.join(checks)})")
            check(f"{table}.{key}", value)
