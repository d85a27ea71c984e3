"""Table-driven tests for the delivery retry policy (outbox/retry.py)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import FrozenInstanceError
from datetime import UTC, datetime, timedelta

import pytest

from outbox.retry import (
    MAX_REASON_LEN,
    Action,
    RetryDecision,
    backoff,
    classify,
    decide,
    parse_retry_after,
)

NOW = datetime(2025, 3, 14, 12, 0, 0, tzinfo=UTC)
WEEK = timedelta(days=7)
CAP = 6 * 3600.0


def fixed(value: float) -> Callable[[], float]:
    """An rng that always returns `value`, so jitter is exact."""
    return lambda: value


def fresh(attempts: int, status: int | None = 503, **kwargs: object) -> RetryDecision:
    """Decide for a delivery whose first attempt was just now, far from the horizon."""
    kwargs.setdefault("rng", fixed(1.0))
    return decide(attempts, NOW, status, first_attempt_at=NOW, **kwargs)  # type: ignore[arg-type]


STATUS_TABLE = [
    (200, Action.SENT),
    (202, Action.SENT),
    (204, Action.SENT),
    (400, Action.GIVE_UP),
    (401, Action.RETRY),
    (403, Action.GIVE_UP),
    (404, Action.GIVE_UP),
    (408, Action.RETRY),
    (410, Action.GIVE_UP),
    (422, Action.GIVE_UP),
    (429, Action.RETRY),
    (499, Action.GIVE_UP),
    (500, Action.RETRY),
    (502, Action.RETRY),
    (503, Action.RETRY),
    (504, Action.RETRY),
    (301, Action.RETRY),
    (None, Action.RETRY),
]


@pytest.mark.parametrize(("status", "expected"), STATUS_TABLE)
def test_classify_sorts_every_status_class(status: int | None, expected: Action) -> None:
    """2xx is sent, 4xx except 401/408/429 is permanent, the rest is retried."""
    assert classify(status, None) is expected


@pytest.mark.parametrize(("status", "expected"), STATUS_TABLE)
def test_decide_schedules_only_retries(status: int | None, expected: Action) -> None:
    """decide() agrees with classify() and sets next_attempt_at exactly when it retries."""
    decision = fresh(1, status)
    assert decision.action is expected
    assert (decision.next_attempt_at is not None) == (expected is Action.RETRY)


def test_classify_network_error_without_status_retries() -> None:
    """A connection error with no HTTP status is transient."""
    assert classify(None, "ConnectError: [Errno 111] Connection refused") is Action.RETRY


def test_status_wins_over_error_text() -> None:
    """A 2xx with a stray error string is still delivered, and a 404 is still permanent."""
    assert classify(202, "read timeout after body") is Action.SENT
    assert classify(404, "whatever") is Action.GIVE_UP


@pytest.mark.parametrize(
    ("attempts", "seconds"),
    [
        (1, 30.0),
        (2, 60.0),
        (3, 120.0),
        (4, 240.0),
        (5, 480.0),
        (8, 3840.0),
        (10, 15360.0),
        (11, CAP),
        (20, CAP),
        (10_000, CAP),
    ],
)
def test_backoff_doubles_then_caps(attempts: int, seconds: float) -> None:
    """The delay is 30 s · 2^(n−1) up to six hours, and huge counts do not overflow."""
    assert backoff(attempts) == seconds
    assert fresh(attempts).next_attempt_at == NOW + timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("base", "cap", "attempts", "seconds"), [(10.0, 100.0, 4, 80.0), (10.0, 100.0, 5, 100.0)]
)
def test_backoff_honours_custom_base_and_cap(
    base: float, cap: float, attempts: int, seconds: float
) -> None:
    """base and cap are parameters, not constants baked into the schedule."""
    decision = fresh(attempts, base=base, cap=cap)
    assert decision.next_attempt_at == NOW + timedelta(seconds=seconds)


@pytest.mark.parametrize("attempts", [0, -1])
def test_attempts_count_the_attempt_just_made(attempts: int) -> None:
    """An attempt count below one is a caller bug and is refused."""
    with pytest.raises(ValueError, match="attempts"):
        fresh(attempts)


@pytest.mark.parametrize(
    ("draw", "share"),
    [(0.0, 0.5), (0.25, 0.625), (0.5, 0.75), (1.0, 1.0), (-3.0, 0.5), (7.0, 1.0)],
)
def test_jitter_spans_half_to_full_delay(draw: float, share: float) -> None:
    """The rng maps onto 50–100 % of the backoff, and out-of-range draws are clamped."""
    decision = fresh(5, rng=fixed(draw))
    assert decision.next_attempt_at == NOW + timedelta(seconds=480.0 * share)


@pytest.mark.parametrize("attempts", [1, 4, 12])
def test_jitter_stays_in_bounds_for_many_draws(attempts: int) -> None:
    """With a seeded real rng every delay lies within [50 %, 100 %] of the backoff."""
    rng = random.Random(1234)
    full = backoff(attempts)
    delays = {
        (fresh(attempts, rng=rng.random).next_attempt_at - NOW).total_seconds()  # type: ignore[operator]
        for _ in range(500)
    }
    assert min(delays) >= full * 0.5
    assert max(delays) <= full
    # Jitter actually spreads the schedule rather than collapsing to one value.
    assert len(delays) > 400


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", NOW + timedelta(seconds=120)),
        ("0", NOW),
        ("  60 ", NOW + timedelta(seconds=60)),
        ("86400", NOW + timedelta(days=1)),
        ("86401", NOW + timedelta(days=1)),
        ("9" * 60, NOW + timedelta(days=1)),
        ("Fri, 14 Mar 2025 13:00:00 GMT", NOW + timedelta(hours=1)),
        ("Friday, 14-Mar-25 13:00:00 GMT", NOW + timedelta(hours=1)),
        ("Fri Mar 14 13:00:00 2025", NOW + timedelta(hours=1)),
        ("Fri, 14 Mar 2025 15:00:00 +0200", NOW + timedelta(hours=1)),
        ("Fri, 14 Mar 2025 11:00:00 GMT", NOW),
        ("Sun, 06 Nov 1994 08:49:37 GMT", NOW),
        ("Tue, 18 Mar 2025 12:00:00 GMT", NOW + timedelta(days=1)),
    ],
)
def test_parse_retry_after_reads_both_forms(header: str, expected: datetime) -> None:
    """delay-seconds and HTTP-dates parse; past dates mean now; both are capped at one day."""
    assert parse_retry_after(header, NOW) == expected


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "   ",
        "soon",
        "-5",
        "1.5",
        "12abc",
        "²",
        "0x10",
        "Wed, 32 Foo 2025 25:61:00 GMT",
        "Sun, 06 Nov 99999 08:49:37 GMT",
        "Fri, 14 Mar 2025 13:00:00 GMT" + " " * 100 + "x",
        "1" + " " * 80,
    ],
)
def test_parse_retry_after_ignores_garbage(header: str | None) -> None:
    """Anything that is not one of the two RFC 9110 forms gives None rather than an error."""
    assert parse_retry_after(header, NOW) is None


@pytest.mark.parametrize(
    ("header", "attempts"),
    [("3600", 1), ("Fri, 14 Mar 2025 14:00:00 GMT", 1), ("1000", 5)],
)
def test_decide_is_never_earlier_than_retry_after(header: str, attempts: int) -> None:
    """A Retry-After later than the backoff moves the next attempt to exactly that time."""
    retry_after = parse_retry_after(header, NOW)
    assert retry_after is not None
    decision = fresh(attempts, 429, rng=fixed(0.0), retry_after=retry_after)
    assert decision.action is Action.RETRY
    assert decision.next_attempt_at == retry_after


def test_decide_keeps_backoff_when_retry_after_is_sooner() -> None:
    """A Retry-After shorter than our backoff does not make us retry sooner than the policy."""
    retry_after = parse_retry_after("5", NOW)
    decision = fresh(5, 503, rng=fixed(1.0), retry_after=retry_after)
    assert decision.next_attempt_at == NOW + timedelta(seconds=480)


@pytest.mark.parametrize("header", ["soon", "-1", "Wed, 32 Foo 2025"])
def test_garbage_retry_after_leaves_schedule_unchanged(header: str) -> None:
    """A garbage header parses to None and the decision equals the one without a header."""
    with_header = fresh(3, 503, retry_after=parse_retry_after(header, NOW))
    assert with_header == fresh(3, 503)


@pytest.mark.parametrize(
    ("slack", "expected"),
    [
        (timedelta(seconds=31), Action.RETRY),
        (timedelta(seconds=30), Action.RETRY),
        (timedelta(seconds=29, microseconds=999_999), Action.GIVE_UP),
        (timedelta(0), Action.GIVE_UP),
        (-timedelta(hours=1), Action.GIVE_UP),
    ],
)
def test_give_up_boundary_at_seven_days(slack: timedelta, expected: Action) -> None:
    """A retry landing at or before first_attempt_at + 7 days is kept; one microsecond later is not."""
    # attempts=1 with rng=1.0 schedules exactly 30 s ahead; `slack` is the time left before
    # the 7-day horizon, so 30 s of slack puts the next attempt exactly on the deadline.
    first = NOW - WEEK + slack
    decision = decide(1, NOW, 503, first_attempt_at=first, rng=fixed(1.0))
    assert decision.action is expected
    if expected is Action.GIVE_UP:
        assert decision.next_attempt_at is None
        assert "gave up after 1 attempts" in decision.reason


def test_retry_after_beyond_horizon_gives_up() -> None:
    """A Retry-After that would land past the 7-day horizon dead-letters the delivery."""
    first = NOW - WEEK + timedelta(hours=1)
    retry_after = parse_retry_after("7200", NOW)
    decision = decide(3, NOW, 429, first_attempt_at=first, retry_after=retry_after, rng=fixed(0.0))
    assert decision.action is Action.GIVE_UP


def test_permanent_failure_gives_up_even_on_first_attempt() -> None:
    """410 Gone on the first try dead-letters at once, with the status in the reason."""
    decision = fresh(1, 410)
    assert decision == RetryDecision(Action.GIVE_UP, None, "permanent failure: HTTP 410")


@pytest.mark.parametrize(("draw", "min_attempts"), [(0.0, 50), (1.0, 30)])
def test_full_schedule_keeps_trying_for_about_a_week(draw: float, min_attempts: int) -> None:
    """Replaying the policy against a dead host retries for 7 days (minus one cap) then stops."""
    now, attempts = NOW, 0
    while True:
        attempts += 1
        decision = decide(
            attempts, now, None, first_attempt_at=NOW, rng=fixed(draw), error="timeout"
        )
        if decision.action is Action.GIVE_UP:
            break
        assert decision.next_attempt_at is not None
        assert decision.next_attempt_at <= NOW + WEEK
        now = decision.next_attempt_at
    assert now >= NOW + WEEK - timedelta(seconds=CAP)
    assert attempts >= min_attempts


@pytest.mark.parametrize(
    ("status", "error", "reason"),
    [
        (None, "ConnectError: refused", "network error: ConnectError: refused"),
        (None, None, "network error"),
        (503, None, "HTTP 503"),
        (202, None, "HTTP 202"),
        (500, "line one\nline two", "HTTP 500: line one line two"),
    ],
)
def test_reason_says_what_happened(status: int | None, error: str | None, reason: str) -> None:
    """The reason names the status or the network error on one line."""
    assert fresh(1, status, error=error).reason == reason


def test_reason_is_bounded() -> None:
    """A huge remote error text is clipped before it reaches the last_error column."""
    decision = fresh(1, None, error="x" * 10_000)
    assert len(decision.reason) == MAX_REASON_LEN


@pytest.mark.parametrize("field", ["now", "first_attempt_at", "retry_after"])
def test_naive_datetimes_are_refused(field: str) -> None:
    """Naive datetimes would compare wrongly against aware ones, so they raise ValueError."""
    args: dict[str, datetime] = {"now": NOW, "first_attempt_at": NOW, "retry_after": NOW}
    args[field] = NOW.replace(tzinfo=None)
    with pytest.raises(ValueError, match=field):
        decide(
            1,
            args["now"],
            503,
            first_attempt_at=args["first_attempt_at"],
            retry_after=args["retry_after"],
        )


def test_decision_is_frozen() -> None:
    """A RetryDecision cannot be altered after the policy returns it."""
    decision = fresh(1)
    with pytest.raises(FrozenInstanceError):
        decision.action = Action.SENT  # type: ignore[misc]


def test_action_values_are_stable_strings() -> None:
    """Action values are plain strings fit for a status column."""
    assert [a.value for a in Action] == ["sent", "retry", "give_up"]
