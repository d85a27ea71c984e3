"""Periodic jobs that change rows in bulk run one pass at a time across worker processes
(PostgreSQL advisory locks, fedi.services.job_lock): while another process holds the
privacy job's lock, this process's pass skips the step and changes nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from apiworld import ApiWorld
from sqlalchemy import func, select

from fedi.db import utcnow
from fedi.ids import new_id
from fedi.models import LoginRecord
from fedi.services.job_lock import try_job_lock
from fedi.services.privacy_job import PrivacyJob

pytestmark = pytest.mark.postgres


@pytest.fixture
def world(new_database_url: Callable[..., str]) -> Iterator[ApiWorld]:
    w = ApiWorld(new_database_url("postgresql", "jobs", migrated=True))
    yield w
    w.close()


def test_one_holder_at_a_time(world: ApiWorld) -> None:
    with world.sessions() as first, world.sessions() as second:
        with first.begin():
            assert try_job_lock(first, "privacy.logins")
            with second.begin():
                assert not try_job_lock(second, "privacy.logins")
                assert try_job_lock(second, "privacy.erase")  # another job: its own lock
        with second.begin():  # released at the end of the first transaction
            assert try_job_lock(second, "privacy.logins")


def test_privacy_pass_skips_a_step_another_process_holds(world: ApiWorld) -> None:
    member = world.member()
    with world.session() as s:
        s.add(LoginRecord(id=new_id(), user_id=member.user_id,
                          created_at=utcnow() - timedelta(days=40)))
    job = PrivacyJob(world.sessions, lambda name: None)

    def records() -> int:
        with world.session() as s:
            return int(s.scalar(select(func.count()).select_from(LoginRecord)) or 0)

    with world.sessions() as other, other.begin():
        assert try_job_lock(other, "privacy.logins")  # "another worker process" is pruning
        assert job.run_once().logins == 0
        assert records() == 1
    assert job.run_once().logins == 1
    assert records() == 0
