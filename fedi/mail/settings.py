"""The ``[email]`` settings, validated: where and how to send mail (None: no sending)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fedi.config import ConfigError

SECURITY = ("starttls", "tls", "none")
DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}


@dataclass(frozen=True)
class MailSettings:
    host: str
    port: int
    security: str
    sender: str
    user: str = ""
    password: str = ""
    timeout: float = 30.0
    interval: float = 10.0  # seconds between passes of the sending job
    retry_base: float = 60.0  # first retry after this many seconds, doubling each time
    retry_cap: float = 3600.0  # never wait longer than this between attempts
    max_attempts: int = 40  # then the message is marked failed (shown by `voisins mail list`)


def _number(key: str, value: Any, minimum: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"email.{key}", f"expected a number, got {value!r}") from None
    if number < minimum:
        raise ConfigError(f"email.{key}", f"must be at least {minimum}")
    return number


def mail_settings(extra: Mapping[str, Any]) -> MailSettings | None:
    """The ``[email]`` section of the config, or None when there is none (or no host)."""
    section = extra.get("email")
    if section is None:
        return None
    if not isinstance(section, Mapping):
        raise ConfigError("email", "must be a table")
    host = str(section.get("host", "")).strip()
    if not host:
        return None
    security = str(section.get("security", "starttls")).lower()
    if security not in SECURITY:
        raise ConfigError("email.security", f"must be one of {', '.join(SECURITY)}")
    port = int(_number("port", section.get("port", DEFAULT_PORTS[security]), 1))
    if port > 65535:
        raise ConfigError("email.port", f"{port} is not a TCP port")
    sender = str(section.get("from", "")).strip()
    if "@" not in sender:
        raise ConfigError("email.from", "missing: the address the hub's mail comes from")
    user = str(section.get("user", ""))
    password = str(section.get("password", ""))
    if bool(user) != bool(password):
        raise ConfigError("email.password", "user and password go together")
    return MailSettings(
        host=host, port=port, security=security, sender=sender, user=user, password=password,
        timeout=_number("timeout", section.get("timeout", 30), 0.1),
        interval=_number("interval", section.get("interval", 10), 0.05),
        retry_base=_number("retry_base", section.get("retry_base", 60), 0.01),
        retry_cap=_number("retry_cap", section.get("retry_cap", 3600), 0.01),
        max_attempts=int(_number("max_attempts", section.get("max_attempts", 40), 1)),
    )
