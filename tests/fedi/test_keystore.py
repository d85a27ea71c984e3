"""KeyStore: local keys first, a bounded cache, one fetch per key, rate-limited refetch."""

from __future__ import annotations

import asyncio

import pytest

from fedi.keystore import KeyFetchError, KeyInfo, KeyStore, fetch_url

LOCAL = KeyInfo("https://hub.example/users/bob#main-key", "https://hub.example/users/bob", "LOCAL")
ALICE = "https://m.example/users/alice"
ALICE_ID = ALICE + "#main-key"


class World:
    """A hub's own keys in a dict, remote documents in another, a clock we move by hand."""

    def __init__(self) -> None:
        self.local = {LOCAL.key_id: LOCAL}
        self.remote: dict[str, KeyInfo | KeyFetchError] = {
            ALICE: KeyInfo(ALICE_ID, ALICE, "v1"),
        }
        self.fetched: list[str] = []
        self.now = 1000.0
        self.gate: asyncio.Event | None = None

    async def local_lookup(self, key_id: str) -> KeyInfo | None:
        return self.local.get(key_id)

    async def remote_fetch(self, url: str) -> KeyInfo:
        self.fetched.append(url)
        if self.gate is not None:
            await self.gate.wait()
        found = self.remote.get(url)
        if found is None:
            raise KeyFetchError(f"{url}: 404", status=404)
        if isinstance(found, KeyFetchError):
            raise found
        return found

    def store(self, **kwargs: object) -> KeyStore:
        return KeyStore(
            local_lookup=self.local_lookup,
            remote_fetch=self.remote_fetch,
            clock=lambda: self.now,
            **kwargs,  # type: ignore[arg-type]
        )


def test_fetch_url_strips_the_fragment() -> None:
    assert fetch_url(ALICE_ID) == "https://m.example/users/alice"
    assert fetch_url(ALICE + "/main-key") == ALICE + "/main-key"


def test_local_keys_come_first_and_are_never_fetched() -> None:
    world = World()
    store = world.store()
    assert asyncio.run(store.get(LOCAL.key_id)) is LOCAL
    assert asyncio.run(store.refetch(LOCAL.key_id)) is None
    assert world.fetched == []


def test_remote_key_is_fetched_without_fragment_then_cached() -> None:
    world = World()
    store = world.store()

    async def twice() -> tuple[KeyInfo, KeyInfo]:
        return await store.get(ALICE_ID), await store.get(ALICE_ID)

    first, second = asyncio.run(twice())
    assert first.public_key_pem == "v1" and second is first
    assert world.fetched == ["https://m.example/users/alice"]


def test_concurrent_gets_share_one_fetch() -> None:
    world = World()
    store = world.store()

    async def many() -> list[KeyInfo]:
        world.gate = asyncio.Event()
        tasks = [asyncio.ensure_future(store.get(ALICE_ID)) for _ in range(20)]
        await asyncio.sleep(0)  # let every task reach the fetch before it completes
        world.gate.set()
        return await asyncio.gather(*tasks)

    results = asyncio.run(many())
    assert {r.public_key_pem for r in results} == {"v1"}
    assert len(world.fetched) == 1


def test_fetch_errors_propagate() -> None:
    world = World()
    store = world.store()
    with pytest.raises(KeyFetchError) as caught:
        asyncio.run(store.get("https://m.example/users/nobody#main-key"))
    assert caught.value.status == 404
    world.remote["https://m.example/users/gone"] = KeyFetchError("gone", status=410)
    with pytest.raises(KeyFetchError) as caught:
        asyncio.run(store.get("https://m.example/users/gone#main-key"))
    assert caught.value.status == 410


def test_a_document_cannot_answer_for_another_key() -> None:
    world = World()
    world.remote["https://m.example/users/mallory"] = KeyInfo(ALICE_ID, "x", "evil")
    store = world.store()
    with pytest.raises(KeyFetchError, match="expected"):
        asyncio.run(store.get("https://m.example/users/mallory#main-key"))
    # ...and nothing was cached under either id.
    world.remote.pop("https://m.example/users/alice")
    with pytest.raises(KeyFetchError):
        asyncio.run(store.get(ALICE_ID))


def test_refetch_picks_up_a_rotated_key_at_most_once_per_interval() -> None:
    world = World()
    store = world.store(refetch_interval=300)

    async def scenario() -> None:
        assert (await store.get(ALICE_ID)).public_key_pem == "v1"
        world.remote["https://m.example/users/alice"] = KeyInfo(
            ALICE_ID, "https://m.example/users/alice", "v2"
        )
        rotated = await store.refetch(ALICE_ID)
        assert rotated is not None and rotated.public_key_pem == "v2"
        assert (await store.get(ALICE_ID)).public_key_pem == "v2"
        # A flood of bad requests naming the key within the interval: no more fetches.
        for _ in range(50):
            world.now += 5
            assert await store.refetch(ALICE_ID) is None
        world.now += 299 - 250  # 299 s after the refetch: still limited
        assert await store.refetch(ALICE_ID) is None
        world.now += 1
        assert await store.refetch(ALICE_ID) is not None

    asyncio.run(scenario())
    assert len(world.fetched) == 3


def test_failed_refetch_counts_against_the_interval() -> None:
    world = World()
    store = world.store(refetch_interval=300)

    async def scenario() -> None:
        await store.get(ALICE_ID)
        world.remote["https://m.example/users/alice"] = KeyFetchError("timeout")
        with pytest.raises(KeyFetchError):
            await store.refetch(ALICE_ID)
        assert await store.refetch(ALICE_ID) is None

    asyncio.run(scenario())
    assert len(world.fetched) == 2


def test_refetch_is_limited_per_key() -> None:
    world = World()
    world.remote["https://m.example/users/carol"] = KeyInfo(
        "https://m.example/users/carol#main-key", "https://m.example/users/carol", "c"
    )
    store = world.store()

    async def scenario() -> None:
        assert await store.refetch(ALICE_ID) is not None
        assert await store.refetch("https://m.example/users/carol#main-key") is not None
        assert await store.refetch(ALICE_ID) is None

    asyncio.run(scenario())


def test_forget_drops_the_cached_key() -> None:
    world = World()
    store = world.store()

    async def scenario() -> None:
        await store.get(ALICE_ID)
        store.forget(ALICE_ID)
        await store.get(ALICE_ID)

    asyncio.run(scenario())
    assert len(world.fetched) == 2


def test_cache_is_bounded() -> None:
    world = World()
    for n in range(5):
        world.remote[f"https://m.example/users/u{n}"] = KeyInfo(
            f"https://m.example/users/u{n}#main-key", f"https://m.example/users/u{n}", str(n)
        )
    store = world.store(max_cached=3)

    async def scenario() -> None:
        for n in range(5):
            await store.get(f"https://m.example/users/u{n}#main-key")
        world.fetched.clear()
        await store.get("https://m.example/users/u4#main-key")  # recent: cached
        await store.get("https://m.example/users/u0#main-key")  # evicted: fetched again

    asyncio.run(scenario())
    assert world.fetched == ["https://m.example/users/u0"]
    with pytest.raises(ValueError):
        world.store(max_cached=0)
