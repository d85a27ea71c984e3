"""``/console/reports``: reports from members and from linked hubs (``Flag``), open or
resolved; one report with the reported posts as far as the moderator may see them
(``fedi.services.reports.shown_posts``), and the actions of ``fedi.services.moderation``:
dismiss, warn, remove a post, suspend, forward. Admins and moderators only."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fedi.console.access import STAFF, by_of, done, page, reading, require_role, writing
from fedi.i18n import N_, translate
from fedi.models import Actor, Report
from fedi.services import moderation, reports
from fedi.services.hub_rules import hub_rules
from fedi.services.reports import ReportError
from fedi.site.page import linked, parse_id, path_id, publish_ctx, read_form
from fedi.site.posts import handle, safe_html
from fedi.web.session import member_of
from fedi.web.state import hub_of
from fedi.web.templating import request_language

PAGE = 100
NOTICES = {
    "dismissed": N_("The report is closed without action."),
    "warned": N_("The warning is on its way to the member."),
    "removed": N_("The post is removed here and on the hubs it was sent to."),
    "suspended": N_("The member is suspended and the report resolved."),
    "forwarded": N_("The report is forwarded to the member's hub."),
}
CATEGORY_LABELS = {"spam": N_("Spam"), "violation": N_("Breaks a rule of the hub"),
                   "legal": N_("Illegal content"), "other": N_("Other")}
OUTCOME_LABELS = {"dismissed": N_("closed without action"), "warned": N_("member warned"),
                  "removed": N_("post removed"), "suspended": N_("member suspended")}


def _labels(lang: str) -> dict[str, Any]:
    return {"categories": {k: translate(lang, v) for k, v in CATEGORY_LABELS.items()},
            "outcomes": {k: translate(lang, v) for k, v in OUTCOME_LABELS.items()}}


@require_role(*STAFF)
async def reports_page(request: Request) -> Response:
    lang = request_language(request)
    state = "resolved" if request.query_params.get("state") == "resolved" else "open"
    before = parse_id(request.query_params.get("before"))
    with reading(request) as session:
        rows = reports.list_reports(session, resolved=state == "resolved", limit=PAGE,
                                    before_id=before)
        targets = reports.targets_of(session, rows)
        reporters = reports.actors_by_uri(session, [r.reporter_uri for r in rows])
        open_count = reports.count_open(session)
    older = rows[-1].id if len(rows) == PAGE else None
    return page(request, "console/reports.html", {
        "nav": "reports", "rows": rows, "targets": targets, "reporters": reporters,
        "state": state, "older": older, "open_count": open_count, "handle": handle,
        **_labels(lang)})


def _report_page(request: Request, report_id: int, error: str | None = None,
                 status: int = 200, values: dict[str, str] | None = None) -> Response:
    lang = request_language(request)
    hub = hub_of(request)
    moderator = member_of(request)
    with reading(request) as session:
        report = session.get(Report, report_id)
        if report is None:
            raise HTTPException(404)
        target = session.get(Actor, report.target_actor_id) if report.target_actor_id else None
        reporter = reports.actors_by_uri(session, [report.reporter_uri]).get(report.reporter_uri)
        viewer = session.get(Actor, moderator.actor.id)
        if viewer is None:
            raise HTTPException(403)
        nb = linked(request)
        posts = reports.shown_posts(session, report, viewer, lambda d: d in nb)
        authors = {p.uri: session.get(Actor, p.status.actor_id) for p in posts
                   if p.status is not None}
        contents = {p.uri: safe_html(p.status.content) for p in posts
                    if p.visible and p.status is not None}
        history = reports.history(session, report)
        rules = {rule_id: text for rule_id, text, _hint in hub_rules(session)}
    notice = NOTICES.get(request.query_params.get("done", ""))
    forwardable = (target is not None and not target.local and report.forwarded_at is None
                   and report.origin_domain != target.domain)
    return page(request, "console/report.html", {
        "nav": "reports", "report": report, "target": target, "reporter": reporter,
        "posts": posts, "contents": contents, "authors": authors, "history": history,
        "rules": [rules.get(r, r) for r in report.rule_ids or []], "handle": handle,
        "member_target": target is not None and target.local, "forwardable": forwardable,
        "max_message": moderation.MAX_MESSAGE, "values": values or {}, "error": error,
        "domain": hub.settings.domain,
        "notice": translate(lang, notice) if notice else None, **_labels(lang)},
        status=status)


@require_role(*STAFF)
async def report_page(request: Request) -> Response:
    return _report_page(request, path_id(request))


async def _act(request: Request, action: str) -> Response:
    report_id = path_id(request)
    form = await read_form(request, ("reason", "message", "status_id"),
                           limit=moderation.MAX_MESSAGE + 1)
    lang = request_language(request)
    hub = hub_of(request)
    by = by_of(request)
    try:
        with writing(request) as session:
            report = session.get(Report, report_id)
            if report is None:
                raise HTTPException(404)
            ctx = publish_ctx(hub)
            if action == "dismiss":
                moderation.dismiss(session, by, report, form["reason"])
            elif action == "warn":
                moderation.warn(session, hub.settings, by, report, form["message"])
            elif action == "remove":
                status_id = parse_id(form["status_id"])
                if status_id is None:
                    raise ReportError("post", "Choose the post to remove",
                                      "Choisissez le message à retirer")
                moderation.remove_post(session, ctx, by, report, status_id)
            elif action == "suspend":
                moderation.suspend(session, ctx, by, report, form["reason"])
            else:
                moderation.forward(session, ctx, by, report)
    except ReportError as exc:
        return _report_page(request, report_id, exc.message(lang), 422, form)
    flag = {"dismiss": "dismissed", "warn": "warned", "remove": "removed",
            "suspend": "suspended", "forward": "forwarded"}[action]
    return done(f"/console/reports/{report_id}?done={flag}")


@require_role(*STAFF)
async def dismiss(request: Request) -> Response:
    return await _act(request, "dismiss")


@require_role(*STAFF)
async def warn(request: Request) -> Response:
    return await _act(request, "warn")


@require_role(*STAFF)
async def remove(request: Request) -> Response:
    return await _act(request, "remove")


@require_role(*STAFF)
async def suspend(request: Request) -> Response:
    return await _act(request, "suspend")


@require_role(*STAFF)
async def forward(request: Request) -> Response:
    return await _act(request, "forward")


routes = [
    Route("/console/reports", reports_page, methods=["GET"]),
    Route("/console/reports/{id}", report_page, methods=["GET"]),
    Route("/console/reports/{id}/dismiss", dismiss, methods=["POST"]),
    Route("/console/reports/{id}/warn", warn, methods=["POST"]),
    Route("/console/reports/{id}/remove", remove, methods=["POST"]),
    Route("/console/reports/{id}/suspend", suspend, methods=["POST"]),
    Route("/console/reports/{id}/forward", forward, methods=["POST"]),
]
