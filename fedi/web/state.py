"""What every request handler may use, built once in create_app() and its lifespan."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request
from starlette.templating import Jinja2Templates

from fedi.config import Settings
from fedi.db_faults import DatabaseStatus
from fedi.http import Fetcher, Signer
from fedi.ids import Urls
from fedi.keystore import KeyStore
from fedi.peers import Peers
from fedi.resolve import ActorResolver
from fedi.verification import RequestVerifier


@dataclass
class Hub:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    # ``sessions`` take SQLite's write lock at BEGIN; ``write_sessions`` is the same factory,
    # named where writing is the point. ``read_sessions`` are deferred: reads that never
    # write, or that retry on "database is locked" (fedi.api.auth).
    write_sessions: sessionmaker[Session]
    read_sessions: sessionmaker[Session]
    urls: Urls
    peers: Peers
    templates: Jinja2Templates
    fetcher: Fetcher | None = None
    keystore: KeyStore | None = None
    resolver: ActorResolver | None = None
    signer: Signer | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    verifier: RequestVerifier | None = None  # signed requests, inbox and GETs alike
    # Reachable or not, shared by the 503 answers and every loop (fedi.db_faults).
    database: DatabaseStatus = field(default_factory=DatabaseStatus)


def hub_of(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub
