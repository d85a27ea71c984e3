"""Key rotation without refetch amplification: catalogue row 11 of
security-and-performance.md §5.1 (Mastodon ``SignatureVerification`` refetches a key
that fails once; the SocialCG report's key-rotation section).

A rotated key is picked up with one refetch; 1,000 requests with bad signatures naming
one keyId make the hub fetch that key at most once more. The hostile remote counts GETs.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from types import SimpleNamespace

import httpx
import pytest
from support.hostile import (
    create_note,
    hostile_world,
    inbox_item,
    wait_processed,
)

from fedi.keys import generate_private_key_pem

FLOOD = 1000


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    with hostile_world(tmp_path_factory.mktemp("refetch"), "refetch") as w:
        yield w


def test_rotated_key__one_refetch_then_accepted(world: SimpleNamespace) -> None:
    evil = world.evil
    rotor = evil.add_actor("rotor")
    first = create_note(rotor, to=[world.alice], mentions=[world.alice])
    assert evil.post(world.inbox, first, rotor).status_code == 202
    assert evil.count(rotor.path, "GET") == 1
    rotor.rotate_key()
    second = create_note(rotor, to=[world.alice], mentions=[world.alice])
    response = evil.post(world.inbox, second, rotor)
    assert response.status_code == 202, response.text
    assert evil.count(rotor.path, "GET") == 2
    wait_processed(world.hub, second["id"])
    # The new key is now the one in use: no further fetches.
    third = create_note(rotor, to=[world.alice], mentions=[world.alice])
    assert evil.post(world.inbox, third, rotor).status_code == 202
    assert evil.count(rotor.path, "GET") == 2


def test_bad_signature_flood__at_most_one_refetch(world: SimpleNamespace) -> None:
    """1,000 POSTs naming flooder's keyId, signed with another key, 16 at a time."""
    evil = world.evil
    flooder = evil.add_actor("flooder")
    warm = create_note(flooder, to=[world.alice], mentions=[world.alice])
    assert evil.post(world.inbox, warm, flooder).status_code == 202
    assert evil.count(flooder.path, "GET") == 1
    wrong_key = generate_private_key_pem()
    requests = []
    for _ in range(FLOOD):
        doc = create_note(flooder, to=[world.alice], mentions=[world.alice])
        body = json.dumps(doc).encode()
        requests.append((doc["id"], body, evil.sign("POST", world.inbox, flooder, body,
                                                    private_key_pem=wrong_key)))

    async def flood() -> list[int]:
        limit = asyncio.Semaphore(16)
        async with httpx.AsyncClient(timeout=30) as client:
            async def one(body: bytes, headers: dict[str, str]) -> int:
                async with limit:
                    response = await client.post(world.inbox, content=body, headers=headers)
                    return response.status_code

            return await asyncio.gather(*(one(b, h) for _i, b, h in requests))

    statuses = asyncio.run(flood())
    assert statuses == [401] * FLOOD
    refetches = evil.count(flooder.path, "GET") - 1
    assert refetches <= 1, f"{refetches} refetches of one key"
    assert inbox_item(world.hub, requests[0][0]) is None
    # The honest key still works afterwards (the cached key was not thrown away for good).
    honest = create_note(flooder, to=[world.alice], mentions=[world.alice])
    assert evil.post(world.inbox, honest, flooder).status_code == 202


def test_after_restart__stored_key_used_then_rotation_refetched(world: SimpleNamespace) -> None:
    """A restarted hub verifies a known actor with the key it stored (no fetch), and still
    picks up that actor's rotated key with one refetch."""
    evil = world.evil
    keeper = evil.add_actor("keeper")
    assert evil.post(world.inbox, create_note(keeper, to=[world.alice],
                                              mentions=[world.alice]), keeper).status_code == 202
    world.hub.stop()
    world.hub.start()
    fetched = evil.count(keeper.path, "GET")
    doc = create_note(keeper, to=[world.alice], mentions=[world.alice])
    assert evil.post(world.inbox, doc, keeper).status_code == 202
    assert evil.count(keeper.path, "GET") == fetched  # the stored key, no network
    keeper.rotate_key()
    rotated = create_note(keeper, to=[world.alice], mentions=[world.alice])
    response = evil.post(world.inbox, rotated, keeper)
    assert response.status_code == 202, response.text
    assert evil.count(keeper.path, "GET") == fetched + 1
    wait_processed(world.hub, rotated["id"])
