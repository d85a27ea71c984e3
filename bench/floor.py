"""The floor of the read benchmarks: the same requests served by a minimal Starlette app on
raw ``sqlite3`` (or raw ``psycopg`` for PostgreSQL) under uvicorn.

Each request does what the real one cannot avoid: check the bearer token by one indexed
lookup, read the same 20 rows (statuses with their author, or notifications with their
account and status) and serialise them to a JSON list of entities shaped like the API's
(about the same keys and size). No visibility rule, no counts, no ORM: what is left is the
cost of Python, Starlette, uvicorn and the database driver on this machine, which
``bench/timeline.py`` divides the real figures by.

    .venv/bin/python bench/floor.py DATABASE_URL PORT
"""

from __future__ import annotations

import hashlib
import sys
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

STATUS_COLUMNS = ("s.id, s.uri, s.url, s.created_at, s.content, s.visibility, s.spoiler_text, "
                  "s.sensitive, s.language, s.in_reply_to_id, a.id, a.username, a.domain, "
                  "a.display_name, a.url, a.uri, a.summary, a.created_at, a.locked, a.trade")
HOME = (f"SELECT {STATUS_COLUMNS} FROM timeline_entries t JOIN statuses s ON s.id = t.status_id "
        "JOIN actors a ON a.id = s.actor_id WHERE t.owner_id = %s "
        "ORDER BY t.status_id DESC LIMIT 20")
PUBLIC = (f"SELECT {STATUS_COLUMNS} FROM statuses s JOIN actors a ON a.id = s.actor_id "
          "WHERE s.visibility IN ('hub', 'neighbourhood') AND s.deleted_at IS NULL {local}"
          "ORDER BY s.id DESC LIMIT 20")
ACCOUNT = (f"SELECT {STATUS_COLUMNS} FROM statuses s JOIN actors a ON a.id = s.actor_id "
           "WHERE s.actor_id = %s AND s.deleted_at IS NULL ORDER BY s.id DESC LIMIT 20")
NOTIFICATIONS = (f"SELECT n.id, n.type, n.created_at, {STATUS_COLUMNS} FROM notifications n "
                 "JOIN actors a ON a.id = n.from_actor_id "
                 "LEFT JOIN statuses s ON s.id = n.status_id WHERE n.owner_id = %s "
                 "ORDER BY n.id DESC LIMIT 20")
TOKEN = ("SELECT u.actor_id FROM oauth_tokens t JOIN users u ON u.id = t.user_id "
         "WHERE t.token_hash = %s AND t.revoked_at IS NULL")


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _account(r: Any, at: int) -> dict[str, Any]:
    aid, username, _domain, display, url, uri, summary, created, locked, trade = r[at:at + 10]
    return {"id": str(aid), "username": username, "acct": username, "url": url, "uri": uri,
            "display_name": display or "", "note": summary or "", "avatar": "/a.png",
            "avatar_static": "/a.png", "header": "/h.png", "header_static": "/h.png",
            "locked": bool(locked), "bot": False, "group": False, "discoverable": True,
            "indexable": False, "noindex": True, "hide_collections": False,
            "created_at": _iso(created), "last_status_at": None, "statuses_count": 0,
            "followers_count": 0, "following_count": 0, "emojis": [], "fields": [],
            "roles": [], "trade": trade, "trade_label": trade, "business_name": None,
            "postal_code": None, "website": None}


def _status(r: Any, at: int = 0) -> dict[str, Any]:
    sid, uri, url, created, content, visibility, spoiler, sensitive, language, reply = (
        r[at:at + 10])
    return {"id": str(sid), "uri": uri, "url": url, "created_at": _iso(created),
            "account": _account(r, at + 10), "content": content, "visibility": visibility,
            "local_only": visibility == "hub", "sensitive": bool(sensitive),
            "spoiler_text": spoiler or "", "media_attachments": [], "application": None,
            "mentions": [], "tags": [], "emojis": [], "reblogs_count": 0,
            "favourites_count": 0, "replies_count": 0,
            "in_reply_to_id": str(reply) if reply else None, "in_reply_to_account_id": None,
            "reblog": None, "poll": None, "card": None, "language": language,
            "edited_at": None, "favourited": False, "reblogged": False, "muted": False,
            "bookmarked": False, "pinned": False, "filtered": []}


def _notification(r: Any) -> dict[str, Any]:
    return {"id": str(r[0]), "type": r[1], "created_at": _iso(r[2]),
            "account": _account(r, 13), "status": _status(r, 3) if r[3] is not None else None,
            "group_key": f"ungrouped-{r[0]}"}


def build(url: str) -> Starlette:
    if url.startswith("sqlite"):
        import sqlite3

        conn: Any = sqlite3.connect(url.split(":///", 1)[1], check_same_thread=False,
                                    isolation_level=None)

        def query(sql: str, *args: Any) -> list[Any]:
            return conn.execute(sql.replace("%s", "?"), args).fetchall()
    else:
        import psycopg

        conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"),
                               autocommit=True)

        def query(sql: str, *args: Any) -> list[Any]:
            return conn.execute(sql, args).fetchall()

    def viewer(request: Request) -> int | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        rows = query(TOKEN, hashlib.sha256(token.strip().encode()).hexdigest())
        return rows[0][0] if rows and scheme.lower() == "bearer" else None

    def answer(request: Request, sql: str, *args: Any, shape: Any = _status) -> JSONResponse:
        me = viewer(request)
        if me is None:
            return JSONResponse({"error": "The access token is invalid"}, status_code=401)
        rows = query(sql, *[me if a is None else a for a in args])
        return JSONResponse([shape(r) for r in rows],
                            headers={"Cache-Control": "private, no-store"})

    async def home(request: Request) -> JSONResponse:
        return answer(request, HOME, None)

    async def public(request: Request) -> JSONResponse:
        local = request.query_params.get("local") == "true"
        return answer(request, PUBLIC.format(local="AND a.local " if local else ""))

    async def account(request: Request) -> JSONResponse:
        return answer(request, ACCOUNT, int(request.path_params["id"]))

    async def notifications(request: Request) -> JSONResponse:
        return answer(request, NOTIFICATIONS, None, shape=_notification)

    return Starlette(routes=[
        Route("/api/v1/timelines/home", home),
        Route("/api/v1/timelines/public", public),
        Route("/api/v1/accounts/{id:int}/statuses", account),
        Route("/api/v1/notifications", notifications),
    ])


def main() -> None:
    import uvicorn

    url, port = sys.argv[1], int(sys.argv[2])
    # The settings of `voisins serve` that matter here (fedi/cli.py): no access log.
    uvicorn.run(build(url), host="127.0.0.1", port=port, log_level="warning",
                access_log=False, server_header=False)


if __name__ == "__main__":
    main()
