"""``voisins reports list|resolve``: the console's reports, for scripts. Resolving closes a
report without acting on the member (the console's "close"), written to the audit log as
done on the command line. Messages in French or English by the locale (fedi.cli_language).

Layer 7 like ``fedi.cli``: what it uses of lower layers is imported when the command runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from fedi import cli_language
from fedi.i18n import N_, translate


def add_reports_parser(sub: Any) -> None:
    """The ``reports`` sub-command, added to ``voisins``'s parser."""
    reports = sub.add_parser("reports", help=N_("reports from members and linked hubs"))
    actions = reports.add_subparsers(dest="action", required=True)
    p = actions.add_parser("list", help=N_("open reports, newest first"))
    p.add_argument("--resolved", action="store_true", help=N_("resolved reports instead"))
    p.add_argument("--all", action="store_true", help=N_("open and resolved reports"))
    p.set_defaults(func=cmd_reports)
    p = actions.add_parser("resolve", help=N_("close a report without action"))
    p.add_argument("id", help=N_("the report's number (voisins reports list)"))
    p.add_argument("--note", default="", help=N_("why (kept in the audit log)"))
    p.set_defaults(func=cmd_reports)


def _line(report: Any, target: Any, reporter: Any, lang: str) -> str:
    about = f"@{target.handle}" if target is not None else "-"
    if report.origin_domain:
        origin = translate(lang, "hub %(domain)s") % {"domain": report.origin_domain}
    elif reporter is not None:
        origin = f"@{reporter.username}"
    else:
        origin = report.reporter_uri
    state = (translate(lang, "resolved") + f" ({report.outcome or '-'})" if report.resolved
             else translate(lang, "open"))
    comment = " ".join(report.comment.split())[:80] or "-"
    return (f"{report.id}\t{report.created_at:%Y-%m-%d %H:%M}\t{about}\t{origin}\t"
            f"{report.category}\t{len(report.status_uris)}\t{state}\t{comment}")


def cmd_reports(args: argparse.Namespace) -> int:
    from fedi.cli import _database
    from fedi.db import transaction
    from fedi.models import Report
    from fedi.services import audit, moderation, reports
    from fedi.services.membership import By
    from fedi.site.page import parse_id

    lang = cli_language.cli_language(os.environ)
    with _database(args) as (_settings, sessions), transaction(sessions) as session:
        if args.action == "list":
            resolved = None if args.all else bool(args.resolved)
            rows = reports.list_reports(session, resolved=resolved, limit=10_000)
            targets = reports.targets_of(session, rows)
            reporters = reports.actors_by_uri(session, [r.reporter_uri for r in rows])
            for row in rows:
                print(_line(row, targets.get(row.target_actor_id or 0),
                            reporters.get(row.reporter_uri), lang))
            if not rows:
                print(translate(lang, "No report."))
            return 0
        report_id = parse_id(args.id)
        report = session.get(Report, report_id) if report_id is not None else None
        if report is None:
            print("voisins: " + translate(lang, "there is no report %(id)s")
                  % {"id": args.id}, file=sys.stderr)
            return 2
        try:
            moderation.dismiss(session, By(audit.SCRIPT, audit.SCRIPT_ROLE), report, args.note)
        except reports.ReportError as exc:
            session.rollback()
            print(f"voisins: {exc.message(lang)}", file=sys.stderr)
            return 2
        print(translate(lang, "Report %(id)s is resolved") % {"id": report.id})
    return 0
