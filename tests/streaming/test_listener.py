"""The bounded per-connection queue: a slow consumer is dropped, the others unaffected."""

from __future__ import annotations

import asyncio

from fedi.streaming.listener import Frame, Listener, Registry


def test_slow_listener_is_dropped_and_others_keep_everything() -> None:
    async def scenario() -> None:
        registry = Registry()
        slow = Listener(actor_id=1, token_id=10, capacity=5)
        fast = Listener(actor_id=2, token_id=20, capacity=5)
        for x in (slow, fast):
            x.subscriptions.add(("user", None))
            registry.add(x)
        received: list[Frame] = []
        for i in range(20):
            frame = Frame("update", str(i), ("user",))
            for x in registry.all():
                x.offer(frame)
            got = await fast.next_frame(1.0)  # the fast one reads as frames come
            assert got is not None
            received.append(got)
        assert [f.payload for f in received] == [str(i) for i in range(20)]
        assert slow.closed.is_set() and slow.closed_reason == "overflow"
        assert not fast.closed.is_set()
        assert registry.all() == [fast]
        assert await slow.next_frame(0.01) is None

    asyncio.run(scenario())


def test_revoke_closes_only_that_token() -> None:
    async def scenario() -> None:
        registry = Registry()
        a, b = Listener(actor_id=1, token_id=10), Listener(actor_id=1, token_id=11)
        registry.add(a)
        registry.add(b)
        assert registry.close_where("revoked", token_id=10) == 1
        assert a.closed.is_set() and not b.closed.is_set()
        assert registry.close_where("suspended", actor_id=1) == 1
        assert b.closed_reason == "suspended"

    asyncio.run(scenario())


def test_frames_in_both_formats() -> None:
    frame = Frame("update", '{"id":"1"}', ("hashtag", "cafe"))
    assert frame.websocket_text() == (
        '{"stream":["hashtag","cafe"],"event":"update","payload":"{\\"id\\":\\"1\\"}"}')
    assert frame.sse_text() == 'event: update\ndata: {"id":"1"}\n\n'
    assert Frame("filters_changed", None, ("user",)).sse_text() == (
        "event: filters_changed\ndata: undefined\n\n")
