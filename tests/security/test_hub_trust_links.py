"""Trust between hubs is granted, never claimed (issue 13, item 1).

A real hub of the 11th arrondissement whose admins listed one hub, ``voucher`` (12th).
Around it, fake hubs on loopback, each with its own key, that ask to link:

- ``stranger`` (10th, borders the 11th), named by nobody: its request waits for an admin;
  it gets no Accept, no Follow, no ``/members``, no neighbourhood post, and the voucher is
  not told of it, even though it signs correctly and would answer our Follow;
- ``vouched`` (3rd, borders), named by the voucher: linked without an admin;
- ``far`` (1st, does not border), named by the voucher which *claims* it is in the 4th:
  the hub reads the 1st in far's own ``/actor``, so it waits;
- ``chained`` (20th, borders), named only by ``vouched``: a vouch does not chain, it waits,
  and the mesh never proposes a link to it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from types import SimpleNamespace

import pytest
from sqlalchemy import select
from support.fakehub import FakeHub
from support.hostile import HostileRemote, start_hub, wait_processed
from support.hubs import HubProcess, wait_for
from support.world import actor, hub_session, query

from fedi.models import Neighbour, NeighbourSync
from fedi.services.posting import Draft, create_status

pytestmark = pytest.mark.multihub


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    with ExitStack() as stack:
        def fake(territory: str) -> FakeHub:
            return FakeHub(stack.enter_context(HostileRemote()), [territory])

        voucher, stranger, vouched = fake("75012"), fake("75010"), fake("75003")
        far, chained = fake("75001"), fake("75020")
        voucher.vouch_for(vouched.domain, ["75003"])
        voucher.vouch_for(far.domain, ["75004"])  # a lie: far's own /actor says 75001
        vouched.vouch_for(chained.domain, ["75020"])
        hub = start_hub(tmp_path_factory.mktemp("trust"), "onze", users=["olivier"],
                        allow=[voucher.domain], extra_config="\n[mesh]\nrefresh_seconds = 1\n")
        stack.callback(hub.stop)
        wait_for(lambda: synced_links(hub, voucher) is not None, timeout=30,
                 what="the hub to read the voucher's links")
        link_up(hub, voucher)  # listed by the admins: the handshake completes at once
        yield SimpleNamespace(hub=hub, voucher=voucher, stranger=stranger, vouched=vouched,
                              far=far, chained=chained)


def synced_links(hub: HubProcess, fake: FakeHub) -> list[str] | None:
    def read(session):  # type: ignore[no-untyped-def]
        row = session.get(NeighbourSync, fake.domain)
        if row is None or row.synced_at is None:
            return None
        return [link["domain"] for link in row.links]

    return query(hub, read)


def state(hub: HubProcess, fake: FakeHub) -> str | None:
    return query(hub, lambda s: s.scalar(select(Neighbour.state).where(
        Neighbour.domain == fake.domain)))


def neighbourhood_post(hub: HubProcess, text: str) -> str:
    with hub_session(hub) as (session, ctx):
        status = create_status(session, ctx, actor(session, f"{hub.base}/users/olivier"),
                               Draft(text=text, visibility="neighbourhood"))
        return status.uri


def delivered_to(fake: FakeHub, uri: str) -> bool:
    return any(isinstance(d.get("object"), dict) and d["object"].get("id") == uri
               for d in fake.remote.deliveries("Create"))


def announced(fake: FakeHub, about: FakeHub) -> bool:
    """Did the hub tell ``fake`` of a link with ``about`` (Add to its links)?"""
    return any(isinstance(d.get("object"), dict) and d["object"].get("id") == about.uri
               for d in fake.remote.deliveries("Add"))


def link_up(hub: HubProcess, fake: FakeHub) -> None:
    """``fake`` asks to link and answers the hub's Follow, as a real hub would."""
    if state(hub, fake) == "linked":
        return
    response = fake.ask_to_link(hub)
    assert response.status_code == 202, response.text
    wait_for(lambda: fake.follows_received(hub), what=f"the hub's Follow to {fake.domain}")
    assert set(fake.accept_follows(hub)) == {202}
    wait_for(lambda: state(hub, fake) == "linked", what=f"{fake.domain} to be linked")


def test_stranger_bordering_us__waits_and_gets_nothing(world: SimpleNamespace) -> None:
    hub, stranger = world.hub, world.stranger
    response = stranger.ask_to_link(hub)
    assert response.status_code == 202, response.text
    assert state(hub, stranger) == "pending"
    # Everything the hub sends from now on has reached the voucher before we look.
    uri = neighbourhood_post(hub, "Vide-grenier dimanche rue Oberkampf")
    wait_for(lambda: delivered_to(world.voucher, uri), what="the post to reach the voucher")
    assert stranger.received_from(hub) == []  # no Accept, no Follow, no post
    # Answering a Follow it never got, or reading the members: refused.
    assert stranger.accept_follows(hub) == []
    assert stranger.get(f"{hub.base}/members").status_code == 403
    assert stranger.get(f"{hub.base}/actor/links").status_code == 403
    assert state(hub, stranger) == "pending"
    assert not announced(world.voucher, stranger)
    assert stranger.domain not in [i["id"] for i in world.voucher.get(
        f"{hub.base}/actor/links").json()["orderedItems"]]
    listed = hub.cli("neighbours", "list").stdout
    assert f"{stranger.domain}\tpending" in listed


def test_vouched_for_and_bordering__links_without_an_admin(world: SimpleNamespace) -> None:
    hub, vouched = world.hub, world.vouched
    link_up(hub, vouched)
    # (the serving process sees a new link within its half-second cache)
    wait_for(lambda: vouched.get(f"{hub.base}/members").status_code == 200, timeout=5,
             what="the vouched hub to read /members")
    uri = neighbourhood_post(hub, "Atelier réparation vélos samedi")
    wait_for(lambda: delivered_to(vouched, uri), what="the post to reach the vouched hub")
    wait_for(lambda: announced(world.voucher, vouched), what="the voucher to be told")


def test_vouch_for_a_hub_that_does_not_border__waits(world: SimpleNamespace) -> None:
    """The voucher says ``far`` is in the 4th; far's own /actor says the 1st."""
    hub, far = world.hub, world.far
    assert far.ask_to_link(hub, claimed=["75004"]).status_code == 202
    # Pending at once, or (when the mesh proposed far on the voucher's word first) once the
    # inbox has checked far's own territory.
    wait_for(lambda: state(hub, far) == "pending", what="far's request to wait")
    uri = neighbourhood_post(hub, "Concert au square")
    wait_for(lambda: delivered_to(world.voucher, uri), what="the post to reach the voucher")
    # At most the mesh's proposal (a Follow, on the voucher's word); never an Accept of
    # far's request, never a post.
    assert {d["type"] for d in far.received_from(hub)} <= {"Follow"}
    far.accept_follows(hub)  # accepting that proposal links nothing either
    for accept_id in far.accepts_sent:  # (taken while the hub's half-second cache said
        wait_processed(hub, accept_id)  # "requested", then processed)
    assert state(hub, far) == "pending"
    assert far.get(f"{hub.base}/members").status_code == 403
    assert not announced(world.voucher, far)


def test_vouch_does_not_chain(world: SimpleNamespace) -> None:
    """``vouched`` (linked by a vouch) names ``chained``: the hub reads it, proposes
    nothing, and ``chained``'s own request waits for an admin."""
    hub, vouched, chained = world.hub, world.vouched, world.chained
    link_up(hub, vouched)
    wait_for(lambda: chained.domain in (synced_links(hub, vouched) or []), timeout=30,
             what="the hub to read the vouched hub's links")
    assert state(hub, chained) is None  # no link proposed to it by the mesh
    assert chained.follows_received(hub) == []
    assert chained.ask_to_link(hub).status_code == 202
    assert state(hub, chained) == "pending"
    uri = neighbourhood_post(hub, "Permanence juridique mardi")
    wait_for(lambda: delivered_to(vouched, uri), what="the post to reach the vouched hub")
    assert chained.received_from(hub) == []
    assert chained.get(f"{hub.base}/members").status_code == 403
    # An admin may still say yes: then the handshake links it.
    assert "approved" in hub.cli("neighbours", "approve", chained.domain).stdout
    wait_for(lambda: chained.follows_received(hub), what="the hub's Follow once approved")
    assert set(chained.accept_follows(hub)) == {202}
    wait_for(lambda: state(hub, chained) == "linked", what="the approved hub to link")
