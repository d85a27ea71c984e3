"""``POST /api/v1/reports``: a member reports an account (and some of its posts) to the
hub's moderators, who see it in the console (``fedi.services.reports``).

Parameters as Mastodon takes them (https://docs.joinmastodon.org/methods/reports/):
``account_id``, ``status_ids[]``, ``comment``, ``category``, ``rule_ids[]``, ``forward``.
Unlike Mastodon, an unknown or unreadable status is refused rather than dropped, so that a
member never believes they reported a post the moderators will not get; ``forward`` is a
request that a moderator grants (the Flag leaves when they forward it).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.routing import Route

from fedi.api.auth import Call, endpoint
from fedi.api.errors import ApiError
from fedi.api.params import parse_id
from fedi.convert.model_to_api import iso
from fedi.models import Actor, Report, Status
from fedi.services.accounts import INSTANCE_USERNAME
from fedi.services.hub_rules import hub_rules
from fedi.services.reports import (
    ACCOUNT_TYPES,
    CATEGORIES,
    MAX_COMMENT,
    MAX_STATUSES,
    ReportError,
    file_report,
)
from fedi.services.timelines import find_visible


def report_entity(call: Call, report: Report, target: Actor) -> dict[str, Any]:
    """The Report entity (https://docs.joinmastodon.org/entities/Report/)."""
    ids = {uri: status_id for uri, status_id in call.session.execute(
        select(Status.uri, Status.id).where(Status.uri.in_(report.status_uris or [""])))}
    return {"id": str(report.id), "action_taken": report.resolved,
            "action_taken_at": iso(report.resolved_at) if report.resolved_at else None,
            "category": report.category, "comment": report.comment,
            "forwarded": report.forwarded_at is not None, "created_at": iso(report.created_at),
            "status_ids": [str(ids[u]) for u in report.status_uris if u in ids],
            "rule_ids": list(report.rule_ids) if report.rule_ids else None,
            "target_account": call.render.account(target)}


def _target(call: Call) -> Actor:
    if not call.params.has("account_id"):
        raise ApiError(422, "account_id is missing: say which account you report")
    target_id = call.params.id("account_id")
    target = call.session.get(Actor, target_id) if target_id else None
    if (target is None or target.deleted_at is not None or target.type not in ACCOUNT_TYPES
            or (target.local and target.username == INSTANCE_USERNAME)):
        raise ApiError(422, "account_id is not an account you can report")
    if target.id == call.actor.id:
        raise ApiError(422, "You cannot report yourself")
    return target


def _statuses(call: Call, target: Actor) -> list[Status]:
    out: list[Status] = []
    for raw in call.params.list("status_ids", max_items=MAX_STATUSES):
        status_id = parse_id(raw)
        status = (find_visible(call.session, call.actor, call.render.linked, status_id)
                  if status_id is not None else None)
        if status is None:
            raise ApiError(422, f"status_ids: {raw[:40]} is not a post you can see")
        if status.actor_id != target.id:
            raise ApiError(422, f"status_ids: {raw[:40]} is not a post of the reported account")
        out.append(status)
    return out


def _rules(call: Call) -> list[str]:
    known = {rule_id for rule_id, _text, _hint in hub_rules(call.session)}
    wanted = list(dict.fromkeys(call.params.list("rule_ids", max_items=len(known) + 10)))
    for rule_id in wanted:
        if rule_id not in known:
            raise ApiError(422, f"rule_ids: {rule_id[:40]} is not a rule of this hub")
    return wanted


async def create_report(call: Call) -> Any:
    p = call.params
    target = _target(call)
    statuses = _statuses(call, target)
    comment = p.str("comment", "", max_len=MAX_COMMENT) or ""
    category = (p.str("category", "", max_len=32) or "other").strip().lower()
    if category not in CATEGORIES:
        raise ApiError(422, "category must be one of spam, violation, legal or other")
    rule_ids = _rules(call)
    forward = p.bool("forward", False)
    try:
        row = file_report(call.session, call.actor, target, statuses, comment=comment.strip(),
                          category=category, rule_ids=rule_ids, forward=forward)
    except ReportError as exc:
        raise ApiError(422, exc.en) from None
    return report_entity(call, row, target)


routes = [
    Route("/api/v1/reports", endpoint("write:reports")(create_report), methods=["POST"]),
    Route("/api/v1/reports/", endpoint("write:reports")(create_report), methods=["POST"]),
]
