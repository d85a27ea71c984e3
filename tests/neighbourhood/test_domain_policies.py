"""Allowed and blocked domains (fedi.services.domains, fedi.peers) and dead deliveries
(fedi.services.dead_letters, outbox.queue) on SQLite and PostgreSQL, in process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from fedi.config import Settings, load_settings, render_config
from fedi.db import make_engine, make_sessionmaker, transaction
from fedi.ids import Urls, new_id
from fedi.migrate import upgrade
from fedi.models import Actor, AuditEntry, Delivery, Follow, OutboxActivity
from fedi.peers import Peers
from fedi.services import dead_letters, domains
from fedi.services.accounts import create_user
from fedi.services.membership import By
from outbox import queue
from outbox.breaker import CircuitBreaker
from outbox.context import PublishContext

LINKED = "linked.test"
CONFIGURED_SERVER = "masto.test"
BY = By("claire", "admin")


@dataclass
class World:
    settings: Settings
    sessions: sessionmaker[Session]
    peers: Peers
    alice: int

    def ctx(self) -> PublishContext:
        return PublishContext(settings=self.settings, urls=Urls(self.settings.base_url),
                              is_allowed=self.peers.is_allowed,
                              linked_domains=self.peers.linked)


@pytest.fixture
def world(db_backend: str, new_database_url: Callable[[str, str], str],
          tmp_path: Path) -> Iterator[World]:
    config = tmp_path / "voisins.toml"
    text = render_config(domain="here.test", name="Ici", territory=["75011"],
                         database_url=new_database_url(db_backend, "policies"))
    text = text.replace("neighbours = []", f'neighbours = ["{LINKED}"]', 1)
    text = text.replace("allowed = []", f'allowed = ["{CONFIGURED_SERVER}"]', 1)
    config.write_text(text, encoding="utf-8")
    settings = load_settings(str(config), env={})
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    with transaction(sessions) as session:
        alice = create_user(session, settings, "alice", email="a@here.test",
                            password="alice-password").actor_id
    yield World(settings, sessions, Peers(settings, sessions, ttl=0), alice)
    engine.dispose()


def test_a_block_wins_over_the_config_and_lifting_it_gives_the_ability_back(
        world: World) -> None:
    peers = world.peers
    assert peers.is_linked(LINKED) and peers.is_allowed(LINKED) and peers.may_contact(LINKED)
    assert not peers.is_allowed("other.test")
    with transaction(world.sessions) as session:
        domains.block(session, world.ctx(), BY, LINKED, "spam")
        domains.allow(session, BY, "other.test")
    assert peers.is_blocked(LINKED)
    assert not peers.is_linked(LINKED) and not peers.is_allowed(LINKED)
    assert not peers.may_contact(LINKED) and LINKED not in peers.linked()
    assert peers.is_allowed("other.test") and "other.test" in peers.servers()
    assert "other.test" not in peers.linked()  # an allowed server is never a linked hub

    with transaction(world.sessions) as session:
        domains.block(session, world.ctx(), BY, CONFIGURED_SERVER)
    assert not peers.is_allowed(CONFIGURED_SERVER)
    assert CONFIGURED_SERVER not in peers.servers()

    with transaction(world.sessions) as session:
        assert domains.remove(session, BY, LINKED) == "block"
        with pytest.raises(domains.DomainError) as error:
            domains.remove(session, BY, "never.test")
        assert "ni autorisé ni bloqué" in error.value.message("fr")
    assert peers.is_linked(LINKED) and not peers.is_blocked(LINKED)
    with world.sessions() as session:
        actions = list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions == ["domain.block", "domain.allow", "domain.block", "domain.unblock"]


def test_blocking_drops_pending_deliveries_and_follows_both_ways(world: World) -> None:
    with transaction(world.sessions) as session:
        remote = Actor(id=new_id(), uri=f"https://{LINKED}/users/bob", username="bob",
                       domain=LINKED, local=False, type="Person",
                       inbox=f"https://{LINKED}/users/bob/inbox")
        session.add(remote)
        session.flush()
        session.add_all([Follow(id=new_id(), follower_id=remote.id, followee_id=world.alice,
                                state="accepted"),
                         Follow(id=new_id(), follower_id=world.alice, followee_id=remote.id,
                                state="accepted")])
        activity = OutboxActivity(id=new_id(), uri="https://here.test/a/1", actor_id=world.alice,
                                  type="Create", payload={})
        session.add(activity)
        session.flush()
        queue.enqueue_deliveries(session, activity, [f"https://{LINKED}/inbox",
                                                     "https://masto.test/inbox"])
    with transaction(world.sessions) as session:
        outcome = domains.block(session, world.ctx(), BY, LINKED)
    assert (outcome.dropped_deliveries, outcome.removed_follows) == (1, 2)
    with world.sessions() as session:
        states = dict(session.execute(select(Delivery.domain, Delivery.state)).all())
        assert states == {LINKED: "dropped", CONFIGURED_SERVER: "pending"}
        assert session.scalar(select(func.count()).select_from(Follow)) == 0


def test_clean_domain_refuses_what_is_not_a_domain_or_is_this_hub(world: World) -> None:
    assert domains.clean_domain(" HTTPS://Masto.Test/ ", "here.test") == "masto.test"
    for bad in ("pas un domaine", "", "a/b", "here.test"):
        with pytest.raises(domains.DomainError):
            domains.clean_domain(bad, "here.test")


def test_dead_letters_are_retried_or_discarded_per_delivery_or_per_domain(
        world: World) -> None:
    with transaction(world.sessions) as session:
        ids = []
        for n in range(3):
            activity = OutboxActivity(id=new_id(), uri=f"https://here.test/a/{n}",
                                      actor_id=world.alice, type="Create", payload={})
            session.add(activity)
            session.flush()
            queue.enqueue_deliveries(session, activity, [f"https://{LINKED}/inbox",
                                                         "https://masto.test/inbox"])
        for row in session.scalars(select(Delivery)):
            ids.append(row.id)
        session.flush()
        for delivery_id in ids[:5]:
            assert queue.mark_dead(session, delivery_id, status=403, reason="HTTP 403")
    with world.sessions() as session:
        dead = dead_letters.dead_letters(session)
        assert len(dead) == 5 and {d.activity_type for d in dead} == {"Create"}
        by_domain = {d.domain: d.count for d in dead_letters.dead_by_domain(session)}
        assert sum(by_domain.values()) == 5
        one = dead[0]
    with transaction(world.sessions) as session:
        assert dead_letters.discard(session, BY, delivery_id=one.id) == 1
        assert dead_letters.discard(session, BY, delivery_id=one.id) == 0  # already gone
        count, where = dead_letters.retry(session, BY, domain=LINKED)
        assert where == ([LINKED] if count else [])
        rest = dead_letters.discard(session, BY, domain=CONFIGURED_SERVER)
    with world.sessions() as session:
        assert dead_letters.dead_letters(session) == []
        retried = list(session.scalars(select(Delivery).where(Delivery.domain == LINKED,
                                                              Delivery.state == "pending")))
        assert len(retried) == count and all(r.attempts == 0 for r in retried)
        assert session.get(Delivery, one.id) is None
        assert count + rest == 4
        # The still-pending delivery was never touched.
        assert session.get(Delivery, ids[5]).state == "pending"
    with pytest.raises(ValueError), world.sessions() as session:
        dead_letters.retry(session, BY)


def test_the_breaker_forgets_a_host_an_operator_retries() -> None:
    breaker = CircuitBreaker(threshold=1, cooldown=60)
    breaker.record_failure("down.test", 0.0)
    assert not breaker.allow("down.test", 1.0)
    breaker.forget("down.test")
    assert breaker.allow("down.test", 1.0) and breaker.state("down.test") == "closed"
