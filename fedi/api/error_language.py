"""API error messages in the caller's language, translated at the edge.

Endpoints raise English messages (``ApiError``, ``OAuthError``; Mastodon's wording). This
middleware rewrites the ``error`` (or OAuth ``error_description``) of JSON error answers
of the client API through the Babel catalogue (``fedi.i18n.translate_text``): the
language of ``Accept-Language`` first, then the member's chosen language (by the bearer
token), else unchanged English. OAuth error *codes* (``invalid_grant``…) never change.
New messages need only a French entry: ``scripts/i18n`` finds them in ``fedi/api``.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fedi import i18n
from fedi.api.auth import token_hash
from fedi.i18n import N_
from fedi.models import OAuthToken, User

# Answers made by Starlette and fedi.web.errors rather than by an endpoint.
GENERIC = (N_("Not Found"), N_("Method Not Allowed"), N_("internal error"))
PATHS = ("/api/", "/oauth/token", "/oauth/revoke", "/oauth/userinfo")
MAX_BODY = 64 * 1024


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def member_language(scope: Scope) -> str | None:
    """The locale of the member whose bearer token this is, if any."""
    header = _header(scope, b"authorization") or ""
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 256:
        return None
    hub = scope["app"].state.hub
    with hub.read_sessions() as session:
        locale = session.scalar(
            select(User.locale).join(OAuthToken, OAuthToken.user_id == User.id)
            .where(OAuthToken.token_hash == token_hash(token), OAuthToken.revoked_at.is_(None)))
    return i18n.normalize(locale)


def answer_language(scope: Scope, status: int) -> str | None:
    asked = i18n.negotiate(_header(scope, b"accept-language"))
    if asked is not None:
        return asked
    if status == 429:  # no database lookups for clients being throttled
        return None
    try:
        return member_language(scope)
    except Exception:  # noqa: BLE001 - an error answer must not fail on its translation
        return None


def translate_body(body: bytes, lang: str) -> bytes | None:
    try:
        doc: Any = json.loads(body)
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return None
    key = "error_description" if "error_description" in doc else "error"
    message = doc.get(key)
    if not isinstance(message, str):
        return None
    translated = i18n.translate_text(lang, message)
    if translated == message:
        return None
    doc[key] = translated
    return json.dumps(doc, ensure_ascii=False).encode()


class ApiErrorLanguage:
    """Translates JSON error answers of the client API and OAuth endpoints."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope.get("path", "").startswith(PATHS):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers", []))
                json_error = (message["status"] >= 400 and headers.get(b"content-type", b"")
                              .startswith(b"application/json"))
                if json_error:
                    start = message
                    return
                await send(message)
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False) and sum(map(len, chunks)) <= MAX_BODY:
                return
            await finish(more=message.get("more_body", False))

        async def finish(more: bool) -> None:
            nonlocal start
            assert start is not None
            body = b"".join(chunks)
            lang = None if more else answer_language(scope, start["status"])
            translated = translate_body(body, lang) if lang and lang != "en" else None
            headers = list(start.get("headers", []))
            if translated is not None:
                body = translated
                headers = [(k, v) for k, v in headers if k != b"content-length"]
                headers += [(b"content-length", str(len(body)).encode()),
                            (b"content-language", lang.encode())]  # type: ignore[union-attr]
            await send({**start, "headers": headers})
            start = None
            await send({"type": "http.response.body", "body": body, "more_body": more})

        await self.app(scope, receive, capture)
