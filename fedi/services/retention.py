"""What the hub remembers about logins, and for how long: the address and the browser or
app of each successful login, kept 30 days (README.md, "Privacy"), then removed by the
privacy job (fedi.services.privacy_job)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from fedi.db import utcnow
from fedi.ids import new_id
from fedi.models import LoginRecord, WebSession

LOGIN_RETENTION = timedelta(days=30)
MAX_IP = 64
MAX_USER_AGENT = 255


def record_login(session: Session, user_id: int, *, ip: str, user_agent: str = "",
                 kind: str = "web", now: datetime | None = None) -> None:
    session.add(LoginRecord(id=new_id(), user_id=user_id, kind=kind[:16], ip=ip[:MAX_IP],
                            user_agent=user_agent[:MAX_USER_AGENT],
                            created_at=now or utcnow()))


def prune_logins(session: Session, now: datetime) -> int:
    """Remove login records older than 30 days, forget the browser of web sessions opened
    more than 30 days ago, and drop expired sessions. Returns the login records removed."""
    cutoff = now - LOGIN_RETENTION
    removed = session.execute(delete(LoginRecord).where(LoginRecord.created_at < cutoff))
    session.execute(update(WebSession).where(WebSession.created_at < cutoff,
                                             WebSession.user_agent != "")
                    .values(user_agent=""))
    session.execute(delete(WebSession).where(WebSession.expires_at <= now))
    return int(removed.rowcount or 0)  # type: ignore[attr-defined]
