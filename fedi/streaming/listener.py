"""One open stream and the registry of a web process's open streams. No database here."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

# Frames waiting for one slow connection before it is dropped (clients reconnect).
QUEUE_SIZE = 200

STREAMS = frozenset({
    "user", "user:notification", "public", "public:local", "public:remote", "public:media",
    "public:local:media", "public:remote:media", "hashtag", "hashtag:local", "list", "direct",
})


@dataclass(frozen=True)
class Frame:
    """One event for one stream: ``payload`` is already a string (entity JSON or an id)."""

    event: str
    payload: str | None
    stream: tuple[str, ...]

    def websocket_text(self) -> str:
        doc: dict[str, object] = {"stream": list(self.stream), "event": self.event}
        if self.payload is not None:
            doc["payload"] = self.payload
        return json.dumps(doc, separators=(",", ":"))

    def sse_text(self) -> str:
        data = self.payload if self.payload is not None else "undefined"
        return f"event: {self.event}\ndata: {data}\n\n"


Subscription = tuple[str, str | None]  # (stream name, tag or list id)


def stream_array(sub: Subscription) -> tuple[str, ...]:
    name, param = sub
    return (name,) if param is None else (name, param)


@dataclass(eq=False)
class Listener:
    """An open stream of one member's token: subscriptions and a bounded queue."""

    actor_id: int
    token_id: int
    capacity: int = QUEUE_SIZE
    subscriptions: set[Subscription] = field(default_factory=set)
    closed_reason: str | None = None

    def __post_init__(self) -> None:
        self.queue: asyncio.Queue[Frame] = asyncio.Queue(self.capacity)
        self.closed = asyncio.Event()

    def offer(self, frame: Frame) -> bool:
        """Queue a frame without waiting; a full queue closes this listener (never blocks
        the dispatcher, so one slow client cannot hold up the others)."""
        if self.closed.is_set():
            return False
        try:
            self.queue.put_nowait(frame)
        except asyncio.QueueFull:
            self.close("overflow")
            return False
        return True

    def close(self, reason: str) -> None:
        if not self.closed.is_set():
            self.closed_reason = reason
            self.closed.set()

    async def next_frame(self, timeout: float) -> Frame | None:
        """The next frame, or None after ``timeout`` seconds or once closed."""
        if self.closed.is_set():
            return None
        if not self.queue.empty():
            return self.queue.get_nowait()
        getter = asyncio.ensure_future(self.queue.get())
        closer = asyncio.ensure_future(self.closed.wait())
        try:
            done, _ = await asyncio.wait({getter, closer}, timeout=timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            closer.cancel()
            if not getter.done():
                getter.cancel()
        if getter in done and not getter.cancelled():
            return getter.result()
        return None


class Registry:
    """The open streams of this process."""

    def __init__(self) -> None:
        self._listeners: set[Listener] = set()

    def add(self, listener: Listener) -> None:
        self._listeners.add(listener)

    def remove(self, listener: Listener) -> None:
        self._listeners.discard(listener)

    def __len__(self) -> int:
        return len(self._listeners)

    def all(self) -> list[Listener]:
        return [x for x in self._listeners if not x.closed.is_set()]

    def by_actor(self) -> dict[int, list[Listener]]:
        out: dict[int, list[Listener]] = {}
        for listener in self.all():
            if listener.subscriptions:
                out.setdefault(listener.actor_id, []).append(listener)
        return out

    def close_where(self, reason: str, *, token_id: int | None = None,
                    actor_id: int | None = None) -> int:
        n = 0
        for listener in self.all():
            if listener.token_id == token_id or listener.actor_id == actor_id:
                listener.close(reason)
                n += 1
        return n
