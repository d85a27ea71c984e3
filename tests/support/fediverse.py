"""Fake Mastodon-style and Takahē-style servers: other fediverse servers, not Voisins hubs.

Both build on ``support.hostile.HostileRemote`` (real HTTP on a loopback address of their
own, actors with their own RSA keys, real signatures, every request recorded). What differs
is what these servers publish (their documented behaviour):

- Mastodon: actors at ``/users/{name}`` with ``/users/{name}/inbox``, followers at
  ``/users/{name}/followers``, ``endpoints.sharedInbox`` at ``/inbox``, a ``featured``
  collection and a profile ``url`` at ``/@{name}``. A public post is ``to`` as:Public,
  ``cc`` the followers; an unlisted one the other way round.
- Takahē: actors at ``/@{name}@{domain}/`` (a trailing slash on every path): inbox
  ``…/inbox/``, followers ``…/followers/``, ``endpoints.sharedInbox`` at ``/inbox/``.
  A public post is addressed to the compact ``as:Public`` alone, without the followers.

Neither serves ``/members`` (404), so a hub that guessed it would be seen trying.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from support.hostile import FakeActor, HostileRemote

from fedi.keys import generate_private_key_pem, public_pem_from_private

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


class FakeMastodon(HostileRemote):
    """A Mastodon-shaped server."""

    kind = "mastodon"
    shared_inbox_path = "/inbox"

    def add_actor(self, name: str, *, type: str = "Person", path: str | None = None,
                  private_key_pem: str | None = None) -> FakeActor:
        actor = super().add_actor(name, type=type, path=path, private_key_pem=private_key_pem)
        actor.overrides.update({
            "url": f"{self.base}/@{name}",
            "featured": f"{actor.uri}/collections/featured",
            "discoverable": True,
            "indexable": True,
            "manuallyApprovesFollowers": False,
        })
        return actor

    def public_addressing(self, actor: FakeActor) -> tuple[list[str], list[str]]:
        return [PUBLIC], [actor.followers]


@dataclass
class TakaheActor(FakeActor):
    """An actor as Takahē publishes it: trailing slashes, a shared inbox at ``/inbox/``."""

    @property
    def inbox(self) -> str:
        return f"{self.uri}inbox/"

    @property
    def followers(self) -> str:
        return f"{self.uri}followers/"

    def doc(self) -> dict[str, Any]:
        doc = super().doc()
        doc.update({
            "outbox": f"{self.uri}outbox/",
            "following": f"{self.uri}following/",
            "url": self.uri,
            "manuallyApprovesFollowers": False,
            "endpoints": {"sharedInbox": f"{self.remote.base}/inbox/"},
        })
        doc.update(self.overrides)
        return doc


class FakeTakahe(HostileRemote):
    """A Takahē-shaped server."""

    kind = "takahe"
    shared_inbox_path = "/inbox/"

    def start(self) -> FakeTakahe:
        super().start()

        async def accepted(_request: Request) -> Response:
            return Response(status_code=202)

        self.route("/inbox/", accepted)
        return self

    def add_actor(self, name: str, *, type: str = "Person", path: str | None = None,
                  private_key_pem: str | None = None) -> FakeActor:
        pem = private_key_pem or generate_private_key_pem()
        actor = TakaheActor(self, name, path or f"/@{name}@{self.host}/", type, pem,
                            public_pem_from_private(pem))
        self.actors[actor.path] = actor

        async def accepted(_request: Request) -> Response:
            return Response(status_code=202)

        self.route(actor.inbox.removeprefix(self.base), accepted)
        return actor

    def public_addressing(self, actor: FakeActor) -> tuple[list[str], list[str]]:
        return ["as:Public"], []
