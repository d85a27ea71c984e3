"""Keeping secrets out of log lines: a logging filter for every handler of ``voisins serve``.

Tokens belong in the Authorization header, and ``?access_token=`` is refused (fedi.api.auth),
but a refused URL is still a URL someone may log (uvicorn's access log prints the query
string). This filter rewrites ``access_token=…``, ``refresh_token=…``, ``client_secret=…``,
``password=…``, ``code=…`` and ``Bearer …`` in the message and in every string argument,
so formatters that unpack ``record.args`` (uvicorn's access formatter) keep working.
"""

from __future__ import annotations

import logging
import re
from typing import Any

MASK = "[redacted]"
_QUERY = re.compile(
    r"(?i)\b(access_token|refresh_token|client_secret|password|code|token)=([^&\s\"']+)")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+")


def redact(text: str) -> str:
    text = _QUERY.sub(lambda m: f"{m.group(1)}={MASK}", text)
    return _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)


def _redact_arg(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redact_arg(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _redact_arg(v) for k, v in record.args.items()}
        return True


def serve_log_config(base: dict[str, Any], level: str) -> dict[str, Any]:
    """uvicorn's logging configuration with the filter on every handler, and the root
    logger (our ``voisins.*`` loggers) sent through the same handler."""
    config = {**base, "filters": {**base.get("filters", {}),
                                  "redact": {"()": "fedi.redaction.RedactSecrets"}}}
    config["handlers"] = {name: {**handler, "filters": [*handler.get("filters", []), "redact"]}
                          for name, handler in base.get("handlers", {}).items()}
    config["root"] = {"handlers": ["default"], "level": level.upper()}
    return config
