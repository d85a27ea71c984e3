"""Partial signing and replay windows on the inbox: catalogue rows 9 and 10 of
security-and-performance.md §5.1 (Mastodon PR #8959 and PR #14556; wordpress-activitypub
PR #3096 and #3212; the SocialCG report).

Each case is a request that a hostile peer can build from a valid signature of its own;
each gets 401 and stores nothing. The accepted edges of the window are tested too, so the
refusals cannot come from a window that is simply closed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from types import SimpleNamespace

import pytest
from support.hostile import (
    create_note,
    hostile_world,
    inbox_item,
    now_utc,
    wait_processed,
)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    with hostile_world(tmp_path_factory.mktemp("window"), "window") as w:
        w.signer = w.evil.add_actor("signer")
        yield w


def note(world: SimpleNamespace) -> tuple[dict, bytes]:
    doc = create_note(world.signer, to=[world.alice], mentions=[world.alice])
    return doc, json.dumps(doc).encode()


def send(world: SimpleNamespace, headers: dict[str, str], body: bytes, url: str | None = None):  # type: ignore[no-untyped-def]
    return world.evil.send("POST", url or world.inbox, headers, body)


def refused(world: SimpleNamespace, response, doc: dict, reason: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 401, response.text
    assert re.search(reason, response.json()["error"]), response.json()["error"]
    assert inbox_item(world.hub, doc["id"]) is None


@pytest.mark.parametrize("offset", [timedelta(minutes=-60), timedelta(minutes=50),
                                    timedelta(0)])
def test_date_inside_window__accepted(world: SimpleNamespace, offset: timedelta) -> None:
    """The control and the edges we promise: −60 min and +50 min are accepted."""
    doc, body = note(world)
    headers = world.evil.sign("POST", world.inbox, world.signer, body, now=now_utc() + offset)
    response = send(world, headers, body)
    assert response.status_code == 202, response.text
    wait_processed(world.hub, doc["id"])


@pytest.mark.parametrize("offset", [timedelta(hours=-13), timedelta(hours=-2),
                                    timedelta(hours=2)])
def test_date_outside_window__401(world: SimpleNamespace, offset: timedelta) -> None:
    """Row 9 (a), (b): a Date 13 h (or 2 h) old, or 2 h in the future."""
    doc, body = note(world)
    headers = world.evil.sign("POST", world.inbox, world.signer, body, now=now_utc() + offset)
    refused(world, send(world, headers, body), doc, "expired|future")


def test_body_tampered__401(world: SimpleNamespace) -> None:
    """Row 9 (d): a valid signature over one body, another body sent (digest mismatch)."""
    doc, body = note(world)
    headers = world.evil.sign("POST", world.inbox, world.signer, body)
    doc["object"]["content"] = "<p>tampered</p>"
    refused(world, send(world, headers, json.dumps(doc).encode()), doc, "computed")


def test_digest_header_swapped__401(world: SimpleNamespace) -> None:
    """A Digest recomputed for the tampered body breaks the signature instead."""
    from fedi.signatures import digest_header

    doc, body = note(world)
    headers = world.evil.sign("POST", world.inbox, world.signer, body)
    doc["object"]["content"] = "<p>tampered</p>"
    tampered = json.dumps(doc).encode()
    headers["Digest"] = digest_header(tampered)
    refused(world, send(world, headers, tampered), doc, "does not match")


def test_digest_not_signed__401(world: SimpleNamespace) -> None:
    """Row 9 (c): a POST whose signature leaves the Digest out (so any body would do)."""
    doc, body = note(world)
    headers = world.evil.sign("POST", world.inbox, world.signer, body,
                              signed_headers=["(request-target)", "host", "date",
                                              "content-type"])
    refused(world, send(world, headers, body), doc, "digest")


def test_host_not_signed__401(world: SimpleNamespace) -> None:
    """Row 9 (g): host unsigned, so the request could be replayed to another hub."""
    doc, body = note(world)
    headers = world.evil.sign("POST", world.inbox, world.signer, body,
                              signed_headers=["(request-target)", "date", "digest"])
    refused(world, send(world, headers, body), doc, "host")


def test_signed_for_another_hub__401(world: SimpleNamespace) -> None:
    """A request validly signed for another hub (its Host signed and sent as is), replayed
    here: the signed host must be this hub's."""
    doc, body = note(world)
    elsewhere = f"http://127.0.0.250:{world.hub.port}/inbox"
    headers = world.evil.sign("POST", elsewhere, world.signer, body)
    refused(world, send(world, headers, body), doc, "host")


def test_request_target_path_changed__401(world: SimpleNamespace) -> None:
    """Row 9 (e): signed for alice's inbox, sent to the shared inbox."""
    doc, body = note(world)
    headers = world.evil.sign("POST", f"{world.alice}/inbox", world.signer, body)
    refused(world, send(world, headers, body), doc, "does not match")


def test_request_target_method_changed__401(world: SimpleNamespace) -> None:
    """Row 9 (e): a signature made for a GET (with a Digest), sent as a POST."""
    doc, body = note(world)
    headers = world.evil.sign("GET", world.inbox, world.signer, body,
                              headers={"Content-Type": "application/activity+json"})
    refused(world, send(world, headers, body), doc, "does not match")


def test_date_signed_but_absent__401(world: SimpleNamespace) -> None:
    """Row 10 (wordpress-activitypub #3096): ``date`` listed, no Date header: no skipping
    of the window check."""
    doc, body = note(world)
    headers = world.evil.sign("POST", world.inbox, world.signer, body,
                              now=now_utc() - timedelta(hours=13))
    del headers["Date"]
    refused(world, send(world, headers, body), doc, "absent")


def test_unsigned__401(world: SimpleNamespace) -> None:
    doc, body = note(world)
    response = send(world, {"Content-Type": "application/activity+json"}, body)
    refused(world, response, doc, "not signed")


def test_mixed_case_header_names__verified(world: SimpleNamespace) -> None:
    """Row 9 (f): ``headers="(request-target) Host Date Digest Content-Type"`` is the same
    list; it verifies (and so cannot be used to skip the digest)."""
    _doc, body = note(world)
    headers = world.evil.sign("POST", world.inbox, world.signer, body)
    headers["Signature"] = headers["Signature"].replace(
        'headers="(request-target) host date digest content-type"',
        'headers="(request-target) Host Date Digest Content-Type"')
    assert "Digest Content-Type" in headers["Signature"]
    assert send(world, headers, body).status_code == 202
    tampered = body.replace(b"hello", b"HELLO")
    assert send(world, headers, tampered).status_code == 401
