"""Public keys by keyId: this hub's own from the database, remote ones fetched and cached.

No database or HTTP here: the lookups come in as async callables, and time as a clock,
so tests pass dicts and a fake clock.

Key rotation follows Mastodon and the SocialCG report: when a signature fails with a
cached key, refetch the key once and try again. A hostile sender can make every request
fail, so refetches are limited to one per key per ``refetch_interval`` however many
requests name it (https://swicg.github.io/activitypub-http-signature/#key-rotation).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urldefrag

_V = TypeVar("_V")

#: Remote keys kept in memory; least recently used ones go first.
DEFAULT_MAX_CACHED = 10_000


@dataclass(frozen=True)
class KeyInfo:
    """A public key and the actor it belongs to."""

    key_id: str
    owner: str
    public_key_pem: str


class KeyFetchError(Exception):
    """A remote key could not be fetched or did not check out.

    ``status`` is the HTTP status when there was one: a 410 means the actor is gone
    (enough to accept its Delete), while a 404 proves nothing (protocol.md §3.3).
    """

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


LocalLookup = Callable[[str], Awaitable[KeyInfo | None]]
RemoteFetch = Callable[[str], Awaitable[KeyInfo]]
Confirm = Callable[[str], Awaitable[None]]


async def _nothing_to_confirm(_key_id: str) -> None:
    return None


def fetch_url(key_id: str) -> str:
    """The URL to fetch for ``key_id``: without its fragment (``…/alice#main-key``)."""
    return urldefrag(key_id).url


class KeyStore:
    """Finds the public key named by a signature's keyId.

    ``local_lookup(key_id)`` returns this hub's own key or None. ``remote_fetch(url)``
    fetches the fragment-less URL (signed, as the instance actor) and returns the
    key it found, or raises :class:`KeyFetchError`; it is responsible for checking that
    the owner actor claims the key. The store checks that the returned ``key_id`` is
    the one asked for, so a document cannot answer for another key.
    """

    def __init__(
        self,
        *,
        local_lookup: LocalLookup,
        remote_fetch: RemoteFetch,
        clock: Callable[[], float] = time.monotonic,
        refetch_interval: float = 300.0,
        max_cached: int = DEFAULT_MAX_CACHED,
        confirm: Confirm = _nothing_to_confirm,
    ) -> None:
        if max_cached < 1:
            raise ValueError("max_cached must be at least 1")
        self._local_lookup = local_lookup
        self._remote_fetch = remote_fetch
        self._clock = clock
        self._refetch_interval = refetch_interval
        self._max_cached = max_cached
        self._cache: OrderedDict[str, KeyInfo] = OrderedDict()
        self._last_refetch: OrderedDict[str, float] = OrderedDict()
        self._inflight: dict[str, asyncio.Future[KeyInfo]] = {}
        self._confirm = confirm

    async def get(self, key_id: str) -> KeyInfo:
        """Local key first, then the cache, then a fetch. Raises :class:`KeyFetchError`."""
        local = await self._local_lookup(key_id)
        if local is not None:
            return local
        cached = self._cache.get(key_id)
        if cached is not None:
            self._cache.move_to_end(key_id)
            return cached
        return await self._fetch(key_id)

    async def refetch(self, key_id: str) -> KeyInfo | None:
        """Fetch ``key_id`` again after a failed verification (the key may have rotated).

        Returns None, without fetching, for a local key or when this key was refetched
        less than ``refetch_interval`` ago. Raises :class:`KeyFetchError` when the fetch
        fails; that attempt still counts against the interval.
        """
        if await self._local_lookup(key_id) is not None:
            return None
        now = self._clock()
        last = self._last_refetch.get(key_id)
        if last is not None and now - last < self._refetch_interval:
            return None
        # Recorded before awaiting, so concurrent bad requests cannot start a second fetch.
        self._last_refetch[key_id] = now
        self._last_refetch.move_to_end(key_id)
        _trim(self._last_refetch, self._max_cached)
        self._cache.pop(key_id, None)
        return await self._fetch(key_id)

    async def verified(self, key_id: str) -> None:
        """A signature made with this key checked out. ``confirm(key_id)`` may now keep what
        was fetched for it (the resolver stores the actor document only then, so a forged
        request stores nothing); it raises :class:`KeyFetchError` if that is refused."""
        await self._confirm(key_id)

    def forget(self, key_id: str) -> None:
        """Drop a cached key, e.g. when its actor was deleted."""
        self._cache.pop(key_id, None)

    async def _fetch(self, key_id: str) -> KeyInfo:
        # Many deliveries from a new actor arrive together: share one fetch between them.
        future = self._inflight.get(key_id)
        if future is None:
            future = asyncio.ensure_future(self._fetch_and_store(key_id))
            self._inflight[key_id] = future
            future.add_done_callback(lambda _: self._inflight.pop(key_id, None))
        # shield: a cancelled waiter must not cancel the fetch the others are waiting on.
        return await asyncio.shield(future)

    async def _fetch_and_store(self, key_id: str) -> KeyInfo:
        info = await self._remote_fetch(fetch_url(key_id))
        if info.key_id != key_id:
            raise KeyFetchError(f"fetched key {info.key_id!r}, expected {key_id!r}")
        self._cache[key_id] = info
        self._cache.move_to_end(key_id)
        _trim(self._cache, self._max_cached)
        return info


def _trim(entries: OrderedDict[str, _V], limit: int) -> None:
    while len(entries) > limit:
        entries.popitem(last=False)
