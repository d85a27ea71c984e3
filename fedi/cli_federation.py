"""``voisins domains list|allow|block|remove`` and ``voisins deliveries list|retry|discard``:
the console's other servers and dead deliveries, for scripts. Messages in French or English
by locale (``fedi.cli_language``); every change is in the audit log as made on the command
line. Like the other admin verbs they only write to the database: the running
``voisins serve`` (or ``voisins worker``) sees a block at once and sends retried deliveries
on its next poll."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from fedi import cli_language
from fedi.i18n import N_, translate


def _by() -> Any:
    from fedi.services import audit
    from fedi.services.membership import By

    return By(audit.SCRIPT, audit.SCRIPT_ROLE)


def _fail(lang: str, message: str) -> int:
    print(f"voisins: {message}", file=sys.stderr)
    return 2


def cmd_domains(args: argparse.Namespace) -> int:
    from fedi.cli import _cli_context, _database
    from fedi.db import transaction
    from fedi.services import domains

    lang = cli_language.cli_language(os.environ)
    with _database(args) as (settings, sessions):
        if args.action == "list":
            with sessions() as session:
                rows = domains.other_servers(session, settings)
            for row in rows:
                h = row.health
                last = f"{h.last_delivered:%Y-%m-%d %H:%M}" if h.last_delivered else "-"
                decision = (translate(lang, "blocked") if row.policy == "block"
                            else translate(lang, "allowed"))
                print(f"{row.domain}\t{decision}\t{row.source}\t{last}\t{h.failures}\t"
                      f"{h.queued}\t{row.reason}")
            if not rows:
                print(translate(lang, "No other server is allowed or blocked."))
            return 0
        try:
            domain = domains.clean_domain(args.domain, settings.domain)
            with transaction(sessions) as session:
                if args.action == "allow":
                    domains.allow(session, _by(), domain, args.reason or "")
                    print(translate(lang, "%(domain)s is allowed") % {"domain": domain})
                elif args.action == "block":
                    out = domains.block(session, _cli_context(settings, sessions), _by(), domain,
                                        args.reason or "")
                    print(translate(lang, "%(domain)s is blocked (%(dropped)s deliveries dropped, "
                                    "%(follows)s follows removed)")
                          % {"domain": domain, "dropped": out.dropped_deliveries,
                             "follows": out.removed_follows})
                else:
                    before = domains.remove(session, _by(), domain)
                    message = (translate(lang, "%(domain)s is no longer blocked")
                               if before == "block"
                               else translate(lang, "%(domain)s is no longer allowed"))
                    print(message % {"domain": domain})
        except domains.DomainError as exc:
            return _fail(lang, exc.message(lang))
    return 0


def cmd_deliveries(args: argparse.Namespace) -> int:
    from fedi.cli import _database
    from fedi.config import normalize_domain
    from fedi.db import transaction
    from fedi.services import dead_letters

    lang = cli_language.cli_language(os.environ)
    domain = None
    if args.domain:
        try:
            domain = normalize_domain(args.domain)
        except ValueError:
            return _fail(lang, translate(lang, "This is not a domain name."))
    with _database(args) as (_settings, sessions):
        if args.action == "list":
            with sessions() as session:
                rows = dead_letters.dead_letters(session, domain, limit=10_000)
            for r in rows:
                print(f"{r.id}\t{r.domain}\t{r.activity_type}\t{r.created_at:%Y-%m-%d %H:%M}\t"
                      f"{r.attempts}\t{r.last_error}")
            if not rows:
                print(translate(lang, "No dead delivery."))
            return 0
        if (args.id is None) == (domain is None):
            return _fail(lang, translate(lang, "Give a delivery number or --domain, not both."))
        with transaction(sessions) as session:
            if args.action == "retry":
                count, _domains = dead_letters.retry(session, _by(), delivery_id=args.id,
                                                     domain=domain)
                if count:
                    print(translate(lang, "%(n)s deliveries are back in the queue") % {"n": count})
                    return 0
            else:
                count = dead_letters.discard(session, _by(), delivery_id=args.id, domain=domain)
                if count:
                    print(translate(lang, "%(n)s deliveries discarded") % {"n": count})
                    return 0
    return _fail(lang, translate(lang, "There was no dead delivery to act on."))


def add_parsers(sub: Any) -> None:
    """The two commands, on ``voisins``'s sub-command table (help texts marked for Babel)."""
    dm = sub.add_parser("domains", help=N_("other servers: allow or block a domain"))
    actions = dm.add_subparsers(dest="action", required=True)
    p = actions.add_parser("list", help=N_("allowed and blocked domains, with delivery health"))
    p.set_defaults(func=cmd_domains)
    for action, text in (("allow", N_("let a fediverse server in (individual follows only)")),
                         ("block", N_("block a domain: nothing in or out, its follows removed"))):
        p = actions.add_parser(action, help=text)
        p.add_argument("domain", metavar="DOMAIN")
        p.add_argument("--reason", help=N_("why (for the admins and the audit log)"))
        p.set_defaults(func=cmd_domains)
    p = actions.add_parser("remove", help=N_("unblock a domain, or stop allowing it"))
    p.add_argument("domain", metavar="DOMAIN")
    p.set_defaults(func=cmd_domains)

    dl = sub.add_parser("deliveries", help=N_("dead deliveries: list, retry, discard"))
    actions = dl.add_subparsers(dest="action", required=True)
    p = actions.add_parser("list", help=N_("deliveries that gave up, newest first"))
    p.add_argument("--domain", help=N_("only those to this domain"))
    p.set_defaults(func=cmd_deliveries, id=None)
    for action, text in (("retry", N_("send dead deliveries again (attempts reset)")),
                         ("discard", N_("forget dead deliveries"))):
        p = actions.add_parser(action, help=text)
        p.add_argument("id", metavar="ID", nargs="?", type=int,
                       help=N_("a delivery number (from the list)"))
        p.add_argument("--domain", help=N_("every dead delivery to this domain"))
        p.set_defaults(func=cmd_deliveries)
