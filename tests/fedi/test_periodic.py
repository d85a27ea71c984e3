"""The periodic jobs' loop (fedi/services/periodic.py): again at once after work, a pause
after an idle or failed pass, and an end as soon as it is stopped."""

from __future__ import annotations

import asyncio
import logging

import pytest

from fedi.services.periodic import run_periodically


def test_work_goes_again_idle_and_failures_wait_stop_ends(
        caplog: pytest.LogCaptureFixture) -> None:
    results: list[int | Exception] = [3, 1, RuntimeError("database is locked"), 0]
    passes: list[int] = []

    async def main() -> float:
        stop = asyncio.Event()

        async def run_pass() -> int:
            passes.append(len(passes))
            result = results[len(passes) - 1] if len(passes) <= len(results) else 0
            if len(passes) == len(results):
                stop.set()
            if isinstance(result, Exception):
                raise result
            return result

        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.wait_for(run_periodically(run_pass, stop, 0.2, logging.getLogger("t"),
                                                "test job"), timeout=5)
        return loop.time() - started

    with caplog.at_level(logging.ERROR, logger="t"):
        elapsed = asyncio.run(main())
    assert passes == [0, 1, 2, 3]
    # Two passes with work, then one pause after the failure (the idle pass saw stop).
    assert 0.2 <= elapsed < 1.0
    assert [r.getMessage() for r in caplog.records] == ["test job failed"]
