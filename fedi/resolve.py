"""Dereference remote actors by URI (signed GET by the instance actor) and keep them stored."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from fedi.convert.ap_to_model import InvalidObject, new_remote_actor, public_key_of, update_actor
from fedi.db import reading
from fedi.http import BadResponse, Fetcher, RemoteError, Signer
from fedi.keystore import KeyFetchError, KeyInfo, fetch_url
from fedi.models import Actor

#: keyId URLs remembered as "already served from the database" (see fetch_key).
MAX_REMEMBERED = 100_000
#: Fetched actor documents waiting for a verified request (see confirm_key).
MAX_UNCONFIRMED = 1_000


class ActorResolver:
    """Remote actors and their keys: from the database first, else fetched and stored."""

    def __init__(
        self, sessions: sessionmaker[Session], fetcher: Fetcher, signer: Signer, local_domain: str
    ) -> None:
        self.sessions = sessions
        self.read_sessions = reading(sessions)
        self.fetcher = fetcher
        self.signer = signer
        self.local_domain = local_domain
        # keyId URLs answered from the database once already (see fetch_key).
        self._served_from_db: set[str] = set()
        # Actor documents fetched for a key, until a request signed with it verifies.
        self._unconfirmed: OrderedDict[str, dict[str, Any]] = OrderedDict()

    async def stored_key(self, key_id: str) -> KeyInfo | None:
        """This hub's own key by keyId: the key store's ``local_lookup``.

        Only local actors count. Remote keys stored in the database are served by
        ``fetch_key`` instead: the key store never refetches a key its local lookup knows,
        so answering for remote keys here made every stored remote key permanent (a key
        rotation could never be picked up; security-and-performance.md §5.1 row 11).
        """
        if urlsplit(key_id).netloc.lower() != self.local_domain:
            return None  # not ours: no database round trip on every inbox request
        return self._stored(select(Actor.uri, Actor.key_id, Actor.public_key_pem)
                            .where(Actor.key_id == key_id, Actor.local.is_(True)))

    def _stored(self, query: Any) -> KeyInfo | None:
        with self.read_sessions() as session:
            row = session.execute(query.where(Actor.deleted_at.is_(None))).first()
        if row is None or not row.public_key_pem or not row.key_id:
            return None
        return KeyInfo(key_id=row.key_id, owner=row.uri, public_key_pem=row.public_key_pem)

    async def fetch_key(self, url: str) -> KeyInfo:
        """The key of the actor document at ``url`` (a keyId without its fragment).

        The first time this process is asked for a URL, a key already stored with its
        remote actor is used (no network). The key store caches what we return, so being
        asked again for the same URL means a refetch after a failed verification (it
        rate-limits those): then the document is fetched, its actor updated and its key
        returned; the key store checks that it is the key that was asked for.
        """
        if url not in self._served_from_db:
            if len(self._served_from_db) >= MAX_REMEMBERED:
                self._served_from_db.clear()  # bounded; at worst one refetch is served stale
            self._served_from_db.add(url)
            stored = self._stored(select(Actor.uri, Actor.key_id, Actor.public_key_pem).where(
                Actor.local.is_(False), (Actor.uri == url) | (Actor.key_id == url)))
            if stored is not None and fetch_url(stored.key_id) == url:
                return stored
        key, doc = await self.fetch_key_document(url)
        # Kept aside, not stored: the request that made us fetch it is not verified yet
        # (confirm_key stores it once a signature made with this key checks out).
        self._unconfirmed[url] = doc
        self._unconfirmed.move_to_end(url)
        while len(self._unconfirmed) > MAX_UNCONFIRMED:
            self._unconfirmed.popitem(last=False)
        return key

    async def confirm_key(self, key_id: str) -> None:
        """A request signed with ``key_id`` verified: store the actor document fetched for
        that key (the key store's ``confirm``). Nothing to do when it was stored already."""
        url = fetch_url(key_id)
        doc = self._unconfirmed.pop(url, None)
        if doc is None:
            return
        try:
            self.store_actor(doc)
        except InvalidObject as exc:
            raise KeyFetchError(str(exc)) from None
        except Exception:
            # Not stored (the database is away or full: the request answers 503). The key
            # stays cached, so keep the document for the sender's next verified request;
            # else none of its activities would ever find their sender stored.
            self._unconfirmed[url] = doc
            raise

    async def fetch_key_document(self, url: str) -> tuple[KeyInfo, dict[str, Any]]:
        """The key of the actor document at ``url`` and the document, fetched and checked
        but *not stored*: for a request whose signature is not verified yet."""
        try:
            doc = await self.fetcher.fetch_object(url, signer=self.signer)
            key = doc.get("publicKey")
            key_id = key.get("id") if isinstance(key, dict) else None
            if not isinstance(key_id, str):
                raise InvalidObject("the actor has no single publicKey")
            owner, pem = public_key_of(doc, key_id)
        except BadResponse as exc:
            raise KeyFetchError(str(exc), status=exc.status) from None
        except (RemoteError, InvalidObject) as exc:
            raise KeyFetchError(str(exc)) from None
        return KeyInfo(key_id=key_id, owner=owner, public_key_pem=pem), doc

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
            with self.read_sessions() as session:
                actor = session.scalar(select(Actor).where(Actor.uri == uri))
                if actor is not None:
                    session.expunge(actor)
                    return actor
        doc = await self.fetcher.fetch_object(uri, signer=self.signer)
        try:
            return self.store_actor(doc)
        except InvalidObject as exc:
            # A refused document is a bad answer from the remote, reported like the others
            # (with a reason) rather than escaping callers that expect RemoteError.
            raise BadResponse(f"{uri}: {exc}") from None
