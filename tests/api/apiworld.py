"""An in-process hub for client API tests: a migrated database, the real app behind
Starlette's TestClient, members with tokens, and remote actors and posts of linked hubs."""

from __future__ import annotations

import itertools
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from fedi.api.tokens import issue_token
from fedi.app import create_app
from fedi.config import Settings
from fedi.db import make_engine, make_sessionmaker, utcnow
from fedi.ids import Urls, new_id
from fedi.migrate import upgrade
from fedi.models import Actor, Mention, OAuthApp, Status, Tag
from fedi.peers import Peers
from fedi.services.accounts import create_user
from fedi.services.posting import Draft, create_status
from outbox.context import PublishContext

DOMAIN = "hub.test"
LINKED = "voisin.test"
FAR = "loin.test"
_names = itertools.count(1)


@dataclass
class Member:
    username: str
    actor_id: int
    user_id: int
    token: str
    email: str
    password: str

    @property
    def id(self) -> str:
        return str(self.actor_id)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class ApiWorld:
    def __init__(self, database_url: str, extra: dict[str, Any] | None = None) -> None:
        upgrade(database_url)
        # Media and archives go to a folder of this world's own, never the working directory.
        self.files = tempfile.mkdtemp(prefix="voisins-apiworld-")
        extra = {"media": {"path": f"{self.files}/media"},
                 "exports": {"path": f"{self.files}/exports"}, **(extra or {})}
        self.settings = Settings(
            domain=DOMAIN, name="Voisins du 11e", scheme="https", territory=("75011",),
            secret=secrets.token_urlsafe(24), database_url=database_url, neighbours=(LINKED,),
            run_workers=False, extra={**(extra or {}), "api": {
                "rate_limit": 100000, "account_stats_ttl": 0, **(extra or {}).get("api", {})}})
        self.app = create_app(self.settings)
        self.client = TestClient(self.app, base_url=f"https://{DOMAIN}")
        self.client.__enter__()
        self.engine = make_engine(database_url)
        self.sessions = make_sessionmaker(self.engine)
        self.urls = Urls(self.settings.base_url)
        with self.session() as s:
            self.app_row = OAuthApp(id=new_id(), name="tests", client_id=secrets.token_hex(8),
                                    client_secret=secrets.token_hex(8),
                                    redirect_uris="urn:ietf:wg:oauth:2.0:oob",
                                    scopes="read write follow push")
            s.add(self.app_row)

    def close(self) -> None:
        self.client.__exit__(None, None, None)
        self.engine.dispose()
        shutil.rmtree(self.files, ignore_errors=True)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.sessions() as s, s.begin():
            yield s

    def ctx(self) -> PublishContext:
        peers = Peers(self.settings, self.sessions)
        return PublishContext(settings=self.settings, urls=self.urls, is_allowed=peers.is_allowed,
                              linked_domains=peers.allowed)

    def member(self, prefix: str = "m", *, role: str = "member",
               scopes: str = "read write follow push") -> Member:
        username = f"{prefix}{next(_names)}"
        password = f"pw-{username}-secret"
        email = f"{username}@example.org"
        with self.session() as s:
            user = create_user(s, self.settings, username, email=email, password=password,
                               role=role)
            token = issue_token(s, s.get(OAuthApp, self.app_row.id), user.id,
                                scopes.split())["access_token"]
            return Member(username, user.actor_id, user.id, token, email, password)

    def remote(self, username: str, domain: str = LINKED) -> int:
        with self.session() as s:
            uri = f"https://{domain}/users/{username}"
            actor = Actor(id=new_id(), uri=uri, username=username, domain=domain, local=False,
                          type="Person", display_name=username.title(), url=uri,
                          inbox=f"{uri}/inbox", shared_inbox=f"https://{domain}/inbox",
                          followers_url=f"{uri}/followers", locked=True, fields=[])
            s.add(actor)
            return actor.id

    def remote_status(self, actor_id: int, text: str, visibility: str, *,
                      mentions: tuple[int, ...] = (), tags: tuple[str, ...] = (),
                      in_reply_to: int | None = None) -> int:
        with self.session() as s:
            actor = s.get(Actor, actor_id)
            sid = new_id()
            s.add(Status(id=sid, uri=f"{actor.uri}/statuses/{sid}", actor_id=actor_id,
                         local=False, visibility=visibility, content=f"<p>{text}</p>",
                         in_reply_to_id=in_reply_to, recipients={}, created_at=utcnow()))
            s.flush()
            for m in mentions:
                s.add(Mention(id=new_id(), status_id=sid, actor_id=m))
            for t in tags:
                s.add(Tag(id=new_id(), status_id=sid, name=t))
            return sid

    def post(self, member: Member, text: str, visibility: str = "followers",
             in_reply_to: int | None = None) -> int:
        """A status written through the posting service (not the API)."""
        with self.session() as s:
            author = s.get(Actor, member.actor_id)
            parent = s.get(Status, in_reply_to) if in_reply_to else None
            return create_status(s, self.ctx(), author,
                                 Draft(text=text, visibility=visibility, in_reply_to=parent)).id

    def follow(self, follower: Member | int, followee: Member | int) -> None:
        """An accepted follow, written directly."""
        from fedi.models import Follow

        a = follower.actor_id if isinstance(follower, Member) else follower
        b = followee.actor_id if isinstance(followee, Member) else followee
        with self.session() as s:
            s.add(Follow(id=new_id(), follower_id=a, followee_id=b, state="accepted",
                         uri=f"https://x.test/follows/{new_id()}"))

    # HTTP helpers ------------------------------------------------------------------------

    def get(self, who: Member | None, path: str, headers: dict[str, str] | None = None,
            **kw: Any) -> httpx.Response:
        return self.client.get(path, headers={**(who.headers if who else {}), **(headers or {})},
                               **kw)

    def post_json(self, who: Member | None, path: str, body: Any = None,
                  **kw: Any) -> httpx.Response:
        return self.client.post(path, json=body if body is not None else {},
                                headers=who.headers if who else {}, **kw)

    def post_form(self, who: Member | None, path: str, data: Any = None,
                  **kw: Any) -> httpx.Response:
        return self.client.post(path, data=data or {}, headers=who.headers if who else {}, **kw)


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.text[:500])
    return response.json()
