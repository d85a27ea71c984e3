"""Table-driven tests for the per-host circuit breaker (outbox/breaker.py)."""

from __future__ import annotations

import pytest

from outbox.breaker import CircuitBreaker

HOST = "hub-b.example"
OTHER = "hub-c.example"
T0 = 1_000.0


def opened(breaker: CircuitBreaker, host: str = HOST, now: float = T0) -> CircuitBreaker:
    """Fail `host` `threshold` times at `now`, which opens its circuit."""
    for _ in range(breaker.threshold):
        breaker.record_failure(host, now)
    return breaker


def probe_fails(breaker: CircuitBreaker, now: float, host: str = HOST) -> None:
    """Let the half-open probe through at `now` and report that it failed."""
    assert breaker.allow(host, now)
    assert breaker.state(host) == "half-open"
    breaker.record_failure(host, now)


@pytest.mark.parametrize("threshold", [1, 3, 5, 10])
def test_opens_after_threshold_consecutive_failures(threshold: int) -> None:
    """The circuit stays closed for threshold − 1 failures and opens on the threshold-th."""
    breaker = CircuitBreaker(threshold=threshold)
    for _ in range(threshold - 1):
        breaker.record_failure(HOST, T0)
        assert breaker.state(HOST) == "closed"
        assert breaker.allow(HOST, T0)
    breaker.record_failure(HOST, T0)
    assert breaker.state(HOST) == "open"
    assert not breaker.allow(HOST, T0)


def test_success_resets_the_consecutive_count() -> None:
    """Failures separated by a success never add up to the threshold."""
    breaker = CircuitBreaker(threshold=5)
    for _ in range(4):
        breaker.record_failure(HOST, T0)
    breaker.record_success(HOST, T0)
    for _ in range(4):
        breaker.record_failure(HOST, T0)
    assert breaker.state(HOST) == "closed"


def test_unknown_host_is_closed_and_allowed() -> None:
    """A host the breaker has never seen is allowed and reported closed."""
    breaker = CircuitBreaker()
    assert breaker.allow(HOST, T0)
    assert breaker.state(HOST) == "closed"
    assert len(breaker) == 0


@pytest.mark.parametrize(
    ("elapsed", "allowed", "state"),
    [
        (0.0, False, "open"),
        (30.0, False, "open"),
        (59.999, False, "open"),
        (60.0, True, "half-open"),
        (600.0, True, "half-open"),
    ],
)
def test_open_refuses_until_cooldown_then_half_opens(
    elapsed: float, allowed: bool, state: str
) -> None:
    """An open circuit refuses until the cooldown has elapsed, then lets a probe through."""
    breaker = opened(CircuitBreaker(cooldown=60.0))
    assert breaker.allow(HOST, T0 + elapsed) is allowed
    assert breaker.state(HOST) == state


def test_half_open_lets_exactly_one_probe_through() -> None:
    """While the probe is out, every other request to the host is refused."""
    breaker = opened(CircuitBreaker(cooldown=60.0))
    results = [breaker.allow(HOST, T0 + 60.0 + i) for i in range(10)]
    assert results == [True] + [False] * 9
    assert breaker.state(HOST) == "half-open"


def test_successful_probe_closes_and_forgets() -> None:
    """A successful probe closes the circuit and drops the host from memory."""
    breaker = opened(CircuitBreaker(cooldown=60.0))
    assert breaker.allow(HOST, T0 + 60.0)
    breaker.record_success(HOST, T0 + 61.0)
    assert breaker.state(HOST) == "closed"
    assert breaker.allow(HOST, T0 + 61.0)
    assert len(breaker) == 0


@pytest.mark.parametrize(
    ("failed_probes", "cooldown"),
    [(0, 60.0), (1, 120.0), (2, 240.0), (3, 480.0), (5, 1920.0), (6, 3600.0), (10, 3600.0)],
)
def test_failed_probes_double_cooldown_up_to_cap(failed_probes: int, cooldown: float) -> None:
    """Each failed probe reopens the circuit with twice the cooldown, never above max_cooldown."""
    breaker = opened(CircuitBreaker(cooldown=60.0, max_cooldown=3600.0))
    now, current = T0, 60.0
    for _ in range(failed_probes):
        now += current
        probe_fails(breaker, now)
        assert breaker.state(HOST) == "open"
        current = min(current * 2, 3600.0)
    assert not breaker.allow(HOST, now + cooldown - 0.001)
    assert breaker.state(HOST) == "open"
    assert breaker.allow(HOST, now + cooldown)
    assert breaker.state(HOST) == "half-open"


def test_cooldown_resets_after_recovery() -> None:
    """After a success the next outage starts again from the base cooldown."""
    breaker = opened(CircuitBreaker(cooldown=60.0))
    probe_fails(breaker, T0 + 60.0)
    probe_fails(breaker, T0 + 180.0)
    assert breaker.allow(HOST, T0 + 420.0)
    breaker.record_success(HOST, T0 + 420.0)
    opened(breaker, now=T0 + 500.0)
    assert not breaker.allow(HOST, T0 + 559.0)
    assert breaker.allow(HOST, T0 + 560.0)


def test_lost_probe_is_replaced_after_a_cooldown() -> None:
    """A probe that never reports back does not shut the host out forever."""
    breaker = opened(CircuitBreaker(cooldown=60.0))
    assert breaker.allow(HOST, T0 + 60.0)
    assert not breaker.allow(HOST, T0 + 119.0)
    assert breaker.allow(HOST, T0 + 120.0)
    assert not breaker.allow(HOST, T0 + 121.0)


def test_late_failure_while_open_does_not_extend_cooldown() -> None:
    """Failures from requests already in flight when the circuit opened change nothing."""
    breaker = opened(CircuitBreaker(cooldown=60.0))
    breaker.record_failure(HOST, T0 + 50.0)
    assert breaker.state(HOST) == "open"
    assert breaker.allow(HOST, T0 + 60.0)


def test_late_success_while_open_closes() -> None:
    """Any success proves the host is back, so the circuit closes at once."""
    breaker = opened(CircuitBreaker(cooldown=60.0))
    breaker.record_success(HOST, T0 + 10.0)
    assert breaker.state(HOST) == "closed"
    assert breaker.allow(HOST, T0 + 10.0)


def test_hosts_are_independent() -> None:
    """Opening one host's circuit leaves other hosts allowed."""
    breaker = opened(CircuitBreaker())
    assert not breaker.allow(HOST, T0)
    assert breaker.allow(OTHER, T0)
    assert breaker.state(OTHER) == "closed"


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (T0, ["a.example", "b.example"]),
        (T0 + 59.0, ["a.example", "b.example"]),
        (T0 + 60.0, []),
    ],
)
def test_open_hosts_lists_refusing_hosts(at: float, expected: list[str]) -> None:
    """open_hosts names, sorted, the hosts allow() would refuse, and drops them once probeable."""
    breaker = CircuitBreaker(threshold=2, cooldown=60.0)
    opened(breaker, "b.example")
    opened(breaker, "a.example")
    breaker.record_failure("closed.example", T0)
    assert breaker.open_hosts(at) == expected
    # Listing is read-only: it never spends the half-open probe.
    assert breaker.state("a.example") == "open"


def test_open_hosts_includes_host_with_probe_in_flight() -> None:
    """A half-open host whose probe is out is refused, so it is listed too."""
    breaker = opened(CircuitBreaker(cooldown=60.0))
    assert breaker.allow(HOST, T0 + 60.0)
    assert breaker.open_hosts(T0 + 61.0) == [HOST]


def test_memory_is_bounded() -> None:
    """Beyond max_hosts the least recently failed hosts are forgotten, never the newest."""
    breaker = CircuitBreaker(threshold=1, max_hosts=100)
    for i in range(1_000):
        breaker.record_failure(f"h{i}.example", T0 + i)
    assert len(breaker) == 100
    assert breaker.state("h999.example") == "open"
    assert breaker.state("h0.example") == "closed"


def test_repeat_failure_refreshes_eviction_order() -> None:
    """A host that keeps failing stays remembered while quieter hosts are evicted."""
    breaker = CircuitBreaker(threshold=3, max_hosts=2)
    breaker.record_failure(HOST, T0)
    breaker.record_failure(OTHER, T0)
    breaker.record_failure(HOST, T0 + 1)
    breaker.record_failure("third.example", T0 + 2)
    assert breaker.state(OTHER) == "closed"
    breaker.record_failure(HOST, T0 + 3)
    assert breaker.state(HOST) == "open"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"threshold": 0},
        {"cooldown": 0.0},
        {"cooldown": -1.0},
        {"cooldown": 60.0, "max_cooldown": 30.0},
        {"max_hosts": 0},
    ],
)
def test_nonsense_settings_are_refused(kwargs: dict[str, float]) -> None:
    """Settings that would never open or never close the circuit raise ValueError."""
    with pytest.raises(ValueError):
        CircuitBreaker(**kwargs)  # type: ignore[arg-type]
