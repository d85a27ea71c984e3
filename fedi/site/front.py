"""``/``: the hub's public front page for visitors (its name, territory, what it is, how one
joins, its linked neighbour hubs; nothing about its members), the home timeline for members."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fedi.models import Actor, Neighbour
from fedi.services.hub_settings import get_setting
from fedi.services.territory import city_for
from fedi.site import timeline
from fedi.web.session import current_member
from fedi.web.state import hub_of
from fedi.web.templating import render


@dataclass(frozen=True)
class NeighbourHub:
    domain: str
    name: str
    url: str
    area: str


def neighbour_hubs(request: Request) -> list[NeighbourHub]:
    """Linked hubs (listed by an admin or linked by the protocol), by name."""
    hub = hub_of(request)
    city = city_for(hub.settings)
    with hub.read_sessions() as session:
        rows = {r.domain: r for r in session.scalars(
            select(Neighbour).where(Neighbour.state == "linked"))}
        domains = sorted(set(rows) | (set(hub.settings.neighbours) & hub.peers.linked()))
        names = dict(session.execute(select(Actor.domain, Actor.display_name).where(
            Actor.type == "Application", Actor.domain.in_(domains))).all()) if domains else {}
    out = []
    for domain in domains:
        territory = rows[domain].territory if domain in rows else []
        area = city.describe(territory) or ", ".join(territory)
        out.append(NeighbourHub(domain, names.get(domain) or domain,
                                f"{hub.settings.scheme}://{domain}/", area))
    return sorted(out, key=lambda n: n.name.lower())


async def front_page(request: Request) -> Response:
    if current_member(request) is not None:
        return await timeline.home(request)
    hub = hub_of(request)
    city = city_for(hub.settings)
    with hub.read_sessions() as session:
        mode = get_setting(session, "registration_mode")
    return render(request, "site/pages/front.html", {
        "territory": list(hub.settings.territory),
        "territory_names": city.describe(hub.settings.territory),
        "mode": mode, "neighbours": neighbour_hubs(request),
        "description": hub.settings.description,
    })


routes = [
    Route("/", front_page, methods=["GET"], name="front"),
]
