"""CVE-2024-23832 (Mastodon GHSA-3fjr-858r-92rw) and its relatives: insufficient origin
validation. Catalogue rows 1, 5, 7 and 8 of security-and-performance.md §5.1.

An activity is only accepted when the signing key, the key's owner, the activity's actor
and the object it carries all live on one host; a fetched document is only accepted when
its ``id`` is the URL it was finally fetched from and the actor's own endpoints and key are
on its host. Every refusal stores nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select
from support.hostile import (
    actor_by_uri,
    create_note,
    hostile_world,
    inbox_item,
    new_token,
    status_by_uri,
    wait_processed,
)
from support.world import query

from fedi.models import Actor, InboxItem


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    with hostile_world(tmp_path_factory.mktemp("origin"), "origin", remotes=2) as w:
        yield w


def assert_nothing_stored(world: SimpleNamespace, doc: dict) -> None:
    assert inbox_item(world.hub, doc["id"]) is None
    assert status_by_uri(world.hub, doc["object"]["id"]) is None


def test_honest_create__is_accepted(world: SimpleNamespace) -> None:
    """The control: the same shape, honestly signed, is stored and processed."""
    mallory = world.evil.add_actor("honest")
    doc = create_note(mallory, to=[world.alice], mentions=[world.alice])
    response = world.evil.post(world.inbox, doc, mallory)
    assert response.status_code == 202, response.text
    wait_processed(world.hub, doc["id"])
    assert status_by_uri(world.hub, doc["object"]["id"]) is not None


def test_key_host_is_not_actor_host__401(world: SimpleNamespace) -> None:
    """Misskey #2546: a valid key from another host signs an activity of a victim here."""
    signer = world.other.add_actor("signer")
    victim = world.evil.add_actor("victim1")
    doc = create_note(victim, to=[world.alice], mentions=[world.alice])
    response = world.evil.post(world.inbox, doc, victim, key_id=signer.key_id,
                               private_key_pem=signer.private_key_pem)
    assert response.status_code == 401, response.text
    assert "host" in response.json()["error"]
    assert_nothing_stored(world, doc)


def test_signer_is_not_actor__401(world: SimpleNamespace) -> None:
    """Mastodon PR #4216: a Create by A signed by B on the same host is refused."""
    mallory = world.evil.add_actor("mallory1")
    victim = world.evil.add_actor("victim2")
    doc = create_note(victim, to=[world.alice], mentions=[world.alice])
    response = world.evil.post(world.inbox, doc, victim, key_id=mallory.key_id,
                               private_key_pem=mallory.private_key_pem)
    assert response.status_code == 401, response.text
    assert "not the signer" in response.json()["error"]
    assert_nothing_stored(world, doc)
    assert actor_by_uri(world.hub, victim.uri) is None


def test_forwarded_with_ld_signature__401(world: SimpleNamespace) -> None:
    """Row 6 (CVE-2022-24307): we do not accept LD-signature forwarding. An activity of the
    victim, "forwarded" by another actor with an embedded RsaSignature2017, is refused as
    signer ≠ actor, whatever the embedded signature says."""
    forwarder = world.evil.add_actor("forwarder")
    victim = world.evil.add_actor("victim3")
    doc = create_note(victim, to=[world.alice], mentions=[world.alice])
    doc["signature"] = {"type": "RsaSignature2017", "creator": victim.key_id,
                        "created": "2026-01-01T00:00:00Z", "signatureValue": "Zm9yZ2Vk"}
    response = world.evil.post(world.inbox, doc, forwarder)
    assert response.status_code == 401, response.text
    assert_nothing_stored(world, doc)


@pytest.mark.parametrize("forgery", ["object id", "attributedTo other host",
                                     "attributedTo same host", "activity id"])
def test_object_not_from_actor__4xx_nothing_stored(world: SimpleNamespace, forgery: str) -> None:
    """Row 8: object.id / attributedTo / the activity id off the actor's host (or naming
    someone else) are refused; the forged object is never stored."""
    mallory = world.evil.add_actor(f"mallory-{forgery.replace(' ', '-')}")
    foreign = world.other.add_actor(f"foreign-{forgery.replace(' ', '-')}")
    neighbour = world.evil.add_actor(f"neighbour-{forgery.replace(' ', '-')}")
    doc = create_note(mallory, to=[world.alice], mentions=[world.alice])
    if forgery == "object id":
        doc["object"]["id"] = f"{foreign.uri}/statuses/forged"
        doc["object"]["attributedTo"] = mallory.uri
    elif forgery == "attributedTo other host":
        doc["object"]["attributedTo"] = foreign.uri
    elif forgery == "attributedTo same host":
        doc["object"]["attributedTo"] = neighbour.uri
    else:
        doc["id"] = f"{foreign.uri}/activities/forged"
    response = world.evil.post(world.inbox, doc, mallory)
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["error"]
    assert_nothing_stored(world, doc)


@pytest.mark.parametrize("keyid", ["userinfo", "trailing dot"])
def test_keyid_host_spellings__refused_before_any_fetch(world: SimpleNamespace,
                                                         keyid: str) -> None:
    """Row 5 (CVE-2023-42451): ``good@evil`` and ``host.`` are not the allowed host; the
    request is refused before the hub fetches anything from the named host."""
    mallory = world.evil.add_actor(f"spell-{keyid.replace(' ', '-')}")
    if keyid == "userinfo":
        key_id = f"http://{world.other.domain}@{world.evil.domain}{mallory.path}#main-key"
    else:
        key_id = f"http://{world.evil.host}.:{world.evil.port}{mallory.path}#main-key"
    doc = create_note(mallory, to=[world.alice], mentions=[world.alice])
    response = world.evil.post(world.inbox, doc, mallory, key_id=key_id)
    assert response.status_code in (400, 401, 403), response.text
    assert world.evil.count(mallory.path) == 0
    assert_nothing_stored(world, doc)


# --- the fetch side: documents whose id is not where they came from ----------------------------


@pytest.mark.parametrize("case", ["id elsewhere on the host", "id on another host",
                                  "redirect, id is the first URL"])
def test_lookup__document_id_not_final_url__rejected(world: SimpleNamespace, case: str) -> None:
    """Row 1 and row 4 (Akkoma 8684964c): the body's id must equal the final URL."""
    evil, other = world.evil, world.other
    token = new_token()
    real = (other if "another" in case else evil).add_actor(f"real-{token}")
    asked = f"/users/imposter-{token}"
    forged = real.doc()  # a valid actor document that claims to be someone else
    if case.startswith("redirect"):
        landing = f"{asked}-landing"
        evil.redirect(asked, evil.url(landing))
        forged["id"] = evil.url(asked)
        forged["publicKey"] = dict(forged["publicKey"], owner=forged["id"],
                                   id=f"{forged['id']}#main-key")
        evil.serve_json(landing, forged)
    else:
        evil.serve_json(asked, forged)
    result = world.hub.cli("lookup", evil.url(asked), check=False)
    assert result.returncode == 2, result.stdout
    assert "is not the URL it came from" in result.stderr
    assert actor_by_uri(world.hub, forged["id"]) is None
    assert actor_by_uri(world.hub, evil.url(asked)) is None
    assert evil.count(asked) == 1


def test_inbox__key_document_with_forged_id__401_nothing_stored(world: SimpleNamespace) -> None:
    """The key fetch obeys the same rule: a keyId whose document claims another id."""
    evil = world.evil
    mallory = evil.add_actor("keyforger")
    victim = evil.add_actor("keyvictim")
    forged = mallory.doc()
    forged["id"] = victim.uri
    forged["publicKey"] = dict(forged["publicKey"], owner=victim.uri)
    evil.serve_json(mallory.path, forged)
    doc = create_note(mallory, to=[world.alice], mentions=[world.alice])
    response = evil.post(world.inbox, doc, mallory)
    assert response.status_code == 401, response.text
    assert "cannot get key" in response.json()["error"]
    assert actor_by_uri(world.hub, victim.uri) is None
    assert actor_by_uri(world.hub, mallory.uri) is None
    assert_nothing_stored(world, doc)


def test_inbox__key_fetched_through_cross_host_redirect__401_nothing_stored(
    world: SimpleNamespace,
) -> None:
    """A keyId on one host answered (after a redirect) by an actor of another host that lists
    that keyId as its own: refused, and the other host's actor does not take the keyId."""
    evil, other = world.evil, world.other
    lander = other.add_actor("lander")
    key_path = "/users/hopper"
    key_id = f"{evil.url(key_path)}#main-key"
    evil.redirect(key_path, lander.uri)
    lander.overrides["publicKey"] = {"id": key_id, "owner": lander.uri,
                                     "publicKeyPem": lander.public_key_pem}
    mallory = evil.add_actor("hopper-front")
    doc = create_note(mallory, to=[world.alice], mentions=[world.alice])
    response = evil.post(world.inbox, doc, mallory, key_id=key_id,
                         private_key_pem=lander.private_key_pem)
    assert response.status_code == 401, response.text
    assert query(world.hub, lambda s: s.scalar(
        select(func.count()).select_from(Actor).where(Actor.key_id == key_id))) == 0
    assert actor_by_uri(world.hub, lander.uri) is None
    assert_nothing_stored(world, doc)


@pytest.mark.parametrize("field", ["inbox", "followers", "sharedInbox", "publicKey.id"])
def test_actor_pointing_at_another_host__rejected(world: SimpleNamespace, field: str) -> None:
    """Row 8 (Lemmy PR #6673): an actor whose inbox, followers, shared inbox or key lives on
    another host is refused (its key is not used, the actor is not stored)."""
    evil, other = world.evil, world.other
    mallory = evil.add_actor(f"pointer-{field.replace('.', '-')}")
    elsewhere = other.add_actor(f"target-{field.replace('.', '-')}")
    if field == "inbox":
        mallory.overrides["inbox"] = elsewhere.inbox
    elif field == "followers":
        mallory.overrides["followers"] = elsewhere.followers
    elif field == "sharedInbox":
        mallory.overrides["endpoints"] = {"sharedInbox": f"{other.base}/inbox"}
    else:
        mallory.overrides["publicKey"] = {"id": elsewhere.key_id, "owner": mallory.uri,
                                          "publicKeyPem": mallory.public_key_pem}
    doc = create_note(mallory, to=[world.alice], mentions=[world.alice])
    key_id = elsewhere.key_id if field == "publicKey.id" else mallory.key_id
    if field == "publicKey.id":
        # The hub would fetch the key from the other host: ask through lookup instead.
        result = world.hub.cli("lookup", mallory.uri, check=False)
        assert result.returncode == 2, result.stdout
        assert "host" in result.stderr
    else:
        response = evil.post(world.inbox, doc, mallory, key_id=key_id)
        assert response.status_code == 401, response.text
    assert actor_by_uri(world.hub, mallory.uri) is None
    assert query(world.hub, lambda s: s.scalar(
        select(func.count()).select_from(Actor).where(Actor.key_id == elsewhere.key_id))) == 0
    assert_nothing_stored(world, doc)


def test_refusals_left_no_inbox_rows_behind(world: SimpleNamespace) -> None:
    """Only the honest activities of this module reached the inbox table."""
    actors = query(world.hub, lambda s: list(s.scalars(select(InboxItem.actor_uri))))
    assert all("/users/honest" in a for a in actors), actors
