"""The inbox benchmark's floor: the irreducible work per signed activity, nothing else.

A minimal Starlette app under uvicorn that, for each POST, parses the JSON body, checks the
SHA-256 Digest and the draft-cavage RSA signature with ``cryptography`` against a public
key parsed once at start-up, and INSERTs the activity with raw ``sqlite3`` or ``psycopg``,
concurrent requests sharing one commit (as ``inbox.writer`` groups them) before their 202.
``bench/inbox.py`` drives it with the same pre-signed requests as the hub, in the same run,
and prints the hub's figures as a multiple of these (machines vary; ratios hold).

    .venv/bin/python bench/inbox_floor.py --database sqlite:///floor.db --keys keys.json \\
                                          --port 8123

``keys.json`` maps keyId → public key PEM. Not a server to use: no checks but the signature.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

MAX_BATCH = 256
CREATE = ("CREATE TABLE IF NOT EXISTS floor_items (id BIGINT PRIMARY KEY, "
          "activity_uri TEXT NOT NULL UNIQUE, actor_uri TEXT NOT NULL, payload TEXT NOT NULL)")


class GroupedInsert:
    """Requests that arrive while a commit runs share the next one (in a thread)."""

    def __init__(self, url: str) -> None:
        self.sqlite = url.startswith("sqlite")
        if self.sqlite:
            self.conn: Any = sqlite3.connect(url.removeprefix("sqlite:///"),
                                             check_same_thread=False, isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.sql = "INSERT INTO floor_items VALUES (?, ?, ?, ?)"
        else:
            import psycopg

            self.conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"),
                                        autocommit=True)
            self.sql = "INSERT INTO floor_items VALUES (%s, %s, %s, %s)"
        self.conn.execute(CREATE)
        self.next_id = 1
        self.pending: list[tuple[tuple[int, str, str, str], asyncio.Future[None]]] = []
        self.flushing = False

    async def store(self, activity_id: str, actor: str, body: bytes) -> None:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self.next_id += 1
        self.pending.append(((self.next_id, activity_id, actor, body.decode()), done))
        if not self.flushing:
            self.flushing = True
            loop.create_task(self.flush())
        await done

    async def flush(self) -> None:
        try:
            while self.pending:
                batch, self.pending = self.pending[:MAX_BATCH], self.pending[MAX_BATCH:]
                await asyncio.to_thread(self.write, [row for row, _ in batch])
                for _, done in batch:
                    done.set_result(None)
        finally:
            self.flushing = False

    def write(self, rows: list[tuple[int, str, str, str]]) -> None:
        if self.sqlite:
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.executemany(self.sql, rows)
            self.conn.execute("COMMIT")
        else:
            with self.conn.transaction(), self.conn.cursor() as cur:
                cur.executemany(self.sql, rows)


def parse_signature(value: str) -> dict[str, str]:
    params = {}
    for part in value.split('",'):
        name, _, quoted = part.partition('="')
        params[name.strip()] = quoted.rstrip('"')
    return params


def make_app(database: str, keys: dict[str, str]) -> Starlette:
    public = {k: serialization.load_pem_public_key(pem.encode()) for k, pem in keys.items()}
    store = GroupedInsert(database)

    async def inbox(request: Request) -> Response:
        body = await request.body()
        doc = json.loads(body)
        sig = parse_signature(request.headers["signature"])
        digest = "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()
        if request.headers.get("digest") != digest:
            return Response(status_code=401)
        lines = []
        for name in sig["headers"].split():
            value = (f"post {request.url.path}" if name == "(request-target)"
                     else request.headers[name])
            lines.append(f"{name}: {value}")
        try:
            public[sig["keyId"]].verify(  # type: ignore[union-attr,call-arg]
                base64.b64decode(sig["signature"]), "\n".join(lines).encode(),
                padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, KeyError):
            return Response(status_code=401)
        await store.store(doc["id"], doc["actor"], body)
        return Response(status_code=202)

    return Starlette(routes=[Route("/inbox", inbox, methods=["POST"])])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="sqlite:///path or postgresql://…")
    parser.add_argument("--keys", required=True, help="JSON file: keyId → public key PEM")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    import uvicorn

    app = make_app(args.database, json.loads(Path(args.keys).read_text()))
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False,
                server_header=False)


if __name__ == "__main__":
    main()
