"""Reports: filed by a member (``POST /api/v1/reports``) or received as a ``Flag`` from a
linked hub's instance actor; listed and read by moderators (the console, ``voisins
reports``). What moderators do with them is in ``fedi.services.moderation``.

A moderator sees a reported post through the one visibility rule (``can_see``): when they
may see it themselves, or when the reporter may (a member who attaches a post they can read
shares it with the moderators; a hub that flags a post it received shares it too). Anything
else is listed as a post the moderator cannot see, never shown.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fedi.db import utcnow
from fedi.ids import new_id
from fedi.models import Actor, Report, Status
from fedi.services import audit
from fedi.services.visibility import can_see

# Mastodon's report categories (https://docs.joinmastodon.org/entities/Report/).
CATEGORIES = ("spam", "violation", "legal", "other")
MAX_COMMENT = 1000  # Mastodon's default limit for a member's comment
MAX_FLAG_COMMENT = 5000
MAX_STATUSES = 50
ACCOUNT_TYPES = ("Person", "Service", "Group", "Organization")


class ReportError(ValueError):
    """A refused report or action: ``code`` names it, ``en``/``fr`` say it."""

    def __init__(self, code: str, en: str, fr: str) -> None:
        super().__init__(en)
        self.code, self.en, self.fr = code, en, fr

    def message(self, lang: str) -> str:
        return self.fr if lang == "fr" else self.en


def audit_target(report: Report) -> str:
    """How the audit log names a report."""
    return f"report:{report.id}"


# --- filing --------------------------------------------------------------------------------


def file_report(session: Session, reporter: Actor, target: Actor, statuses: Sequence[Status],
                *, comment: str = "", category: str = "other",
                rule_ids: Sequence[str] = (), forward: bool = False) -> Report:
    """A member's report about ``target`` (and some of its posts), for the moderators.

    The caller has already checked that the reporter may see each status; this checks what
    holds whoever files it."""
    if target.id == reporter.id:
        raise ReportError("self", "You cannot report yourself",
                          "Vous ne pouvez pas vous signaler vous-même")
    if target.deleted_at is not None or target.type not in ACCOUNT_TYPES:
        raise ReportError("target", "This account cannot be reported",
                          "Ce compte ne peut pas être signalé")
    if category not in CATEGORIES:
        raise ReportError("category", "category must be spam, violation, legal or other",
                          "la catégorie doit être spam, violation, legal ou other")
    if len(comment) > MAX_COMMENT:
        raise ReportError("comment", f"The comment is over {MAX_COMMENT} characters",
                          f"Le commentaire dépasse {MAX_COMMENT} caractères")
    for status in statuses:
        if status.actor_id != target.id or status.deleted_at is not None:
            raise ReportError("status", "A reported post must be a post of the reported account",
                              "Un message signalé doit être un message du compte signalé")
    row = Report(id=new_id(), reporter_uri=reporter.uri, target_actor_id=target.id,
                 status_uris=list(dict.fromkeys(s.uri for s in statuses))[:MAX_STATUSES],
                 comment=comment, category="violation" if rule_ids else category,
                 rule_ids=list(rule_ids) or None,
                 forward_requested=bool(forward and not target.local), resolved=False,
                 created_at=utcnow())
    session.add(row)
    session.flush()
    return row


def receive_flag(session: Session, sender: Actor, flag_id: str, objects: Sequence[str],
                 content: str) -> Report | None:
    """A Flag from another hub (or allowed server), attributed to it: its objects are a
    member of ours and (some of) their posts, as Mastodon and GoToSocial send them. None
    when it names nothing of ours (nothing is stored)."""
    objects = list(dict.fromkeys(objects))[:MAX_STATUSES + 1]
    if session.scalar(select(Report.id).where(Report.uri == flag_id)) is not None:
        return None  # the same Flag again
    target = session.scalar(select(Actor).where(
        Actor.uri.in_(objects), Actor.local, Actor.type.in_(ACCOUNT_TYPES)))
    posts = list(session.scalars(select(Status).where(Status.uri.in_(objects), Status.local)))
    if target is None:
        authors = {p.actor_id for p in posts}
        if len(authors) != 1:
            return None
        target = session.get(Actor, authors.pop())
        if target is None:
            return None
    uris = [p.uri for p in posts if p.actor_id == target.id]
    row = Report(id=new_id(), uri=flag_id, reporter_uri=sender.uri, target_actor_id=target.id,
                 status_uris=uris, comment=content[:MAX_FLAG_COMMENT], category="other",
                 origin_domain=sender.domain, resolved=False, created_at=utcnow())
    session.add(row)
    session.flush()
    return row


# --- reading -------------------------------------------------------------------------------


def list_reports(session: Session, *, resolved: bool | None = False, limit: int = 100,
                 before_id: int | None = None) -> list[Report]:
    """Newest first; ``resolved`` None lists both."""
    query = select(Report).order_by(Report.id.desc()).limit(limit)
    if resolved is not None:
        query = query.where(Report.resolved.is_(resolved))
    if before_id is not None:
        query = query.where(Report.id < before_id)
    return list(session.scalars(query))


def count_open(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Report).where(
        Report.resolved.is_(False))) or 0


def actors_by_uri(session: Session, uris: Sequence[str]) -> dict[str, Actor]:
    wanted = list(dict.fromkeys(uris))
    if not wanted:
        return {}
    return {a.uri: a for a in session.scalars(select(Actor).where(Actor.uri.in_(wanted)))}


def targets_of(session: Session, reports: Sequence[Report]) -> dict[int, Actor]:
    ids = list({r.target_actor_id for r in reports if r.target_actor_id is not None})
    if not ids:
        return {}
    return {a.id: a for a in session.scalars(select(Actor).where(Actor.id.in_(ids)))}


def reported_statuses(session: Session, report: Report) -> list[Status]:
    """The reported posts stored here, in the report's order."""
    if not report.status_uris:
        return []
    found = {s.uri: s for s in session.scalars(select(Status).where(
        Status.uri.in_(report.status_uris)))}
    return [found[u] for u in report.status_uris if u in found]


@dataclass(frozen=True)
class ShownPost:
    """A reported post as a moderator gets it: ``visible`` says whether its content may
    be shown; ``removable`` whether it is a post of this hub still standing."""

    uri: str
    status: Status | None
    visible: bool
    removable: bool

    @property
    def state(self) -> str:
        if self.status is None:
            return "unknown"
        if self.status.deleted_at is not None:
            return "deleted"
        return "shown" if self.visible else "hidden"


def shown_posts(session: Session, report: Report, moderator: Actor,
                is_linked: Callable[[str], bool]) -> list[ShownPost]:
    stored = {s.uri: s for s in reported_statuses(session, report)}
    reporter = session.scalar(select(Actor).where(Actor.uri == report.reporter_uri))
    out = []
    for uri in report.status_uris:
        status = stored.get(uri)
        visible = status is not None and (
            can_see(session, moderator, status, is_linked=is_linked)
            or (reporter is not None
                and can_see(session, reporter, status, is_linked=is_linked)))
        removable = status is not None and status.local and status.deleted_at is None
        out.append(ShownPost(uri, status, visible, removable))
    return out


def history(session: Session, report: Report) -> list[Any]:
    """What moderators did with this report, oldest first (read from the audit log)."""
    return list(reversed(audit.entries(session, target=audit_target(report), limit=200)))
