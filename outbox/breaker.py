"""A per-host circuit breaker for deliveries, in memory and pure.

When a host keeps failing, stop spending workers and sockets on it for a while, then let a
single probe find out whether it is back (Mastodon does the same with Stoplight: 10 failures,
then a cool-off; app/workers/activitypub/delivery_worker.rb). The breaker only delays
attempts: the delivery rows and their retry schedule stay in the database, so nothing is lost
when a circuit is open or when this process restarts and forgets it.

Time is a float of monotonic seconds passed in by the caller; hosts are compared as given, so
the caller canonicalizes them first (reference/security-and-performance.md §5.1 #5).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

State = Literal["closed", "open", "half-open"]


@dataclass(slots=True)
class _Circuit:
    """What the breaker remembers about one host that has failed recently."""

    failures: int = 0
    state: State = "closed"
    # When the circuit last opened (open) or when the probe was let through (half-open).
    since: float = 0.0
    cooldown: float = 0.0


class CircuitBreaker:
    """Per-host breaker: closed → open after `threshold` failures → half-open probe → closed."""

    def __init__(
        self,
        threshold: int = 5,
        cooldown: float = 60.0,
        max_cooldown: float = 3600.0,
        *,
        max_hosts: int = 10_000,
    ) -> None:
        """Configure the thresholds; refuse settings that would never open or never close."""
        if threshold < 1:
            raise ValueError(f"threshold must be at least 1, got {threshold}")
        if not cooldown > 0:
            raise ValueError(f"cooldown must be positive, got {cooldown}")
        if not max_cooldown >= cooldown:
            raise ValueError(f"max_cooldown ({max_cooldown}) must be >= cooldown ({cooldown})")
        if max_hosts < 1:
            raise ValueError(f"max_hosts must be at least 1, got {max_hosts}")
        self.threshold = threshold
        self.cooldown = cooldown
        self.max_cooldown = max_cooldown
        self.max_hosts = max_hosts
        # Insertion order doubles as "least recently failed first", for eviction.
        self._circuits: dict[str, _Circuit] = {}

    def __len__(self) -> int:
        """How many hosts the breaker currently remembers."""
        return len(self._circuits)

    def allow(self, host: str, now: float) -> bool:
        """Whether a delivery to `host` may be attempted now; may turn open into half-open."""
        circuit = self._circuits.get(host)
        if circuit is None or circuit.state == "closed":
            return True
        if now - circuit.since < circuit.cooldown:
            return False
        # Cooldown over (open), or the last probe never reported back within a cooldown
        # (half-open: its worker probably died). Either way exactly one new probe goes out;
        # without the second case a lost probe would shut the host out for good.
        circuit.state = "half-open"
        circuit.since = now
        return True

    def record_success(self, host: str, now: float) -> None:
        """Note a delivered request: the host is healthy, so close and forget its circuit."""
        # Any success closes, even a late one from a request allowed before the circuit
        # opened: the host answered, and §7 asks to resume on the first success.
        self._circuits.pop(host, None)

    def record_failure(self, host: str, now: float) -> None:
        """Note a failed request; open the circuit after `threshold` in a row."""
        circuit = self._circuits.pop(host, None)
        if circuit is None:
            circuit = _Circuit(cooldown=self.cooldown)
        # Re-inserting moves the host to the end: the dict stays ordered by last failure.
        self._circuits[host] = circuit
        circuit.failures += 1
        if circuit.state == "half-open":
            # The probe failed: the host is still down, so wait longer before the next one.
            circuit.state = "open"
            circuit.since = now
            circuit.cooldown = min(circuit.cooldown * 2, self.max_cooldown)
        elif circuit.state == "closed" and circuit.failures >= self.threshold:
            circuit.state = "open"
            circuit.since = now
        # Already open: a late failure from a request allowed earlier says nothing new, so
        # it neither restarts nor lengthens the cooldown.
        self._evict()

    def forget(self, host: str) -> None:
        """Close the host's circuit at once: an operator asked to retry it now."""
        self._circuits.pop(host, None)

    def state(self, host: str) -> State:
        """The host's circuit as last updated: "closed", "open" or "half-open"."""
        circuit = self._circuits.get(host)
        return "closed" if circuit is None else circuit.state

    def open_hosts(self, now: float) -> list[str]:
        """Hosts that `allow` would refuse at `now` (open and cooling, or probing), sorted."""
        # Lets a worker skip these hosts when it picks rows, without consuming the probe.
        return sorted(
            host
            for host, circuit in self._circuits.items()
            if circuit.state != "closed" and now - circuit.since < circuit.cooldown
        )

    def _evict(self) -> None:
        """Forget the least recently failed hosts beyond `max_hosts`."""
        # Forgetting is safe: a forgotten host is treated as closed and its rows still follow
        # the retry policy, so the worst case is a few extra attempts, never a lost delivery.
        while len(self._circuits) > self.max_hosts:
            del self._circuits[next(iter(self._circuits))]
