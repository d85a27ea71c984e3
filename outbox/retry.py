"""The delivery retry policy: what to do after one POST to a remote inbox.

Pure: no database, no network, no clock. The worker passes `now`, the row's first attempt
time and an rng, and stores the returned `next_attempt_at` on the delivery row, so a crash
between attempts loses nothing (reference/security-and-performance.md §7).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum

# Mastodon treats these 4xx as transient and every other 4xx as unsalvageable:
# `response_error_unsalvageable?` in
# https://github.com/mastodon/mastodon/blob/main/app/helpers/jsonld_helper.rb
# (401 is often a key the receiver has not fetched yet, 408 a slow receiver, 429 a rate limit).
TRANSIENT_4XX = frozenset({401, 408, 429})

# A receiver may ask us to wait, but not to park a delivery for longer than a day: past that
# its Retry-After is more likely a bug than a plan, and our own backoff takes over again.
RETRY_AFTER_CAP = timedelta(days=1)

# Longer header values are not valid Retry-After in either form; refuse them before parsing.
MAX_RETRY_AFTER_LEN = 64

# The error text ends up in the row's `last_error` column and on the operator's page.
MAX_REASON_LEN = 200

# delay-seconds is 1*DIGIT in ASCII (RFC 9110 §10.2.3); str.isdigit() would also take "²".
_DELTA_SECONDS = re.compile(r"[0-9]+")

# 2.0 ** 64 is far past any sane cap and still a finite float, so huge attempt counts
# cannot overflow the backoff computation.
_MAX_EXPONENT = 64


class Action(StrEnum):
    """What the worker does with the delivery row next."""

    SENT = "sent"
    RETRY = "retry"
    GIVE_UP = "give_up"


@dataclass(frozen=True)
class RetryDecision:
    """The outcome of one attempt: the row's next state, when to try again, and why."""

    action: Action
    next_attempt_at: datetime | None
    reason: str


def classify(status: int | None, error: str | None = None) -> Action:
    """Sort one attempt's outcome into sent, retry later, or permanent failure."""
    if status is None:
        # No HTTP answer at all (DNS, refused, TLS, timeout): the host may come back.
        return Action.RETRY
    if 200 <= status < 300:
        return Action.SENT
    if 400 <= status < 500 and status not in TRANSIENT_4XX:
        # The receiver understood and refused (403 blocked, 404/410 gone, 400 bad request):
        # sending the same bytes again will get the same answer.
        return Action.GIVE_UP
    # 5xx, the transient 4xx, and anything odd (1xx, 3xx: we never follow redirects on a
    # signed POST) may be fixed on their side, so keep trying within the horizon.
    return Action.RETRY


def parse_retry_after(value: str | None, now: datetime) -> datetime | None:
    """Read a Retry-After header (delay-seconds or HTTP-date) as an aware datetime, or None."""
    _require_aware(now, "now")
    # Bound the raw header before any work on it, padding included.
    if value is None or len(value) > MAX_RETRY_AFTER_LEN:
        return None
    value = value.strip()
    if not value:
        return None
    if _DELTA_SECONDS.fullmatch(value):
        # Compare as integers first so a 60-digit delay cannot overflow timedelta.
        seconds = int(value)
        if seconds >= RETRY_AFTER_CAP.total_seconds():
            return now + RETRY_AFTER_CAP
        return now + timedelta(seconds=seconds)
    try:
        when = parsedate_to_datetime(value)
    except (ValueError, TypeError, OverflowError, IndexError):
        # parsedate_to_datetime raises ValueError for most garbage, but out-of-range fields
        # surface as the other three depending on which part is broken.
        return None
    if when.tzinfo is None:
        # asctime form and "-0000" carry no zone; HTTP-dates are always GMT (RFC 9110 §5.6.7).
        when = when.replace(tzinfo=UTC)
    if when <= now:
        return now
    return min(when, now + RETRY_AFTER_CAP)


def backoff(attempts: int, *, base: float = 30.0, cap: float = 6 * 3600) -> float:
    """The un-jittered delay in seconds after `attempts` attempts: base·2^(n−1), capped."""
    if attempts < 1:
        raise ValueError(f"attempts counts the attempt just made, so it is >= 1, got {attempts}")
    return min(cap, base * 2.0 ** min(attempts - 1, _MAX_EXPONENT))


def decide(
    attempts: int,
    now: datetime,
    status: int | None,
    *,
    retry_after: datetime | None = None,
    first_attempt_at: datetime,
    rng: Callable[[], float] = random.random,
    give_up_after: timedelta = timedelta(days=7),
    base: float = 30.0,
    cap: float = 6 * 3600,
    error: str | None = None,
) -> RetryDecision:
    """Decide the row's next state after attempt number `attempts` ended with `status`/`error`."""
    _require_aware(now, "now")
    _require_aware(first_attempt_at, "first_attempt_at")
    if retry_after is not None:
        _require_aware(retry_after, "retry_after")
    what = _describe(status, error)
    action = classify(status, error)
    if action is Action.SENT:
        return RetryDecision(Action.SENT, None, what)
    if action is Action.GIVE_UP:
        return RetryDecision(Action.GIVE_UP, None, f"permanent failure: {what}")

    # Jitter keeps a hub's deliveries to one host from arriving in lockstep after an outage;
    # the 50% floor keeps the schedule predictable enough to reason about the horizon.
    share = 0.5 + 0.5 * min(max(rng(), 0.0), 1.0)
    next_attempt_at = now + timedelta(seconds=backoff(attempts, base=base, cap=cap) * share)
    if retry_after is not None and retry_after > next_attempt_at:
        next_attempt_at = retry_after

    deadline = first_attempt_at + give_up_after
    if next_attempt_at > deadline:
        # Dead-letter rather than drop: the row stays, visible to the operator, with why.
        return RetryDecision(
            Action.GIVE_UP,
            None,
            _clip(
                f"gave up after {attempts} attempts since {first_attempt_at.isoformat()}: {what}"
            ),
        )
    return RetryDecision(Action.RETRY, next_attempt_at, what)


def _describe(status: int | None, error: str | None) -> str:
    """Say in one short line what happened on the wire."""
    if status is None:
        return _clip(f"network error: {error}" if error else "network error")
    if error:
        return _clip(f"HTTP {status}: {error}")
    return f"HTTP {status}"


def _clip(text: str) -> str:
    """Bound a reason to what the row's last_error column should hold."""
    # One line only: remote error text may contain newlines that would garble the logs.
    text = " ".join(text.split())
    return text if len(text) <= MAX_REASON_LEN else text[: MAX_REASON_LEN - 1] + "…"


def _require_aware(when: datetime, name: str) -> None:
    """Refuse naive datetimes, which would compare wrongly or raise deep inside the policy."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {when!r}")
