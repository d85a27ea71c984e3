"""Four real hubs for the 11th, 12th, 20th and 1st arrondissements. Each operator adds only
the 12th, whose admin approves 11 and 20 (1 waits), the mesh links 11–20 through 12 by
itself (12 vouches for each), and 1 links with nobody until approved. Then: who sees a
neighbourhood post, a hub post that never leaves, the directory, and an unlink that
takes effect at once."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
from neighbourhood_world import (
    link_row,
    link_state,
    set_profile,
    signed_get,
    signed_post,
    user_token,
)
from sqlalchemy import func, select
from support.hubs import HubProcess, wait_for
from support.world import actor, hub_session, query

from fedi.db import make_engine, make_sessionmaker
from fedi.ids import new_id
from fedi.models import (
    Delivery,
    DirectoryListing,
    NeighbourSync,
    OutboxActivity,
    Status,
    TimelineEntry,
)
from fedi.peers import Peers
from fedi.services.posting import Draft, create_status
from fedi.services.visibility import can_see

pytestmark = [pytest.mark.multihub, pytest.mark.timeout(900)]  # four hubs to set up

TRADES = {"onze": ("olivier", "75011"), "douze": ("denis", "75012"),
          "vingt": ("vera", "75020"), "un": ("ursule", "75001")}


@pytest.fixture
def paris(make_hub: Callable[..., HubProcess]) -> dict[str, HubProcess]:
    hubs = {
        "onze": make_hub("onze", territory=("75011",)),
        "douze": make_hub("douze", territory=("75012",)),
        "vingt": make_hub("vingt", territory=("75020",)),
        "un": make_hub("un", territory=("75001",)),
    }
    for name in ("onze", "vingt", "un"):
        hubs[name].cli("neighbours", "add", hubs["douze"].domain)  # each adds only the 12th
    for name, hub in hubs.items():
        plumber, postal = TRADES[name]
        hub.add_user(plumber)
        set_profile(hub, plumber, trade="plombier", postal_code=postal,
                    business_name=f"Plomberie du {postal[-2:]}", display_name=plumber.title())
        hub.add_user(f"{name}_voisin")  # a member who follows nobody
    # The 12th first: the others' link requests find it up, rather than waiting for a
    # delivery retry.
    for name in ("douze", "onze", "vingt", "un"):
        hubs[name].start()
    return hubs


def linked(a: HubProcess, b: HubProcess) -> bool:
    return link_state(a, b) == "linked" and link_state(b, a) == "linked"


def status_on(hub: HubProcess, uri: str) -> Status | None:
    return query(hub, lambda s: s.scalar(select(Status).where(Status.uri == uri)))


def member_sees(hub: HubProcess, username: str, uri: str) -> bool:
    """What the hub's read paths decide for one of its members (from its own link table)."""
    settings = hub.settings()
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    try:
        peers = Peers(settings, sessions)
        with sessions() as session:
            status = session.scalar(select(Status).where(Status.uri == uri))
            viewer = actor(session, f"{hub.base}/users/{username}")
            return status is not None and can_see(session, viewer, status,
                                                  is_linked=peers.is_linked)
    finally:
        engine.dispose()


def post(hub: HubProcess, username: str, text: str, visibility: str) -> str:
    with hub_session(hub) as (session, ctx):
        status = create_status(session, ctx, actor(session, f"{hub.base}/users/{username}"),
                               Draft(text=text, visibility=visibility))
        return status.uri


def test_mesh_of_four_hubs(paris: dict[str, HubProcess]) -> None:
    onze, douze, vingt, un = paris["onze"], paris["douze"], paris["vingt"], paris["un"]

    # 12 listed nobody: bordering or not, every request waits for its admins (a territory
    # is a claim, not a credential), after 12 verified its signature.
    for hub in (onze, vingt, un):
        wait_for(lambda hub=hub: link_state(douze, hub) == "pending", timeout=90,
                 what=f"{hub.name}'s request to wait at 12")
        assert link_state(hub, douze) == "requested"
    # 12's admin approves 11 and 20 (they border 12), not 1 (yet).
    for hub in (onze, vingt):
        assert "approved" in douze.cli("neighbours", "approve", hub.domain).stdout
    wait_for(lambda: linked(onze, douze) and linked(vingt, douze), timeout=30,
             what="11–12 and 20–12 to link")
    # Through 12, which each of them listed, 11 and 20 find each other (their territories
    # border) and link by themselves: 12 vouches for each to the other.
    wait_for(lambda: linked(onze, vingt), timeout=30, what="the mesh to link 11–20")
    assert {link_row(onze, vingt).source, link_row(vingt, onze).source} & {"mesh"}
    assert link_state(douze, un) == "pending"
    for hub in (onze, vingt):
        assert link_state(hub, un) is None and link_state(un, hub) is None
    assert query(un, lambda s: s.scalar(select(func.count()).select_from(DirectoryListing))) == 0

    # A neighbourhood post of 11 reaches 12 and 20, not 1.
    uri = post(onze, "olivier", "Dépannage gratuit samedi pour les voisins", "neighbourhood")
    for hub in (douze, vingt):
        wait_for(lambda hub=hub: status_on(hub, uri) is not None, what=f"the post on {hub.name}")
        assert status_on(hub, uri).visibility == "neighbourhood"
        assert member_sees(hub, f"{hub.name}_voisin", uri)
    tokens = {h.name: user_token(h, f"{h.name}_voisin") for h in (douze, vingt, un)}

    def public_timeline(hub: HubProcess) -> set[str]:
        """The neighbourhood timeline of a member of ``hub``, through its client API."""
        r = httpx.get(f"{hub.base}/api/v1/timelines/public", timeout=10,
                      headers={"Authorization": f"Bearer {tokens[hub.name]}"})
        assert r.status_code == 200, r.text
        return {item["uri"] for item in r.json()}

    assert uri in public_timeline(douze) and uri in public_timeline(vingt)
    assert uri not in public_timeline(un)
    assert signed_get(douze, uri).status_code == 200
    assert status_on(un, uri) is None
    assert signed_get(un, uri).status_code == 403
    sent_to = query(onze, lambda s: set(s.scalars(select(Delivery.domain).join(
        OutboxActivity, OutboxActivity.id == Delivery.activity_id).where(
        OutboxActivity.object_uri == uri))))
    assert sent_to == {douze.domain, vingt.domain}

    # A hub post never leaves its hub: no delivery row, 404 to every signed fetch.
    hub_uri = post(onze, "olivier", "Réunion du bureau jeudi", "hub")
    assert query(onze, lambda s: s.scalar(select(func.count()).select_from(Delivery).join(
        OutboxActivity, OutboxActivity.id == Delivery.activity_id).where(
        OutboxActivity.object_uri == hub_uri))) == 0
    for hub in (douze, vingt):
        assert signed_get(hub, hub_uri).status_code == 404
    assert signed_get(un, hub_uri).status_code in (403, 404)
    assert member_sees(onze, "onze_voisin", hub_uri)

    # Directory of 11: its plumber first, then the neighbours' plumbers, never 1's.
    wait_for(lambda: query(onze, lambda s: s.scalar(select(func.count()).select_from(
        DirectoryListing))) >= 4, timeout=30, what="11 to list the members of 12 and 20")
    token = user_token(onze, "onze_voisin")
    found = httpx.get(f"{onze.base}/api/v1/directory", params={"trade": "plombier"},
                      headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert found.status_code == 200, found.text
    accts = [a["acct"] for a in found.json()]
    assert accts[0] == "olivier"
    assert set(accts[1:]) == {f"denis@{douze.domain}", f"vera@{vingt.domain}"}
    assert not any("ursule" in a for a in accts)
    words = httpx.get(f"{onze.base}/api/v1/directory", params={"q": "plombiers du 12"},
                      headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
    assert [a["acct"] for a in words] == [f"denis@{douze.domain}"]
    assert httpx.get(f"{onze.base}/api/v1/directory", timeout=10).status_code == 401
    # /members and /actor/links: for linked hubs only.
    assert signed_get(douze, f"{onze.base}/members").status_code == 200
    assert signed_get(un, f"{douze.base}/members").status_code == 403
    links = signed_get(douze, f"{onze.base}/actor/links").json()
    assert {item["id"] for item in links["orderedItems"]} == {f"{douze.base}/actor",
                                                              f"{vingt.base}/actor"}
    assert links["territory"] == ["75011"]

    # 11 unlinks 20: 20's members lose access at once.
    removed = onze.cli("neighbours", "remove", vingt.domain)
    assert "removed" in removed.stdout
    wait_for(lambda: signed_get(vingt, uri).status_code == 404, timeout=3,
             what="11 to answer 20's fetches with 404")
    follow = {"@context": "https://www.w3.org/ns/activitystreams",
              "id": f"{vingt.base}/actor/follows/{new_id()}", "type": "Follow",
              "actor": f"{vingt.base}/actor", "object": f"{onze.base}/users/olivier"}
    assert signed_post(vingt, f"{onze.base}/inbox", follow).status_code == 403
    # Nothing queued for 20 is sent any more, except the Undo that tells it.
    still_queued = query(onze, lambda s: set(s.scalars(select(OutboxActivity.type).join(
        Delivery, Delivery.activity_id == OutboxActivity.id).where(
        Delivery.domain == vingt.domain, Delivery.state == "pending"))))
    assert still_queued <= {"Undo"}
    wait_for(lambda: link_state(vingt, onze) == "unlinked", what="20 to learn of the unlink")
    assert not member_sees(vingt, "vera", uri)
    wait_for(lambda: uri not in public_timeline(vingt), timeout=5,
             what="the post to leave 20's neighbourhood timeline")
    assert uri in public_timeline(douze)
    assert query(vingt, lambda s: s.scalar(select(func.count()).select_from(TimelineEntry).join(
        Status, Status.id == TimelineEntry.status_id).where(Status.uri == uri))) == 0
    assert member_sees(douze, "denis", uri)  # 12 is still linked with 11
    later = post(onze, "olivier", "Et encore une annonce", "neighbourhood")
    recipients = json.dumps(status_on(onze, later).recipients)
    assert douze.domain in recipients and vingt.domain not in recipients
    wait_for(lambda: status_on(douze, later) is not None, what="the next post on 12")
    assert status_on(vingt, later) is None
    assert link_state(onze, vingt) == "refused"
    assert vingt.domain not in onze.cli("neighbours", "list").stdout
    assert f"{vingt.domain}\trefused\tadmin" in onze.cli("neighbours", "list", "--all").stdout

    # 12's admin approves 1's request: the link forms; 1 borders neither 11 nor 20, so the
    # mesh proposes nothing more, and 11 and 20 never hear from 1.
    assert "approved" in douze.cli("neighbours", "approve", un.domain).stdout
    wait_for(lambda: linked(un, douze), what="1–12 to link once approved")
    wait_for(lambda: query(un, lambda s: s.scalar(select(func.count()).select_from(
        DirectoryListing))) >= 1, what="1 to list 12's members")
    # 11 has read 12's links since (12 announced the new link), and let 1 be.
    wait_for(lambda: un.domain in json.dumps(query(onze, lambda s: s.get(
        NeighbourSync, douze.domain).links)), what="11 to learn of the 1–12 link")
    assert link_state(onze, un) is None and link_state(vingt, un) is None
    assert link_state(un, onze) is None and link_state(un, vingt) is None
