"""A linked hub's instance actor may send the Delete of one of its own members' accounts
(instead of the member's key): the copy of that member is erased here (profile, posts,
follows, directory listing). It may not delete anyone of another hub, and a member may not
delete another member."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from neighbourhood_world import signed_post
from sqlalchemy import func, select
from support.hubs import HubProcess, wait_for
from support.world import hub_session, query

from fedi.models import Actor, DirectoryListing, Status
from fedi.signatures import sign_request


def link_by_config(hub: HubProcess, other: HubProcess) -> None:
    text = hub.config_path.read_text(encoding="utf-8")
    hub.config_path.write_text(text.replace("neighbours = []",
                                            f'neighbours = ["{other.domain}"]'), encoding="utf-8")


def copy_of(hub: HubProcess, uri: str) -> tuple[Any, ...]:
    def read(session: Any) -> tuple[Any, ...]:
        actor = session.scalar(select(Actor).where(Actor.uri == uri))
        return (actor.deleted_at is not None, actor.display_name,
                session.scalar(select(func.count()).select_from(DirectoryListing).where(
                    DirectoryListing.actor_id == actor.id)),
                session.scalar(select(func.count()).select_from(Status).where(
                    Status.actor_id == actor.id)))
    return query(hub, read)  # type: ignore[no-any-return]


def test_linked_hub_actor_deletes_its_member(make_hub: Callable[..., HubProcess]) -> None:
    a, b = make_hub("hub-a"), make_hub("hub-b")
    link_by_config(a, b)
    link_by_config(b, a)
    paul_uri = a.add_user("paul")
    alice_uri = a.add_user("alice")
    olga_uri = b.add_user("olga")
    a.start()
    b.start()
    b.cli("lookup", f"paul@{a.domain}")
    b.cli("lookup", f"alice@{a.domain}")
    with hub_session(b) as (session, _ctx):
        paul = session.scalar(select(Actor).where(Actor.uri == paul_uri))
        paul.display_name = "Paul Plombier"
        if session.get(DirectoryListing, paul.id) is None:  # the mesh worker may have
            session.add(DirectoryListing(actor_id=paul.id, domain=a.domain))  # listed him
    assert copy_of(b, paul_uri) == (False, "Paul Plombier", 1, 0)
    # A member may not delete another member of their hub (the existing policy).
    by_member = {"@context": "https://www.w3.org/ns/activitystreams", "type": "Delete",
                 "id": f"{alice_uri}#delete-paul", "actor": alice_uri, "object": paul_uri,
                 "to": [f"{b.base}/members"]}
    key_id, pem = query(a, lambda s: s.execute(select(Actor.key_id, Actor.private_key_pem)
                                               .where(Actor.uri == alice_uri)).one())
    body = json.dumps(by_member).encode()
    headers = sign_request("POST", f"{b.base}/inbox", body=body, private_key_pem=pem,
                           key_id=key_id, now=datetime.now(UTC),
                           headers={"Content-Type": "application/activity+json"})
    key_signed = httpx.post(f"{b.base}/inbox", content=body, headers=headers, timeout=10)
    assert key_signed.status_code == 400 and "another actor" in key_signed.text
    # The hub's instance actor may not delete a member of another hub.
    foreign = {"@context": "https://www.w3.org/ns/activitystreams", "type": "Delete",
               "id": f"{a.base}/actor#delete-olga", "actor": f"{a.base}/actor",
               "object": olga_uri, "to": [f"{b.base}/members"]}
    assert signed_post(a, f"{b.base}/inbox", foreign).status_code in (202, 400)
    # The hub's instance actor deletes its own member: erased on B.
    doc = {"@context": "https://www.w3.org/ns/activitystreams", "type": "Delete",
           "id": f"{a.base}/actor#delete-paul", "actor": f"{a.base}/actor",
           "object": paul_uri, "to": [f"{b.base}/members"]}
    answer = signed_post(a, f"{b.base}/inbox", doc)
    assert answer.status_code == 202, answer.text
    wait_for(lambda: copy_of(b, paul_uri)[0], what="paul to be erased on B")
    assert copy_of(b, paul_uri) == (True, "", 0, 0)
    assert query(b, lambda s: s.scalar(select(Actor.deleted_at).where(
        Actor.uri == olga_uri))) is None
    assert copy_of(b, alice_uri)[0] is False
