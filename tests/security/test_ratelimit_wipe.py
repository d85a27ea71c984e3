"""Issue 13 #12: the rate limiter's counters could be wiped by anyone.

Ten failed logins locked an account; then 50,000 requests, each with a different junk
``Authorization`` value, filled the counter table, pruning cleared every counter, and the
account was unlocked. Now counters are bounded per key class (junk of one class never pushes
out another), only windows that are over are pruned, a counter at its limit is never
dropped, and ``Authorization`` values never seen valid are counted per client address.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from support.hubs import HubProcess

from fedi.api.ratelimit import PERIOD, RateLimiter
from fedi.config import ConfigError, load_settings, render_config


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_fifty_thousand_junk_keys_do_not_unlock_an_account() -> None:
    limiter = RateLimiter(clock=Clock())
    for _ in range(10):
        limiter.hit("login-account:42", 10)
    assert not limiter.peek("login-account:42", 10).allowed
    for i in range(50_000):
        limiter.hit(f"api-token:{i:024x}", 300)
    for i in range(50_000):
        limiter.hit(f"login-unknown:nobody{i}", 10)
    assert not limiter.peek("login-account:42", 10).allowed
    assert not limiter.hit("login-account:42", 10).allowed


def test_a_full_class_drops_little_used_counters_never_a_locked_one() -> None:
    clock = Clock()
    limiter = RateLimiter(clock=clock, max_keys=100)
    for _ in range(5):
        limiter.hit("api-ip:203.0.113.9", 5)
    for i in range(10_000):
        assert limiter.hit(f"api-ip:10.0.{i // 256}.{i % 256}", 5).allowed
        assert limiter.size("api-ip") <= 100
    assert not limiter.hit("api-ip:203.0.113.9", 5).allowed
    # Once its window is over the lock ends, like any other counter.
    clock.now += PERIOD
    assert limiter.hit("api-ip:203.0.113.9", 5).allowed


def test_only_windows_that_are_over_are_pruned() -> None:
    clock = Clock()
    limiter = RateLimiter(clock=clock, max_keys=10)
    for i in range(10):
        limiter.hit(f"login-ip:old{i}", 3)
        limiter.hit(f"login-ip:old{i}", 3)
        limiter.hit(f"login-ip:old{i}", 3)
    assert not limiter.peek("login-ip:old0", 3).allowed
    # Every counter is at its limit and in its window: a new key is refused, none dropped.
    assert not limiter.hit("login-ip:new", 3).allowed
    assert not limiter.peek("login-ip:old9", 3).allowed
    clock.now += PERIOD + 1
    assert limiter.hit("login-ip:new", 3).allowed
    assert limiter.size("login-ip") == 1


def test_an_account_counter_can_be_reserved_and_released() -> None:
    limiter = RateLimiter(clock=Clock())
    assert limiter.hit("login-account:7", 2).allowed
    limiter.release("login-account:7")
    assert limiter.hit("login-account:7", 2).allowed
    assert limiter.hit("login-account:7", 2).allowed
    assert not limiter.hit("login-account:7", 2).allowed


@pytest.mark.multihub
def test_junk_authorization_values_count_against_the_address(
        make_hub: Callable[..., HubProcess]) -> None:
    hub = make_hub("junk", extra_config="\n[api]\nrate_limit = 20\n")
    hub.start()
    with httpx.Client(timeout=30) as client:
        statuses = [client.get(f"{hub.base}/api/v1/timelines/home",
                               headers={"Authorization": f"Bearer junk-{i}"}).status_code
                    for i in range(25)]
        assert statuses[:20] == [401] * 20
        assert statuses[20:] == [429] * 5
        # The same address without a token shares the counter.
        assert client.get(f"{hub.base}/api/v1/instance").status_code == 429


def _limited_twice(hub: HubProcess, forged: str) -> tuple[int, int]:
    """Use up the limit (3) from 127.0.0.1, which uvicorn trusts by default, then ask with a
    forged X-Forwarded-For. Returns the last two statuses."""
    transport = httpx.HTTPTransport(local_address="127.0.0.1")
    with httpx.Client(transport=transport, timeout=30) as client:
        url = f"{hub.base}/api/v1/instance"
        statuses = [client.get(url).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        forged_status = client.get(url, headers={"X-Forwarded-For": forged}).status_code
        return statuses[-1], forged_status


@pytest.mark.multihub
def test_a_forged_forwarded_for_does_not_change_the_key(
        make_hub: Callable[..., HubProcess]) -> None:
    hub = make_hub("xff", extra_config="\n[api]\nrate_limit = 3\n")
    hub.start()
    assert _limited_twice(hub, "198.51.100.7") == (429, 429)


@pytest.mark.multihub
def test_a_listed_proxy_is_believed(make_hub: Callable[..., HubProcess]) -> None:
    hub = make_hub("proxy", extra_config="\n[api]\nrate_limit = 3\n")
    text = hub.config_path.read_text()
    hub.config_path.write_text(text.replace("[server]\n", '[server]\nforwarded_allow_ips = '
                                                          '["127.0.0.1"]\n'))
    assert hub.settings().forwarded_allow_ips == ("127.0.0.1",)
    hub.start()
    assert _limited_twice(hub, "198.51.100.7") == (429, 200)


def test_forwarded_allow_ips_is_checked(tmp_path: Path) -> None:
    base = render_config(domain="hub.test", name="t", territory=["75011"])
    path = tmp_path / "voisins.toml"
    path.write_text(base.replace("[server]\n", '[server]\nforwarded_allow_ips = ["proxy"]\n'))
    with pytest.raises(ConfigError, match="forwarded_allow_ips"):
        load_settings(str(path), env={})
    path.write_text(base)
    assert load_settings(str(path), env={}).forwarded_allow_ips == ()
