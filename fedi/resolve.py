"""Dereference remote actors by URI (signed GET by the instance actor) and keep them stored."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from fedi.convert.ap_to_model import InvalidObject, new_remote_actor, public_key_of, update_actor
from fedi.http import BadResponse, Fetcher, RemoteError, Signer
from fedi.keystore import KeyFetchError, KeyInfo
from fedi.models import Actor


class ActorResolver:
    """Remote actors and their keys: from the database first, else fetched and stored."""

    def __init__(
        self, sessions: sessionmaker[Session], fetcher: Fetcher, signer: Signer, local_domain: str
    ) -> None:
        self.sessions = sessions
        self.fetcher = fetcher
        self.signer = signer
        self.local_domain = local_domain

    async def stored_key(self, key_id: str) -> KeyInfo | None:
        """A remote key already stored with its actor (no network)."""
        with self.sessions() as session:
            row = session.execute(
                select(Actor.uri, Actor.public_key_pem).where(
                    Actor.key_id == key_id, Actor.local.is_(False), Actor.deleted_at.is_(None)
                )
            ).first()
        if row is None or not row.public_key_pem:
            return None
        return KeyInfo(key_id=key_id, owner=row.uri, public_key_pem=row.public_key_pem)

    async def fetch_key(self, url: str) -> KeyInfo:
        """Fetch an actor document (the keyId without its fragment), store the actor and
        return its key; the key store checks that it is the key that was asked for."""
        try:
            doc = await self.fetcher.fetch_object(url, signer=self.signer)
            key = doc.get("publicKey")
            key_id = key.get("id") if isinstance(key, dict) else None
            if not isinstance(key_id, str):
                raise InvalidObject("the actor has no single publicKey")
            owner, pem = public_key_of(doc, key_id)
            self.store_actor(doc)
        except BadResponse as exc:
            raise KeyFetchError(str(exc), status=exc.status) from None
        except (RemoteError, InvalidObject) as exc:
            raise KeyFetchError(str(exc)) from None
        return KeyInfo(key_id=key_id, owner=owner, public_key_pem=pem)

    def store_actor(self, doc: dict) -> Actor:
        """Insert or update a remote actor from its (already origin-checked) document."""
        with self.sessions() as session, session.begin():
            actor = session.scalar(select(Actor).where(Actor.uri == doc["id"]))
            if actor is None:
                actor = new_remote_actor(doc)
                if actor.domain == self.local_domain:
                    raise InvalidObject("a remote document claims a local actor")
                session.add(actor)
            else:
                if actor.local:
                    raise InvalidObject("a remote document claims a local actor")
                update_actor(actor, doc)
            session.flush()
            session.expunge(actor)
            return actor

    async def actor(self, uri: str, *, refresh: bool = False) -> Actor:
        """A remote actor by URI, fetched when unknown (or when ``refresh``)."""
        if not refresh:
            with self.sessions() as session:
                actor = session.scalar(select(Actor).where(Actor.uri == uri))
                if actor is not None:
                    session.expunge(actor)
                    return actor
        doc = await self.fetcher.fetch_object(uri, signer=self.signer)
        return self.store_actor(doc)
