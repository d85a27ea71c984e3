"""The ``outgoing_mail`` table: enqueue in the caller's transaction, claim what is due
(several workers may run: PostgreSQL skips rows another one holds, and a claim is a lease),
record the outcome."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from fedi.db import utcnow
from fedi.ids import new_id
from fedi.mail.messages import Message
from fedi.mail.retry import gives_up, next_attempt
from fedi.models import OutgoingMail

LEASE = timedelta(minutes=5)
LINK_RE = re.compile(r"https?://\S+")


@dataclass(frozen=True)
class Claimed:
    id: int
    recipient: str
    language: str
    subject: str
    text: str
    html: str
    attempts: int


def enqueue(session: Session, kind: str, recipient: str, language: str, message: Message,
            *, now: datetime | None = None) -> OutgoingMail:
    """Queue ``message`` for ``recipient``; it leaves once the caller's transaction commits."""
    now = now or utcnow()
    row = OutgoingMail(id=new_id(), kind=kind, recipient=recipient.strip()[:320],
                       language=language, subject=message.subject, text=message.text,
                       html=message.html, status="pending", attempts=0, next_attempt_at=now,
                       last_error="", created_at=now)
    session.add(row)
    session.flush()
    return row


def claim_due(session: Session, limit: int = 20, *, now: datetime | None = None) -> list[Claimed]:
    """The messages due now, leased to the caller for ``LEASE`` (one attempt counted)."""
    now = now or utcnow()
    rows = list(session.scalars(
        select(OutgoingMail)
        .where(OutgoingMail.status == "pending", OutgoingMail.next_attempt_at <= now)
        .order_by(OutgoingMail.next_attempt_at).limit(limit)
        .with_for_update(skip_locked=True)))
    out = []
    for row in rows:
        row.attempts += 1
        row.next_attempt_at = now + LEASE
        out.append(Claimed(row.id, row.recipient, row.language, row.subject, row.text,
                           row.html, row.attempts))
    return out


def mark_sent(session: Session, mail_id: int, *, now: datetime | None = None) -> None:
    row = session.get(OutgoingMail, mail_id)
    if row is not None:
        row.status, row.sent_at, row.last_error = "sent", now or utcnow(), ""


def mark_failed(session: Session, mail_id: int, error: str, *, permanent: bool, base: float,
                cap: float, max_attempts: int, now: datetime | None = None) -> None:
    """Try again later (capped backoff), or give up when refused for good or tried enough."""
    row = session.get(OutgoingMail, mail_id)
    if row is None:
        return
    row.last_error = error[:1000]
    if gives_up(row.attempts, max_attempts, permanent):
        row.status = "failed"
    else:
        row.next_attempt_at = next_attempt(now or utcnow(), row.attempts, base, cap)


def waiting(session: Session, statuses: tuple[str, ...] = ("pending", "failed")
            ) -> list[OutgoingMail]:
    return list(session.scalars(select(OutgoingMail).where(OutgoingMail.status.in_(statuses))
                                .order_by(OutgoingMail.created_at)))


def links_in(text: str) -> list[str]:
    return list(dict.fromkeys(m.rstrip(".,;)>") for m in LINK_RE.findall(text)))
