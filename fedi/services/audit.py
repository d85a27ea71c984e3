"""The audit log of the console and the ``voisins`` admin verbs: who did what, when.

Insert-only on purpose: this module has ``record`` and ``entries`` and nothing else, and
``tests/console/test_audit.py`` checks that no code updates or deletes ``audit_log`` rows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fedi.ids import new_id
from fedi.models import AuditEntry

MAX_TARGET = 2048
SCRIPT = "(command line)"  # who, for changes made with ``voisins``
SCRIPT_ROLE = "cli"


def record(session: Session, who: str, role: str, action: str, target: str = "",
           details: dict[str, Any] | None = None) -> AuditEntry:
    """One more line in the log, in the caller's transaction (it commits with the action)."""
    entry = AuditEntry(id=new_id(), actor_username=who[:255], actor_role=role[:16],
                       action=action[:64], target=target[:MAX_TARGET], details=details or {})
    session.add(entry)
    return entry


def entries(session: Session, *, action: str | None = None, limit: int = 100,
            before_id: int | None = None, target: str | None = None) -> list[AuditEntry]:
    """Newest first."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if action:
        query = query.where(AuditEntry.action == action)
    if target is not None:
        query = query.where(AuditEntry.target == target)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    return list(session.scalars(query))
