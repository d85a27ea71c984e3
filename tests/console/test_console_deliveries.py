"""Dead deliveries and domain blocks on a real hub, with a hostile remote as its neighbour.

The remote first refuses the hub's posts (403: dead at once, a permanent failure); from the
console an admin discards one and, once the remote answers again, retries the others, which
then arrive. Blocking the remote from the console refuses its signed POSTs and GETs, removes
its follows and stops every delivery to it; unblocking restores the ability, not the
follows. The same verbs from ``voisins deliveries`` and ``voisins domains``, in French.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from console_world import console_post, logged_in, password_token, register_app
from site_browser import assert_accessible, log_in, screenshot
from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import Response
from support.hostile import (
    HostileRemote,
    activity,
    member_uri,
    pg_database_url,
    remote_follows_member,
    start_hub,
)
from support.hubs import HubProcess, wait_for
from support.world import actor, hub_session, query

from fedi.models import AuditEntry, Delivery, Follow, OutboxActivity
from fedi.services.posting import Draft, create_status


@contextmanager
def remote_world(workdir: Path, database_url: str | None = None
                 ) -> Iterator[tuple[HubProcess, HostileRemote, dict[str, int]]]:
    """A hub listing a hostile remote as its neighbour, with alice, claire (admin) and manon
    (moderator); the remote's shared inbox answers with ``answer["status"]`` (403 first)."""
    answer: dict[str, int] = {"status": 403}

    async def shared_inbox(_request: Request) -> Response:
        return Response(status_code=answer["status"])

    with HostileRemote() as remote:
        remote.route("/inbox", shared_inbox)
        hub = start_hub(workdir, "dead", database_url=database_url, users=("alice",),
                        allow=[remote.domain])
        try:
            hub.add_user("claire", role="admin")
            hub.add_user("manon", role="moderator")
            yield hub, remote, answer
        finally:
            hub.stop()


@pytest.fixture
def world(tmp_path: Path, db_backend: str, request: pytest.FixtureRequest
          ) -> Iterator[tuple[HubProcess, HostileRemote, dict[str, int]]]:
    url = pg_database_url(request, "dead") if db_backend == "postgresql" else None
    with remote_world(tmp_path / "hub", url) as made:
        yield made


def post(hub: HubProcess, text: str) -> str:
    with hub_session(hub) as (s, ctx):
        return create_status(s, ctx, actor(s, member_uri(hub, "alice")),
                             Draft(text=text, visibility="neighbourhood")).uri


def creates(hub: HubProcess, domain: str, state: str) -> dict[int, str]:
    """Delivery id → the Create's id, for the deliveries of Creates to ``domain``."""
    return dict(query(hub, lambda s: s.execute(
        select(Delivery.id, OutboxActivity.uri)
        .join(OutboxActivity, OutboxActivity.id == Delivery.activity_id)
        .where(Delivery.domain == domain, Delivery.state == state,
               OutboxActivity.type == "Create")).all()))


def received(remote: HostileRemote) -> list[str]:
    return [doc["id"] for doc in remote.deliveries("Create")]


def audit_actions(hub: HubProcess) -> list[str]:
    return list(query(hub, lambda s: list(s.scalars(select(AuditEntry.action)
                                                      .order_by(AuditEntry.id)))))


def test_dead_deliveries_are_discarded_and_retried_from_the_console(
        world: tuple[HubProcess, HostileRemote, dict[str, int]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    hub, remote, answer = world
    for text in ("Vide-grenier samedi", "Fuite rue Oberkampf", "Réunion du conseil"):
        post(hub, text)
    dead = wait_for(lambda: len(d := creates(hub, remote.domain, "dead")) == 3 and d,
                    timeout=60, what="three dead deliveries")
    assert not creates(hub, remote.domain, "sent")
    refused = received(remote)
    assert len(refused) == 3  # each tried once: a 403 is not retried

    with logged_in(hub, "manon") as moderator:
        page = moderator.get("/console/deliveries")
        assert page.status_code == 200 and remote.domain in page.text
        assert "HTTP 403" in page.text
        assert 'action="/console/deliveries/retry"' not in page.text  # read only
        answer_ = console_post(moderator, "/settings", "/console/deliveries/retry",
                               {"domain": remote.domain})
        assert answer_.status_code == 403
    assert len(creates(hub, remote.domain, "dead")) == 3

    first, *others = sorted(dead)
    with logged_in(hub, "claire") as admin:
        page = admin.get("/console/deliveries", params={"domain": remote.domain})
        assert page.status_code == 200 and "Create" in page.text
        assert 'action="/console/deliveries/retry"' in page.text
        # Bad input: a clear error, nothing changes.
        bad = console_post(admin, "/console/deliveries", "/console/deliveries/discard",
                           {"id": "12x"})
        assert bad.status_code == 422 and "numéro de livraison" in bad.text
        assert len(creates(hub, remote.domain, "dead")) == 3
        gone = console_post(admin, "/console/deliveries", "/console/deliveries/discard",
                            {"id": str(first)})
        assert gone.status_code == 303
        assert gone.headers["location"] == "/console/deliveries?done=discarded"
        assert set(creates(hub, remote.domain, "dead")) == set(others)
        assert str(first) not in admin.get("/console/deliveries").text

        answer["status"] = 202  # the remote is back
        back = console_post(admin, "/console/deliveries", "/console/deliveries/retry",
                            {"domain": remote.domain})
        assert back.headers["location"] == "/console/deliveries?done=retried"
        sent = wait_for(lambda: len(s := creates(hub, remote.domain, "sent")) == 2 and s,
                        timeout=60, what="the retried deliveries to be sent")
        assert set(sent) == set(others)
        assert not creates(hub, remote.domain, "dead")
        page = admin.get("/console/deliveries")
        assert "Aucune livraison en échec" in page.text
        neighbours = admin.get("/console/neighbours").text
        assert remote.domain in neighbours
    delivered = received(remote)[len(refused):]
    assert sorted(delivered) == sorted(dead[i] for i in others)
    assert dead[first] not in delivered
    assert audit_actions(hub)[-2:] == ["delivery.discard", "delivery.retry"]

    # From the command line, in French: one more dead delivery, listed then discarded.
    answer["status"] = 410
    post(hub, "Objet trouvé")
    wait_for(lambda: len(creates(hub, remote.domain, "dead")) == 1, timeout=60,
             what="a dead delivery")
    for name in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "fr_FR.UTF-8")
    listed = hub.cli("deliveries", "list").stdout
    assert remote.domain in listed and "Create" in listed and "HTTP 410" in listed
    both = hub.cli("deliveries", "discard", "1", "--domain", remote.domain, check=False)
    assert both.returncode == 2 and "pas les deux" in both.stderr
    done = hub.cli("deliveries", "discard", "--domain", remote.domain)
    assert "Livraisons abandonnées : 1" in done.stdout
    assert hub.cli("deliveries", "list").stdout.strip() == "Aucune livraison en échec."
    again = hub.cli("deliveries", "retry", "--domain", remote.domain, check=False)
    assert again.returncode == 2 and "aucune livraison en échec" in again.stderr
    assert audit_actions(hub)[-1] == "delivery.discard"


def test_a_blocked_domain_can_send_fetch_and_receive_nothing(
        world: tuple[HubProcess, HostileRemote, dict[str, int]]) -> None:
    hub, remote, answer = world
    answer["status"] = 202
    eve = remote.add_actor("eve")
    remote_follows_member(hub, eve, "alice")
    alice = member_uri(hub, "alice")
    assert query(hub, lambda s: s.scalar(select(func.count()).select_from(Follow))) == 1
    app = register_app(hub)
    token = password_token(hub, app, "alice")

    with logged_in(hub, "claire") as admin:
        bad = console_post(admin, "/console/neighbours", "/console/domains",
                           {"domain": "pas un domaine", "policy": "block"})
        assert bad.status_code == 422 and "nom de domaine" in bad.text
        bad = console_post(admin, "/console/neighbours", "/console/domains",
                           {"domain": hub.domain, "policy": "block"})
        assert bad.status_code == 422
        blocked = console_post(admin, "/console/neighbours", "/console/domains", {
            "domain": remote.domain.upper(), "policy": "block", "reason": "Spam"})
        assert blocked.headers["location"] == "/console/neighbours?done=blocked"
        page = admin.get("/console/neighbours").text
        assert "bloqué" in page and "Spam" in page and "Débloquer" in page
        relink = console_post(admin, "/console/neighbours", "/console/neighbours",
                              {"domain": remote.domain})
        assert relink.status_code == 422 and "débloquez-le" in relink.text

    # A blocked stranger's link request is refused before its /actor is even fetched.
    with HostileRemote() as stranger:
        hub_actor = stranger.add_actor("actor", type="Application", path="/actor")
        with logged_in(hub, "claire") as admin:
            console_post(admin, "/console/neighbours", "/console/domains",
                         {"domain": stranger.domain, "policy": "block"})
        follow = activity(hub_actor, "Follow", f"{hub.base}/actor", to=[f"{hub.base}/actor"])
        assert stranger.post(f"{hub.base}/actor/inbox", follow, hub_actor).status_code == 403
        assert stranger.count("/actor", "GET") == 0
        strange = stranger.domain

    # Its signed POSTs and GETs are refused; its follow is gone.
    note = activity(eve, "Create", {"id": f"{eve.uri}/notes/1", "type": "Note",
                                    "attributedTo": eve.uri, "content": "coucou",
                                    "to": [alice]}, to=[alice])
    assert remote.post(f"{hub.base}/inbox", note, eve).status_code == 403
    assert remote.get(alice, eve).status_code == 403
    assert query(hub, lambda s: s.scalar(select(func.count()).select_from(Follow))) == 0

    # Nothing is delivered to it: no delivery row for a new post, whatever the config says.
    before = len(remote.seen(method="POST"))
    uri = post(hub, "Après le blocage")
    assert query(hub, lambda s: s.scalar(select(func.count()).select_from(Delivery).join(
        OutboxActivity, OutboxActivity.id == Delivery.activity_id).where(
        OutboxActivity.object_uri == uri, Delivery.domain == remote.domain))) == 0
    assert query(hub, lambda s: s.scalar(select(func.count()).select_from(Delivery).where(
        Delivery.domain == remote.domain, Delivery.state == "pending"))) == 0
    assert len(remote.seen(method="POST")) == before

    # Members see the block through the API; anonymous callers do not.
    shown = httpx.get(f"{hub.base}/api/v1/instance/domain_blocks",
                      headers={"Authorization": f"Bearer {token}"})
    assert shown.status_code == 200
    assert sorted((b["domain"], b["severity"]) for b in shown.json()) == sorted(
        [(remote.domain, "suspend"), (strange, "suspend")])
    assert len(shown.json()[0]["digest"]) == 64
    assert httpx.get(f"{hub.base}/api/v1/instance/domain_blocks").status_code == 401

    with logged_in(hub, "claire") as admin:
        lifted = console_post(admin, "/console/neighbours",
                              f"/console/domains/{remote.domain}/remove")
        assert lifted.headers["location"] == "/console/neighbours?done=removed"
    # The ability is back, not the follow.
    again = activity(eve, "Create", {"id": f"{eve.uri}/notes/2", "type": "Note",
                                     "attributedTo": eve.uri, "content": "re", "to": [alice]},
                     to=[alice])
    assert remote.post(f"{hub.base}/inbox", again, eve).status_code == 202
    assert query(hub, lambda s: s.scalar(select(func.count()).select_from(Follow))) == 0
    assert audit_actions(hub)[-3:] == ["domain.block", "domain.block", "domain.unblock"]

    # The same from the command line.
    out = hub.cli("domains", "block", remote.domain, "--reason", "encore")
    assert remote.domain in out.stdout
    # The serving process's cache of allowed domains lives half a second (fedi.peers).
    wait_for(lambda: remote.post(f"{hub.base}/inbox", activity(
        eve, "Create", {"id": f"{eve.uri}/notes/3", "type": "Note", "attributedTo": eve.uri,
                        "content": "3", "to": [alice]}, to=[alice]), eve).status_code == 403,
             timeout=10, what="the command line's block to hold")
    listed = hub.cli("domains", "list").stdout
    assert remote.domain in listed and "encore" in listed
    hub.cli("domains", "remove", remote.domain)
    assert hub.cli("domains", "remove", remote.domain, check=False).returncode == 2



def test_the_deliveries_page_in_chromium(tmp_path: Path, browser_page: Any) -> None:
    """An admin finds the dead deliveries from the menu, retries one once the remote is back,
    and blocks a domain from the neighbours page; axe-core on both pages; screenshots."""
    with remote_world(tmp_path / "hub") as (hub, remote, answer):
        for text in ("Vide-grenier samedi", "Fuite rue Oberkampf"):
            post(hub, text)
        wait_for(lambda: len(creates(hub, remote.domain, "dead")) == 2, timeout=60,
                 what="two dead deliveries")
        page = browser_page
        log_in(page, hub.base, "claire", hub.passwords["claire"], "/console")
        page.wait_for_url(f"{hub.base}/console")
        page.click("nav >> text=Livraisons")
        page.wait_for_url("**/console/deliveries")
        assert page.locator("h1").inner_text() == "Livraisons en échec"
        assert "HTTP 403" in page.locator("main").inner_text()
        screenshot(page, "console-deliveries")
        assert_accessible(page, "console dead deliveries")

        answer["status"] = 202
        page.locator("form:has(input[name=id]) button").first.click()
        page.wait_for_url("**/console/deliveries?done=retried")
        assert page.locator("[role=status]").inner_text().startswith("Les livraisons sont")
        wait_for(lambda: len(creates(hub, remote.domain, "sent")) == 1, timeout=60,
                 what="the retried delivery to be sent")

        page.goto(f"{hub.base}/console/neighbours")
        page.fill("#other-domain", "spam.example")
        page.check("input[name=policy][value=block]")
        page.fill("#other-reason", "Démarchage")
        page.click("form[action='/console/domains'] button[type=submit]")
        page.wait_for_url("**/console/neighbours?done=blocked")
        assert "spam.example" in page.locator("main").inner_text()
        assert page.locator("button:has-text('Débloquer')").count() == 1
        screenshot(page, "console-neighbours-domains")
        assert_accessible(page, "console neighbours with other servers")
