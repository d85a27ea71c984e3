"""What a moderator does with a report: dismiss it, warn the member (a mail through the mail
queue, in their language), remove a reported post (the author's Delete goes where the post
went, through ``fedi.services.posting``), suspend the member (``fedi.services.membership``),
or forward the report to the reported member's hub as a ``Flag``.

Every action writes the audit log (target ``report:<id>``) in the same transaction as the
change; dismiss, warn and suspend resolve the report, removing its last standing post does.

The forwarded Flag comes from this hub's instance actor, as Mastodon sends them, so the
member who reported stays anonymous to the other hub: its object is the reported account
and the reported posts, its content the reporter's comment.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fedi.config import Settings
from fedi.db import utcnow
from fedi.mail.messages import compose
from fedi.mail.queue import enqueue
from fedi.models import Actor, Article, Report, Status, User
from fedi.services import audit, membership
from fedi.services.accounts import ensure_instance_actor
from fedi.services.articles import delete_article
from fedi.services.membership import By, MembershipError
from fedi.services.posting import delete_status
from fedi.services.reports import ReportError, audit_target, reported_statuses
from fedi.vocab.context import AS
from outbox.context import PublishContext
from outbox.publish import publish
from outbox.queue import enqueue_deliveries

MAX_MESSAGE = 2000
OUTCOMES = ("dismissed", "warned", "removed", "suspended")


def _open(report: Report) -> None:
    if report.resolved:
        raise ReportError("resolved", "This report is already resolved",
                          "Ce signalement est déjà traité")


def _resolve(report: Report, by: By, outcome: str) -> None:
    report.resolved = True
    report.resolved_at = utcnow()
    report.resolved_by = by.username[:255]
    report.outcome = outcome


def _local_target(session: Session, report: Report) -> tuple[User, Actor]:
    target = session.get(Actor, report.target_actor_id) if report.target_actor_id else None
    user = session.scalar(select(User).where(User.actor_id == target.id)) if target else None
    if target is None or user is None or not target.local or target.deleted_at is not None:
        raise ReportError("not_member", "The reported account is not a member of this hub",
                          "Le compte signalé n'est pas membre de ce hub")
    return user, target


def dismiss(session: Session, by: By, report: Report, note: str = "") -> Report:
    """Close the report without acting on the member."""
    _open(report)
    note = note.strip()[:MAX_MESSAGE]
    _resolve(report, by, "dismissed")
    audit.record(session, by.username, by.role, "report.dismiss", audit_target(report),
                 {"note": note} if note else {})
    return report


def warn(session: Session, settings: Settings, by: By, report: Report, message: str) -> Report:
    """Mail the reported member a warning (queued with the change) and resolve the report."""
    _open(report)
    message = message.strip()
    if not message:
        raise ReportError("message", "Write the message the member will receive",
                          "Écrivez le message que le membre recevra")
    if len(message) > MAX_MESSAGE:
        raise ReportError("message", f"The message is too long ({MAX_MESSAGE} characters at "
                          "most)", f"Le message est trop long ({MAX_MESSAGE} caractères au plus)")
    user, target = _local_target(session, report)
    lang = "en" if user.locale == "en" else "fr"
    mail = compose("warning", lang, {"hub": settings.name, "username": target.username,
                                     "message": message,
                                     "link": f"{settings.base_url}/login"})
    enqueue(session, "warning", user.email, lang, mail)
    _resolve(report, by, "warned")
    audit.record(session, by.username, by.role, "report.warn", audit_target(report),
                 {"member": f"@{target.username}", "message": message})
    return report


def remove_post(session: Session, ctx: PublishContext, by: By, report: Report,
                status_id: int) -> Status:
    """Delete a reported post of this hub as its author would: the Delete goes to the
    post's original recipients (linked hubs drop it). The report is resolved once none of
    its posts of this hub is left."""
    posts = reported_statuses(session, report)
    status = next((s for s in posts if s.id == status_id), None)
    if status is None:
        raise ReportError("post", "This post is not part of the report",
                          "Ce message ne fait pas partie du signalement")
    if not status.local:
        raise ReportError("remote", "Only a post of this hub can be removed here: forward the "
                          "report to its hub", "Seul un message de ce hub peut être retiré "
                          "ici : transmettez le signalement à son hub")
    if status.deleted_at is not None:
        raise ReportError("deleted", "This post is already removed", "Ce message est déjà retiré")
    author = session.get(Actor, status.actor_id)
    if author is None:
        raise ReportError("post", "This post is not part of the report",
                          "Ce message ne fait pas partie du signalement")
    article = session.scalar(select(Article).where(Article.status_id == status.id))
    if article is not None:
        delete_article(session, ctx, author, article)
    else:
        delete_status(session, ctx, author, status)
    left = [s for s in posts if s.local and s.deleted_at is None and s.id != status.id]
    details: dict[str, Any] = {"post": status.uri, "author": f"@{author.username}"}
    if not left and not report.resolved:
        _resolve(report, by, "removed")
        details["resolved"] = True
    audit.record(session, by.username, by.role, "report.remove_post", audit_target(report),
                 details)
    return status


def suspend(session: Session, ctx: PublishContext, by: By, report: Report,
            reason: str = "") -> Report:
    """Suspend the reported member (the console's suspension: no login, tokens refused,
    posts hidden, linked hubs told) and resolve the report."""
    _open(report)
    _user, target = _local_target(session, report)
    reason = reason.strip()[:MAX_MESSAGE] or report.comment[:MAX_MESSAGE]
    try:
        membership.suspend(session, ctx, by, target.username, reason)
    except MembershipError as exc:
        raise ReportError(exc.code, exc.en, exc.fr) from None
    _resolve(report, by, "suspended")
    audit.record(session, by.username, by.role, "report.suspend", audit_target(report),
                 {"member": f"@{target.username}"})
    return report


def flag_document(ctx: PublishContext, report: Report, target: Actor) -> dict[str, Any]:
    return {"@context": AS, "id": f"{ctx.urls.instance_actor}/flags/{report.id}",
            "type": "Flag", "actor": ctx.urls.instance_actor, "content": report.comment,
            "object": [target.uri, *report.status_uris]}


def forward(session: Session, ctx: PublishContext, by: By, report: Report) -> Report:
    """Send the report to the reported account's hub as a Flag of our instance actor,
    signed, to that hub's shared inbox. It does not resolve the report here."""
    target = session.get(Actor, report.target_actor_id) if report.target_actor_id else None
    if target is None or target.local:
        raise ReportError("local", "Only a report about a member of another hub can be "
                          "forwarded", "Seul un signalement sur un membre d'un autre hub peut "
                          "être transmis")
    if report.forwarded_at is not None:
        raise ReportError("forwarded", "This report was already forwarded",
                          "Ce signalement a déjà été transmis")
    if report.origin_domain == target.domain:
        raise ReportError("from_there", "This report came from that hub",
                          "Ce signalement vient de ce hub")
    inbox = target.shared_inbox or target.inbox
    if not inbox or not ctx.is_allowed(target.domain):
        raise ReportError("not_linked", f"{target.domain} is not a hub linked with this one",
                          f"{target.domain} n'est pas un hub lié à celui-ci")
    me = ensure_instance_actor(session, ctx.settings)
    row = publish(session, ctx, me, flag_document(ctx, report, target), federate=False)
    if enqueue_deliveries(session, row, [inbox]):
        session.info.setdefault("after_commit", []).append(ctx.wake)
    report.forwarded_at = utcnow()
    audit.record(session, by.username, by.role, "report.forward", audit_target(report),
                 {"to": target.domain, "member": f"@{target.handle}"})
    return report
