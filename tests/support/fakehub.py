"""A fake Voisins hub for trust tests: a ``HostileRemote`` that serves an instance actor at
``/actor`` with the territory it claims, a links collection naming whatever hubs the test
says (a vouch, honest or not), an empty ``/members``; and that asks a real hub to link
(signed ``Follow``) and answers the real hub's ``Follow`` with a signed ``Accept``."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from support.hostile import AP_JSON, AS, HostileRemote, new_token
from support.hubs import HubProcess

TERRITORY_CONTEXT = [AS, {"voisins": "https://voisins.social/ns#",
                          "territory": "voisins:territory"}]


class FakeHub:
    """What a hub serves and does, on a hostile remote of its own."""

    def __init__(self, remote: HostileRemote, territory: list[str]) -> None:
        self.remote = remote
        self.actor = remote.add_actor("hub", type="Application", path="/actor")
        self.actor.overrides.update({"@context": TERRITORY_CONTEXT, "territory": territory})
        self.links: dict[str, list[str]] = {}  # domain → the territory we say it has
        self.accepts_sent: list[str] = []  # ids of our Accepts the hub took (202)
        remote.route("/actor/links", self._links)
        remote.route("/members", self._members)

    @property
    def domain(self) -> str:
        return self.remote.domain

    @property
    def uri(self) -> str:
        return self.actor.uri

    def vouch_for(self, domain: str, territory: list[str]) -> None:
        """Name ``domain`` in our links collection, with a territory of our choosing."""
        self.links[domain] = territory

    async def _links(self, _request: Request) -> Response:
        items = [{"id": f"http://{d}/actor", "type": "Application", "territory": t}
                 for d, t in self.links.items()]
        doc = {"@context": TERRITORY_CONTEXT, "id": f"{self.remote.base}/actor/links",
               "type": "OrderedCollection", "totalItems": len(items), "orderedItems": items,
               "territory": self.actor.overrides["territory"]}
        return JSONResponse(doc, media_type=AP_JSON)

    async def _members(self, _request: Request) -> Response:
        doc = {"@context": AS, "id": f"{self.remote.base}/members",
               "type": "OrderedCollection", "totalItems": 0, "orderedItems": []}
        return JSONResponse(doc, media_type=AP_JSON)

    # --- acting on a real hub ------------------------------------------------------------

    def follow_doc(self, hub: HubProcess, claimed: list[str] | None = None) -> dict[str, Any]:
        return {"@context": TERRITORY_CONTEXT,
                "id": f"{self.uri}/follows/{new_token()}", "type": "Follow",
                "actor": self.uri, "object": f"{hub.base}/actor",
                "territory": claimed if claimed is not None
                else self.actor.overrides["territory"]}

    def ask_to_link(self, hub: HubProcess, claimed: list[str] | None = None) -> httpx.Response:
        """A signed Follow of the hub's ``/actor`` to its ``/actor/inbox``."""
        return self.remote.post(f"{hub.base}/actor/inbox", self.follow_doc(hub, claimed),
                                self.actor)

    def follows_received(self, hub: HubProcess) -> list[dict[str, Any]]:
        """The hub's Follows of our /actor delivered here."""
        return [d for d in self.remote.deliveries("Follow")
                if d.get("actor") == f"{hub.base}/actor" and d.get("object") == self.uri]

    def received_from(self, hub: HubProcess) -> list[dict[str, Any]]:
        """Everything the hub delivered here."""
        return [d for d in self.remote.deliveries() if str(d.get("actor", "")).startswith(
            hub.base)]

    def accept_follows(self, hub: HubProcess) -> list[int]:
        """Answer each Follow the hub sent us with a signed Accept; returns the statuses."""
        statuses = []
        for follow in self.follows_received(hub):
            accept = {"@context": AS, "id": f"{self.uri}/accepts/{new_token()}",
                      "type": "Accept", "actor": self.uri, "object": follow,
                      "to": [f"{hub.base}/actor"]}
            response = self.remote.post(f"{hub.base}/actor/inbox", accept, self.actor)
            statuses.append(response.status_code)
            if response.status_code == 202:
                self.accepts_sent.append(accept["id"])
        return statuses

    def get(self, url: str) -> httpx.Response:
        """A GET signed by our instance actor."""
        return self.remote.get(url, self.actor)
