"""« Télécharger mes données »: a member asks for an archive of their data (at most one a
day); the worker builds it in the background (``ExportBuilder``, never inside a request),
then mails a download link valid 7 days. The link holds a random token whose SHA-256 only
is stored; the member's own session downloads it from the settings page too. Expired
archives are removed from disk by the same job.

Archives live in the ``[exports] path`` folder (default ``exports`` next to the
configuration file), named by their row id only.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import secrets
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from fedi.config import ConfigError, Settings
from fedi.db import transaction, utcnow
from fedi.db_faults import Backoff, run_woken
from fedi.ids import new_id
from fedi.mail.messages import compose
from fedi.mail.queue import enqueue
from fedi.media.settings import media_settings
from fedi.media.storage import make_storage
from fedi.models import Actor, DataExport, User
from fedi.services.archive import ArchiveWriter

log = logging.getLogger("voisins.exports")
LIFETIME = timedelta(days=7)
COOLDOWN = timedelta(days=1)
LEASE = timedelta(minutes=10)
MAX_ATTEMPTS = 5


class ExportRefused(ValueError):
    """A second request within a day; ``again_at`` says from when a new one is taken."""

    def __init__(self, again_at: datetime) -> None:
        super().__init__(f"an archive was already asked for today; ask again after {again_at}")
        self.again_at = again_at


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def exports_dir(settings: Settings) -> Path:
    section = settings.extra.get("exports", {}) or {}
    if not isinstance(section, dict):
        raise ConfigError("exports", "must be a table")
    raw = section.get("path", "exports")
    if not isinstance(raw, str) or not raw:
        raise ConfigError("exports.path", "must be a folder name")
    path = Path(raw)
    if not path.is_absolute():
        base = Path(settings.config_path).resolve().parent if settings.config_path else Path.cwd()
        path = base / path
    return path


def expires_at(row: DataExport) -> datetime:
    return row.created_at + LIFETIME


def is_downloadable(row: DataExport, now: datetime | None = None) -> bool:
    return row.state == "ready" and (now or utcnow()) < expires_at(row)


def request_export(session: Session, user_id: int, *, now: datetime | None = None) -> DataExport:
    """Queue an archive for ``user_id``, unless one was asked for in the last day."""
    now = now or utcnow()
    last = session.scalar(select(DataExport.created_at).where(
        DataExport.user_id == user_id, DataExport.state != "failed")
        .order_by(DataExport.created_at.desc()).limit(1))
    if last is not None and now - last < COOLDOWN:
        raise ExportRefused(last + COOLDOWN)
    row = DataExport(id=new_id(), user_id=user_id, state="pending", token_hash=None,
                     file_name="", size=0, attempts=0, next_attempt_at=now, last_error="",
                     created_at=now)
    session.add(row)
    session.flush()
    return row


def exports_of(session: Session, user_id: int, limit: int = 10) -> list[DataExport]:
    return list(session.scalars(select(DataExport).where(DataExport.user_id == user_id)
                                .order_by(DataExport.created_at.desc()).limit(limit)))


def by_token(session: Session, token: str, *, now: datetime | None = None) -> DataExport | None:
    if not token or len(token) > 128:
        return None
    row = session.scalar(select(DataExport).where(DataExport.token_hash == digest(token)))
    return row if row is not None and is_downloadable(row, now) else None


def of_member(session: Session, export_id: int, user_id: int, *,
              now: datetime | None = None) -> DataExport | None:
    row = session.get(DataExport, export_id)
    if row is None or row.user_id != user_id or not is_downloadable(row, now):
        return None
    return row


@dataclass(frozen=True)
class Job:
    id: int
    user_id: int
    attempts: int


class ExportBuilder:
    """The worker's job: build pending archives, then remove expired ones. ``run_once`` for
    tests; ``run_forever`` in ``voisins serve`` / ``voisins worker``."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings, *,
                 interval: float = 30.0) -> None:
        self.sessions = sessions
        self.settings = settings
        self.interval = interval
        self.folder = exports_dir(settings)
        self.storage = make_storage(media_settings(settings))
        self.built = 0
        self._wake = asyncio.Event()
        self.backoff = Backoff()  # the hub's shares one DatabaseStatus (fedi.app)

    def wake(self) -> None:
        self._wake.set()

    def _claim(self, now: datetime) -> Job | None:
        with transaction(self.sessions) as session:
            row = session.scalar(
                select(DataExport)
                .where(DataExport.state == "pending", DataExport.next_attempt_at <= now)
                .order_by(DataExport.next_attempt_at).limit(1)
                .with_for_update(skip_locked=True))
            if row is None:
                return None
            row.attempts += 1
            row.next_attempt_at = now + LEASE  # a lease: a dead worker's claim comes back
            return Job(row.id, row.user_id, row.attempts)

    def _write(self, job: Job) -> tuple[str, int]:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"{job.id}.zip"
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".part-", suffix=".zip")
        try:
            with self.sessions() as session, os.fdopen(fd, "wb") as out:
                user = session.get(User, job.user_id)
                actor = session.get(Actor, user.actor_id) if user is not None else None
                if actor is None:
                    raise LookupError("the member is gone")
                ArchiveWriter(session, self.settings, actor, self._read_media).write(out)
            os.replace(tmp, self.folder / name)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return name, (self.folder / name).stat().st_size

    def _read_media(self, name: str) -> bytes | None:
        try:
            return self.storage.get(name)
        except (OSError, ValueError):
            return None

    def _finish(self, job: Job, name: str, size: int, now: datetime) -> None:
        token = secrets.token_urlsafe(32)
        with transaction(self.sessions) as session:
            row = session.get(DataExport, job.id)
            user = session.get(User, job.user_id)
            if row is None or user is None:
                (self.folder / name).unlink(missing_ok=True)
                return
            row.state, row.file_name, row.size = "ready", name, size
            row.token_hash, row.ready_at, row.last_error = digest(token), now, ""
            lang = "en" if user.locale == "en" else "fr"
            username = session.scalar(select(Actor.username).where(Actor.id == user.actor_id))
            message = compose("export_ready", lang, {
                "hub": self.settings.name, "username": username or "",
                "link": f"{self.settings.base_url}/export/{token}",
                "settings": f"{self.settings.base_url}/settings/export"})
            enqueue(session, "export_ready", user.email, lang, message, now=now)

    def _fail(self, job: Job, error: str, now: datetime) -> None:
        with transaction(self.sessions) as session:
            row = session.get(DataExport, job.id)
            if row is None:
                return
            row.last_error = error[:1000]
            if job.attempts >= MAX_ATTEMPTS:
                row.state = "failed"
            else:
                row.next_attempt_at = now + timedelta(minutes=2 ** job.attempts)

    def expire(self, now: datetime) -> int:
        """Remove the files of archives past their 7 days."""
        with transaction(self.sessions) as session:
            rows = list(session.scalars(select(DataExport).where(
                DataExport.state == "ready", DataExport.created_at < now - LIFETIME)))
            for row in rows:
                if row.file_name:
                    (self.folder / row.file_name).unlink(missing_ok=True)
                row.state, row.token_hash = "expired", None
        return len(rows)

    def run_once(self, now: datetime | None = None) -> int:
        """Build every archive due now; the number built."""
        built = 0
        while True:
            now_at = now or utcnow()
            job = self._claim(now_at)
            if job is None:
                break
            try:
                name, size = self._write(job)
            except (OSError, LookupError, ValueError) as exc:
                log.warning("archive %s not built (attempt %d): %s", job.id, job.attempts, exc)
                self._fail(job, str(exc), now_at)
                continue
            self._finish(job, name, size, now_at)
            built += 1
        self.built += built
        self.expire(now or utcnow())
        return built

    async def run_forever(self, stop: asyncio.Event) -> None:
        await run_woken(self.run_once, stop, self._wake, self.interval, self.backoff, log,
                        "the archive builder")
