"""Slow and huge responses on outgoing fetches (CVE-2023-36461, Mastodon ``body_with_limit``,
Takahē's remote timeout) and decompression bombs on a fetch (baserow #3013). Catalogue
rows 13 and 17 of security-and-performance.md §5.2.

Every fetch has a *total* deadline (a body trickled one byte at a time does not reset it)
and a byte cap counted on the decoded body; a declared Content-Length over the cap is
refused before reading. A key fetch stuck on a stalled peer does not hold up the inbox.
"""

from __future__ import annotations

import asyncio
import gzip
import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import Response
from support.hostile import HostileRemote, create_note, inbox_item, member_uri, start_hub

from fedi.http import MAX_DOCUMENT_BYTES, BadResponse, Fetcher, RemoteError, make_client

DEADLINE = 1.0
HUNDRED_MB = 100 * 1024 * 1024


@pytest.fixture(scope="module")
def evil() -> Iterator[HostileRemote]:
    with HostileRemote() as remote:
        yield remote


def fetch(url: str, *, deadline: float = DEADLINE) -> tuple[Any, float]:
    """``Fetcher.fetch_object`` as the hub builds it (loopback allowed, as in the tests'
    hubs); returns (the document or the RemoteError, seconds taken)."""

    async def go() -> Any:
        client = make_client(allow_private=True, ca_bundle=None)
        fetcher = Fetcher(client, is_allowed=lambda _d: True, allow_http=True,
                          deadline=deadline)
        try:
            return await fetcher.fetch_object(url, signer=None)
        except RemoteError as exc:
            return exc
        finally:
            await client.aclose()

    start = time.monotonic()
    result = asyncio.run(go())
    return result, time.monotonic() - start


def test_trickled_body__aborted_on_total_deadline(evil: HostileRemote) -> None:
    """One byte every 0.1 s keeps every read timeout happy; the total deadline does not."""
    evil.trickle("/slow/body", interval=0.1)
    result, took = fetch(evil.url("/slow/body"))
    assert isinstance(result, RemoteError) and "did not answer within" in str(result)
    assert DEADLINE <= took < DEADLINE + 1.5
    assert evil.sent_bytes["/slow/body"] < 40  # the trickle really was cut off


def test_stalled_headers__aborted_on_total_deadline(evil: HostileRemote) -> None:
    release = evil.stall("/slow/headers")
    try:
        result, took = fetch(evil.url("/slow/headers"))
    finally:
        release.set()
    assert isinstance(result, RemoteError) and "did not answer within" in str(result)
    assert DEADLINE <= took < DEADLINE + 1.5


def test_huge_streamed_body__cut_at_byte_cap(evil: HostileRemote) -> None:
    """100 MB without a Content-Length: the read stops soon after the 1 MB cap."""
    evil.huge("/huge/streamed", HUNDRED_MB, declare_length=False)
    result, took = fetch(evil.url("/huge/streamed"), deadline=30)
    assert isinstance(result, BadResponse), result
    assert f"over the {MAX_DOCUMENT_BYTES}-byte cap" in str(result)
    assert took < 10
    # Loopback socket buffers hold a few MB; the rest of the 100 MB is never produced.
    assert evil.sent_bytes["/huge/streamed"] < 20 * 1024 * 1024


def test_huge_declared_length__refused_before_reading(evil: HostileRemote) -> None:
    evil.huge("/huge/declared", HUNDRED_MB, declare_length=True)
    result, _took = fetch(evil.url("/huge/declared"), deadline=30)
    assert isinstance(result, BadResponse), result
    assert f"response of {HUNDRED_MB + 1} bytes is over" in str(result)
    assert evil.sent_bytes.get("/huge/declared", 0) < 20 * 1024 * 1024


def test_gzip_bomb__cap_counts_decoded_bytes(evil: HostileRemote) -> None:
    """A ~20 KB gzip body that inflates to 20 MB: the cap applies to what is decoded."""
    bomb = gzip.compress(b"[" + b" " * (20 * 1024 * 1024) + b"]", compresslevel=9)
    assert len(bomb) < MAX_DOCUMENT_BYTES

    async def handler(_request: Request) -> Response:
        return Response(bomb, media_type="application/activity+json",
                        headers={"Content-Encoding": "gzip"})

    evil.route("/bomb", handler)
    result, _took = fetch(evil.url("/bomb"), deadline=30)
    assert isinstance(result, BadResponse), result
    assert "cap" in str(result)


def test_small_document__fetched(evil: HostileRemote) -> None:
    """The control: the same client fetches a normal document well within both limits."""
    doc = {"id": evil.url("/small"), "type": "Note", "content": "ok"}
    evil.serve_json("/small", doc)
    result, _took = fetch(evil.url("/small"))
    assert result == doc


# --- on a real hub ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, evil: HostileRemote) -> Iterator[Any]:
    hub = start_hub(tmp_path_factory.mktemp("slow"), "slow", users=["alice"],
                    allow=[evil.domain])
    try:
        yield SimpleNamespace(hub=hub, alice=member_uri(hub, "alice"), inbox=f"{hub.base}/inbox")
    finally:
        hub.stop()


def test_hub_fetch__huge_body_refused(world: Any, evil: HostileRemote) -> None:
    evil.huge("/huge/hub", HUNDRED_MB, declare_length=False)
    result = world.hub.cli("fetch", evil.url("/huge/hub"), check=False)
    assert result.returncode == 2, result.stdout
    assert "byte cap" in result.stderr


def test_hub_inbox__stalled_key_fetch_does_not_block_others(world: Any,
                                                             evil: HostileRemote) -> None:
    """While one inbox POST waits on a key held by a stalled peer, an honest POST is
    accepted; once the peer answers (503), the stalled POST gets 401 and nothing is stored."""
    stuck = evil.add_actor("stuck")
    release = evil.stall(stuck.path)
    stuck_doc = create_note(stuck, to=[world.alice], mentions=[world.alice])
    outcome: dict[str, Any] = {}

    def post_stuck() -> None:
        outcome["response"] = evil.post(world.inbox, stuck_doc, stuck)

    thread = threading.Thread(target=post_stuck)
    thread.start()
    try:
        from support.hubs import wait_for

        wait_for(lambda: evil.count(stuck.path) >= 1, timeout=10, what="the stalled key fetch")
        honest = evil.add_actor("prompt")
        doc = create_note(honest, to=[world.alice], mentions=[world.alice])
        start = time.monotonic()
        response = evil.post(world.inbox, doc, honest)
        assert response.status_code == 202, response.text
        assert time.monotonic() - start < 5
        assert thread.is_alive()  # the stalled request is still waiting
    finally:
        release.set()
        thread.join(timeout=30)
    assert outcome["response"].status_code == 401
    assert inbox_item(world.hub, stuck_doc["id"]) is None
