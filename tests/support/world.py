"""Acting as a hub's members from a test: the hub's own services on its own database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from support.hubs import HubProcess

from fedi.db import make_engine, make_sessionmaker
from fedi.ids import Urls
from fedi.models import Actor
from fedi.peers import Peers
from outbox.context import PublishContext


@contextmanager
def hub_session(hub: HubProcess) -> Iterator[tuple[Session, PublishContext]]:
    """A transaction on the hub's database and a publish context like the server's."""
    settings = hub.settings()
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    peers = Peers(settings, sessions)
    ctx = PublishContext(settings=settings, urls=Urls(settings.base_url),
                         is_allowed=peers.is_allowed, linked_domains=peers.allowed)
    try:
        with sessions() as session, session.begin():
            yield session, ctx
    finally:
        engine.dispose()


def actor(session: Session, uri: str) -> Actor:
    found = session.scalar(select(Actor).where(Actor.uri == uri))
    assert found is not None, f"{uri} is not stored"
    return found


def query(hub: HubProcess, fn: Any) -> Any:
    """Run ``fn(session)`` on the hub's database and return its result."""
    with hub_session(hub) as (session, _ctx):
        return fn(session)
