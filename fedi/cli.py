"""The ``voisins`` command: init, migrate, serve, worker, users, neighbours, applications,
invites, trades, settings, quickstart."""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

from fedi import cli_federation, cli_language
from fedi.config import (
    DEFAULT_CONFIG_PATH,
    ConfigError,
    Settings,
    domain_port,
    load_settings,
    normalize_domain,
    render_config,
)
from fedi.db import make_engine, make_sessionmaker, transaction
from fedi.i18n import translate_text
from fedi.migrate import upgrade
from fedi.models import Actor, Neighbour, User
from fedi.services.accounts import ROLES, AccountError, create_user

if TYPE_CHECKING:
    from fedi.web.state import Hub


class CommandError(Exception):
    """A command cannot do what was asked; the message is shown as one line."""


def _settings(args: argparse.Namespace) -> Settings:
    from fedi.mail.settings import mail_settings
    from fedi.services.accounts import use_password_settings

    settings = load_settings(args.config)
    mail_settings(settings.extra)  # a wrong [email] key stops here, with its name
    use_password_settings(settings)
    return settings


def _schema_is_current(settings: Settings) -> bool:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from fedi.migrate import alembic_config

    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_heads()
        head = ScriptDirectory.from_config(alembic_config(settings.database_url)).get_heads()
        return set(current) == set(head)
    except (OperationalError, ProgrammingError) as exc:
        raise CommandError(f"cannot open the database {settings.database_url}: {exc.orig}") from None
    finally:
        engine.dispose()


def cmd_init(args: argparse.Namespace) -> int:
    path = Path(args.config or DEFAULT_CONFIG_PATH)
    if path.exists() and not args.force:
        raise CommandError(f"{path} already exists (use --force to replace it)")
    try:
        domain = normalize_domain(args.domain)
    except ValueError as exc:
        raise CommandError(f"--domain: {exc}") from None
    territory = [c.strip() for c in (args.territory or "").split(",") if c.strip()]
    text = render_config(
        domain=domain,
        name=args.name or domain,
        scheme=args.scheme,
        territory=territory,
        database_url=args.database_url,
        allow_http=args.allow_http,
        allow_private_addresses=args.allow_private_addresses,
        port=args.port or domain_port(domain) or 8000,  # --port, else the domain's, else 8000
    )
    path.write_text(text, encoding="utf-8")
    load_settings(str(path))  # validate what we wrote (territory codes, …)
    print(f"wrote {path}")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = _settings(args)
    try:
        upgrade(settings.database_url)
    except (OperationalError, ProgrammingError) as exc:
        raise CommandError(f"cannot migrate {settings.database_url}: {exc.orig}") from None
    print("database is up to date")
    return 0


def _require_schema(settings: Settings) -> None:
    if not _schema_is_current(settings):
        raise CommandError("the database schema is not current: run `voisins migrate` first")


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn
    from uvicorn.config import LOGGING_CONFIG

    from fedi.app import create_app
    from fedi.redaction import serve_log_config

    settings = _settings(args)
    workers = getattr(args, "workers", None) or 1
    if workers < 1:
        raise CommandError("--workers: at least 1")
    if workers > 1 and not settings.database_url.startswith("postgresql"):
        raise CommandError("--workers above 1 needs PostgreSQL: SQLite has one writer and "
                           "streams within one process (run one `voisins serve`)")
    _require_schema(settings)
    host = args.host or settings.host
    port = args.port or settings.port
    scheme = "https" if settings.tls_cert else "http"
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "ssl_certfile": settings.tls_cert,
        "ssl_keyfile": settings.tls_key,
        "log_level": args.log_level,
        "log_config": serve_log_config(LOGGING_CONFIG, args.log_level),  # no token in a log line
        "access_log": False,
        "server_header": False,
        # uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise: only the
        # proxies of server.forwarded_allow_ips are (none by default).
        "proxy_headers": bool(settings.forwarded_allow_ips),
        "forwarded_allow_ips": ",".join(settings.forwarded_allow_ips) or "",
        "ws_ping_interval": 15.0,  # streaming sockets: keeps proxies from closing idle ones
    }
    if workers > 1:  # N web processes on one port, and one worker process (fedi.cli_serve)
        from fedi.cli_serve import serve_processes

        print(f"serving {settings.name} ({settings.base_url}) on {scheme}://{host}:{port} "
              f"with {workers} web processes", flush=True)
        config = args.config or os.environ.get("VOISINS_CONFIG") or (
            DEFAULT_CONFIG_PATH if Path(DEFAULT_CONFIG_PATH).exists() else None)
        return serve_processes(settings, config, workers, options)
    app = create_app(settings)
    print(f"serving {settings.name} ({settings.base_url}) on {scheme}://{host}:{port}", flush=True)
    uvicorn.run(app, **options)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    import asyncio

    from fedi.worker_main import run_workers

    settings = _settings(args)
    _require_schema(settings)
    asyncio.run(run_workers(settings))
    return 0


def cmd_users_create(args: argparse.Namespace) -> int:
    from fedi.services.accounts_profile import announce_new_member

    settings = _settings(args)
    _require_schema(settings)
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    try:
        with transaction(sessions) as session:
            user = create_user(
                session, settings, args.username, email=args.email, password=args.password,
                role=args.role,
            )
            actor = session.get(Actor, user.actor_id)
            assert actor is not None
            announce_new_member(session, _cli_context(settings, sessions), actor.id)
            print(f"created {args.role} @{actor.username}@{settings.domain} ({actor.uri})")
    except AccountError as exc:
        raise CommandError(f"{exc.field}: {exc}") from None
    finally:
        engine.dispose()
    return 0


def cmd_users_totp_off(args: argparse.Namespace) -> int:
    """``voisins users totp-off USERNAME``: turn a member's two-step sign-in off (a lost
    phone), so they log in with their password again; in the audit log."""
    from fedi.i18n import translate
    from fedi.services import audit, membership, second_factor

    lang = cli_language.cli_language(os.environ)
    with _database(args) as (_settings, sessions), transaction(sessions) as session:
        try:
            user, actor = membership.find_member(session, args.username)
        except membership.MembershipError as exc:
            print(f"voisins: {exc.message(lang)}", file=sys.stderr)
            return 2
        second_factor.disable(session, user)
        audit.record(session, audit.SCRIPT, audit.SCRIPT_ROLE, "member.totp_off",
                     f"@{actor.username}")
        print(translate(lang, "Two-step sign-in of @%(name)s is off")
              % {"name": actor.username})
    return 0


def cmd_users_manage(args: argparse.Namespace) -> int:
    """``voisins users list|suspend|reinstate|delete|role``: the console's services, for scripts
    (every change goes to the audit log as made on the command line)."""
    from fedi.i18n import translate
    from fedi.services import audit, membership

    lang = cli_language.cli_language(os.environ)
    by = membership.By(audit.SCRIPT, audit.SCRIPT_ROLE)
    with _database(args) as (settings, sessions), transaction(sessions) as session:
        if args.action == "list":
            rows = membership.search_members(session, membership.MemberFilter(
                q=args.search or "", role=args.role or "", status=args.status or "",
                trade=args.trade or "", postal_code=args.postal_code or ""), limit=10_000)
            for user, actor in rows:
                state = "suspended" if user.disabled else "active"
                print(f"@{actor.username}\t{user.role}\t{translate(lang, state)}\t"
                      f"{actor.trade or '-'}\t{actor.postal_code or '-'}\t{user.email}")
            if not rows:
                print(translate(lang, "No member matches these filters."))
            return 0
        try:
            if args.action == "suspend":
                ctx = _cli_context(settings, sessions)
                membership.suspend(session, ctx, by, args.username, args.reason or "")
                print(translate(lang, "@%(name)s is suspended") % {"name": args.username})
            elif args.action == "delete":
                from fedi.services.erasure import request_deletion

                user, actor = membership.find_member(session, args.username)
                row = request_deletion(session, _cli_context(settings, sessions), by, user,
                                       actor)
                if args.reason:
                    audit.record(session, by.username, by.role, "member.delete.reason",
                                 f"@{actor.username}", {"reason": args.reason[:2000]})
                if row.erased_at is not None:
                    print(translate(lang, "@%(name)s is deleted; their data is erased")
                          % {"name": actor.username})
                else:
                    print(translate(lang, "@%(name)s is deleted; their data will be erased on "
                                          "%(date)s") % {"name": actor.username,
                                                         "date": row.erase_after.date().isoformat()})
            elif args.action == "reinstate":
                membership.reinstate(session, _cli_context(settings, sessions), by,
                                     args.username)
                print(translate(lang, "@%(name)s is reinstated") % {"name": args.username})
            else:
                membership.set_role(session, by, args.username, args.role)
                print(translate(lang, "@%(name)s is now %(role)s")
                      % {"name": args.username, "role": args.role})
        except membership.MembershipError as exc:
            session.rollback()
            print(f"voisins: {exc.message(lang)}", file=sys.stderr)
            return 2
    return 0


@contextmanager
def _database(args: argparse.Namespace) -> Iterator[tuple[Settings, sessionmaker[Session]]]:
    """Settings and sessions for an admin command, on a migrated database."""
    settings = _settings(args)
    _require_schema(settings)
    engine = make_engine(settings.database_url)
    try:
        yield settings, make_sessionmaker(engine)
    finally:
        engine.dispose()


def _cli_context(settings: Settings, sessions):  # type: ignore[no-untyped-def]
    """A publish context for commands: activities are queued in the database and the
    running ``voisins serve`` (or ``voisins worker``) sends them on its next poll."""
    from fedi.ids import Urls
    from fedi.peers import Peers
    from outbox.context import PublishContext

    peers = Peers(settings, sessions)
    return PublishContext(settings=settings, urls=Urls(settings.base_url),
                          is_allowed=peers.is_allowed, linked_domains=peers.allowed)


def cmd_neighbours(args: argparse.Namespace) -> int:
    """Link, approve, refuse or unlink hubs. The command only writes to the database (the
    link state and the queued Follow/Accept/Reject/Undo); the serve process's delivery
    worker sends them within about half a second, or when it next starts."""
    from fedi.services import neighbours, trust

    with _database(args) as (settings, sessions):
        with transaction(sessions) as session:
            trust.drop_expired(session, settings)  # an expired request is no longer waiting
        if args.action == "list":
            with sessions() as session:
                rows = session.scalars(select(Neighbour).order_by(Neighbour.domain)).all()
            shown = [r for r in rows if args.all or r.state not in neighbours.ENDED]
            for domain in settings.neighbours:
                print(f"{domain}\tconfigured")
            for row in shown:
                territory = ",".join(row.territory or [])
                print(f"{row.domain}\t{row.state}\t{row.source}\t{territory}")
            if not shown and not settings.neighbours:
                print("no neighbours yet (voisins neighbours add DOMAIN)")
            return 0
        try:
            domain = normalize_domain(args.domain or "")
        except ValueError as exc:
            raise CommandError(f"DOMAIN: {exc}") from None
        if domain == settings.domain:
            raise CommandError(f"{domain} is this hub itself")
        ctx = _cli_context(settings, sessions)
        with transaction(sessions) as session:
            row = neighbours.find_row(session, domain)
            before = row.state if row is not None else None
            try:
                if args.action in ("add", "approve"):
                    if before == "linked":
                        print(f"{domain} is already a neighbour (linked)")
                        return 0
                    if args.action == "approve" and before != "pending":
                        raise CommandError(f"{domain} has no link request waiting")
                    neighbours.request_link(session, ctx, domain, source="admin")
                    what = "approved" if before == "pending" else "added"
                    print(f"{what} {domain} (link requested; linked once both hubs accept)")
                elif args.action == "refuse":
                    neighbours.refuse_request(session, ctx, domain)
                    print(f"refused {domain}")
                else:
                    neighbours.unlink(session, ctx, domain)
                    print(f"removed {domain}")
            except neighbours.LinkError as exc:
                raise CommandError(str(exc)) from None
    return 0


def _print_application(app) -> None:  # type: ignore[no-untyped-def]
    print(f"{app.id}\t{app.state}\t@{app.username}\t{app.email}\t{app.trade}\t"
          f"{app.postal_code} ({app.relation})\t{app.created_at:%Y-%m-%d}")


def cmd_applications(args: argparse.Namespace) -> int:
    from fedi.services import registration
    from fedi.services.accounts_profile import announce_new_member

    with _database(args) as (settings, sessions), transaction(sessions) as session:
        if args.action == "list":
            states = (("pending", "waitlisted", "approved", "refused") if args.all
                      else ("pending", "waitlisted"))
            rows = registration.list_applications(session, states)
            for app in rows:
                _print_application(app)
            if not rows:
                print("no applications waiting")
            return 0
        try:
            app = registration.find_application(session, args.ref)
            if args.action == "approve":
                user = registration.approve(session, settings, app, force=args.force)
                announce_new_member(session, _cli_context(settings, sessions), user.actor_id)
                print(f"approved @{app.username}: the account is ready")
            else:
                registration.refuse(session, app, args.reason or "", settings=settings)
                print(f"refused @{app.username}")
        except registration.ApplicationError as exc:
            raise CommandError(str(exc)) from None
    return 0


def cmd_invites(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from fedi.ids import Urls
    from fedi.services import invites

    with _database(args) as (settings, sessions):
        urls = Urls(settings.base_url)

        def member(name: str) -> User:
            user = invites.user_by_username(session, name)
            if user is None:
                raise CommandError(f"there is no member @{name.lstrip('@')}")
            return user

        with transaction(sessions) as session:
            try:
                if args.action == "create":
                    inviter = member(args.user) if args.user else None
                    invite = invites.create_invite(
                        session, inviter, max_uses=None if args.unlimited else args.uses,
                        lifetime=timedelta(days=args.days) if args.days else None,
                        note=args.note or "")
                    expiry = f"{invite.expires_at:%Y-%m-%d %H:%M} UTC" if invite.expires_at else "never"
                    print(f"{urls.base}/invite/{invite.code}")
                    print(f"uses: {invite.max_uses or 'unlimited'}, expires: {expiry}")
                elif args.action == "list":
                    inviter_id = member(args.user).id if args.user else None
                    for invite in invites.list_invites(session, inviter_id):
                        print(f"{invite.code}\t{invites.invite_state(invite)}\t"
                              f"@{invite.inviter_username or '(admin)'}\t"
                              f"{invite.uses}/{invite.max_uses or '∞'}\t{invite.note}")
                    if inviter_id is not None:
                        for app in invites.applications_of_sponsor(session, inviter_id):
                            print(f"  application @{app.username}: {app.state}")
                elif args.action == "revoke":
                    invites.revoke(session, args.code)
                    print(f"revoked {args.code}")
                else:  # tree
                    user = member(args.user)
                    chain = invites.sponsor_chain(session, user.id)
                    print("invited by: " + (" ← ".join(f"@{e.username}" for e in chain)
                                            or "nobody (founder or admin-made)"))
                    for entry in invites.invited_by(session, user.id):
                        print(f"{'  ' * entry.depth}@{entry.username}")
            except invites.InviteError as exc:
                raise CommandError(str(exc)) from None
    return 0


def cmd_trades(args: argparse.Namespace) -> int:
    from fedi.services import trades

    with _database(args) as (_, sessions), transaction(sessions) as session:
        try:
            if args.action == "list":
                rule = "on" if trades.rule_is_on(session) else "off"
                print(f"one member per trade: {rule}")
                for t in trades.list_trades(session):
                    taken = ", ".join(f"@{n}" for n in trades.holders(session, t.slug))
                    mark = "" if t.exclusive else " (open)"
                    print(f"{t.slug}\t{t.label_fr}\t{t.label_en}{mark}\t{taken}")
            elif args.action == "add":
                row = trades.add_trade(session, args.label, args.en, slug=args.slug,
                                       exclusive=not args.open)
                print(f"added {row.slug}")
            elif args.action == "remove":
                row = trades.remove_trade(session, args.slug)
                print(f"removed {row.slug} (members who chose it keep it)")
            else:  # rule
                crowded = trades.set_trade_rule(session, args.state == "on")
                print(f"one member per trade: {args.state}")
                for item in crowded:
                    names = ", ".join(f"@{n}" for n in item.members)
                    print(f"already several in {item.slug}: {names} (nobody is removed)")
        except trades.TradeError as exc:
            raise CommandError(str(exc)) from None
    return 0


def cmd_mail(args: argparse.Namespace) -> int:
    """``voisins mail list``: messages not sent yet (and given up), with their links, so an
    admin of a hub without ``[email]`` can pass them on by hand."""
    from fedi.mail.queue import links_in, waiting

    statuses = ("pending", "failed", "sent") if args.all else ("pending", "failed")
    with _database(args) as (_settings, sessions), sessions() as session:
        rows = waiting(session, statuses)
        for row in rows:
            print(f"{row.id}\t{row.status}\t{row.created_at:%Y-%m-%d %H:%M}\t{row.recipient}\t"
                  f"{row.language}\t{row.kind}\t{row.subject}")
            for link in links_in(row.text):
                print(f"\t{link}")
            if row.last_error:
                print(f"\t({row.attempts}) {row.last_error}")
        if not rows:
            print("no mail waiting")
    return 0


def cmd_settings(args: argparse.Namespace) -> int:
    from fedi.services.hub_settings import SPECS, SettingError, all_settings, set_setting

    with _database(args) as (_, sessions), transaction(sessions) as session:
        if args.action == "list":
            for key, value in all_settings(session).items():
                shown = ("on" if value else "off") if isinstance(value, bool) else value
                print(f"{key}\t{shown}\t{SPECS[key].help_en}")
            return 0
        try:
            value = set_setting(session, args.key, args.value)
        except SettingError as exc:
            raise CommandError(f"{args.key}: {exc}") from None
        shown = ("on" if value else "off") if isinstance(value, bool) else value
        print(f"{args.key} = {shown}")
    return 0


def cmd_quickstart(args: argparse.Namespace) -> int:
    """Init (if needed), migrate, make an admin, serve: the README's first command."""
    path = Path(args.config or DEFAULT_CONFIG_PATH)
    if not path.exists():
        port = args.port or 8000
        path.write_text(
            render_config(domain=f"127.0.0.1:{port}", name="Voisins (local)", scheme="http",
                          territory=["75011"], database_url="sqlite:///voisins.db", port=port),
            encoding="utf-8",
        )
        print(f"wrote {path}")
    args.config = str(path)
    settings = _settings(args)
    _check_quickstart_port(settings, args.port)
    args.port = args.port or domain_port(settings.domain)  # a local hub listens where its ids say
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            has_admin = session.scalar(select(User.id).where(User.role == "admin").limit(1))
            if has_admin is None:
                password = secrets.token_urlsafe(12)
                create_user(session, settings, "admin", email="admin@example.org",
                            password=password, role="admin")
                print("admin login: admin@example.org / " + password, flush=True)
            else:
                print("admin account exists (voisins users create … to add another)", flush=True)
    finally:
        engine.dispose()
    args.host = args.host or "127.0.0.1"
    return cmd_serve(args)


def _check_quickstart_port(settings: Settings, port: int | None) -> None:
    """An existing local hub's ids carry its port: serving on another one breaks them."""
    written = domain_port(settings.domain)
    if port is not None and written is not None and port != written:
        raise CommandError(
            f"hub.domain is {settings.domain} in {settings.config_path}, so the hub must listen "
            f"on port {written}, not {port}: drop --port, or start again in an empty folder")


def cmd_backup(args: argparse.Namespace) -> int:
    """SQLite's online backup of the hub's database into a new file, hub running or not."""
    from fedi.backup import BackupError, backup_sqlite

    settings = _settings(args)
    try:
        size = backup_sqlite(settings.database_url, Path(args.path))
    except BackupError as exc:
        raise CommandError(str(exc)) from None
    print(f"wrote {args.path} ({size} bytes)")
    return 0


def _federated(args: argparse.Namespace, what: str,
               work: Callable[[Hub], Awaitable[dict[str, Any]]]) -> int:
    """Run ``work`` with this hub's signer and guarded client; print its JSON answer."""
    import asyncio
    import json

    from fedi.app import build_hub, start_federation, stop_federation
    from fedi.http import RemoteError

    settings = _settings(args)
    _require_schema(settings)
    hub = build_hub(settings)

    async def run() -> dict[str, Any]:
        await start_federation(hub)
        try:
            return await work(hub)
        finally:
            await stop_federation(hub)

    try:
        print(json.dumps(asyncio.run(run()), ensure_ascii=False))
    except RemoteError as exc:
        raise CommandError(f"cannot {what}: {exc}") from None
    return 0


def cmd_lookup(args: argparse.Namespace) -> int:
    """Resolve a remote member through WebFinger and a signed fetch, and store them."""
    from fedi.webfinger import lookup

    async def work(hub: Hub) -> dict[str, Any]:
        assert hub.fetcher is not None and hub.resolver is not None
        target = args.target
        if "@" in target and not target.startswith(("http://", "https://")):
            target = await lookup(hub.fetcher, target, scheme=hub.settings.scheme)
        actor = await hub.resolver.actor(target, refresh=True)
        return {"id": actor.uri, "username": actor.username, "domain": actor.domain,
                "name": actor.display_name, "locked": actor.locked,
                "trade": actor.trade, "key_id": actor.key_id}

    return _federated(args, f"resolve {args.target}", work)


def cmd_fetch(args: argparse.Namespace) -> int:
    """Signed GET of any ActivityPub URL on a linked hub, as this hub's instance actor."""

    async def work(hub: Hub) -> dict[str, Any]:
        assert hub.fetcher is not None
        return await hub.fetcher.fetch_object(args.url, signer=hub.signer)

    return _federated(args, f"fetch {args.url}", work)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="voisins", description="Voisins neighbourhood hub")
    parser.add_argument("--config", help="TOML config file (default: $VOISINS_CONFIG or voisins.toml)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("init", help="write a config file with a fresh secret")
    p.add_argument("--domain", required=True, help="host[:port] used in every id")
    p.add_argument("--name", help="the hub's name")
    p.add_argument("--scheme", choices=["https", "http"], default="https")
    p.add_argument("--territory", help="postal codes, comma-separated (e.g. 75011)")
    p.add_argument("--database-url", default="sqlite:///voisins.db")
    p.add_argument("--allow-http", action="store_true", help="(testing) peers over plain http")
    p.add_argument("--allow-private-addresses", action="store_true",
                   help="(testing) peers on loopback or private addresses")
    p.add_argument("--force", action="store_true", help="replace an existing file")
    p.add_argument("--port", type=int, help="server.port (default: the domain's port, else 8000)")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("migrate", help="create or upgrade the database schema")
    p.set_defaults(func=cmd_migrate)

    for name, func, text in (("serve", cmd_serve, "run the web server and an in-process worker"),
                             ("quickstart", cmd_quickstart, "init, migrate, create an admin, serve")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--host", default=None)
        p.add_argument("--port", type=int, default=None,
                       help="default: server.port (quickstart: 8000 for a new hub)")
        p.add_argument("--log-level", default="warning")
        if name == "serve":
            p.add_argument("--workers", type=int, default=1,
                           help="web processes (PostgreSQL only; background jobs then run in "
                           "one worker process)")
        p.set_defaults(func=func)

    p = sub.add_parser("worker", help="run the inbox and delivery workers only")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("backup", help="copy a SQLite database while the hub runs")
    p.add_argument("path", metavar="PATH", help="a new file")
    p.set_defaults(func=cmd_backup)

    users = sub.add_parser("users", help="manage members").add_subparsers(dest="action", required=True)
    p = users.add_parser("create", help="create a member")
    p.add_argument("username")
    p.add_argument("--email", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--role", choices=ROLES, default="member")
    p.set_defaults(func=cmd_users_create)
    p = users.add_parser("totp-off", help="turn a member's two-step sign-in (TOTP) off")
    p.add_argument("username")
    p.set_defaults(func=cmd_users_totp_off)
    p = users.add_parser("list", help="list members (filters: --search, --role, --status, ...)")
    p.add_argument("--search", help="text in the username, name or email")
    p.add_argument("--role", choices=ROLES)
    p.add_argument("--status", choices=("active", "suspended"))
    p.add_argument("--trade", help="a trade category's slug")
    p.add_argument("--postal-code", dest="postal_code", help="postal code (or its beginning)")
    p.set_defaults(func=cmd_users_manage)
    p = users.add_parser("suspend", help="suspend a member (no login, posts hidden)")
    p.add_argument("username")
    p.add_argument("--reason", help="why (kept in the audit log)")
    p.set_defaults(func=cmd_users_manage)
    p = users.add_parser("delete", help="delete a member's account (Delete sent, data erased "
                         "after the grace period, username reserved)")
    p.add_argument("username")
    p.add_argument("--reason", help="why (kept in the audit log)")
    p.set_defaults(func=cmd_users_manage)
    p = users.add_parser("reinstate", help="lift a member's suspension")
    p.add_argument("username")
    p.set_defaults(func=cmd_users_manage)
    p = users.add_parser("role", help="change a member's role")
    p.add_argument("username")
    p.add_argument("role", choices=ROLES)
    p.set_defaults(func=cmd_users_manage)

    from fedi.cli_reports import add_reports_parser

    add_reports_parser(sub)

    nb = sub.add_parser("neighbours", help="linked hubs").add_subparsers(dest="action", required=True)
    for action, text in (("add", "link with a hub (or approve its request)"),
                         ("approve", "approve a hub's waiting link request"),
                         ("refuse", "refuse a hub's waiting link request"),
                         ("remove", "unlink a hub, at once")):
        p = nb.add_parser(action, help=text)
        p.add_argument("domain", metavar="DOMAIN")
        p.set_defaults(func=cmd_neighbours)
    p = sub.add_parser("lookup", help="fetch a member of a linked hub (WebFinger + signed GET)")
    p.add_argument("target", help="user@host or an actor URL")
    p.set_defaults(func=cmd_lookup)

    p = sub.add_parser("fetch", help="signed GET of an ActivityPub URL on a linked hub")
    p.add_argument("url")
    p.set_defaults(func=cmd_fetch)

    p = nb.add_parser("list", help="list neighbours")
    p.add_argument("--all", action="store_true", help="also refused and ended links")
    p.set_defaults(func=cmd_neighbours, domain=None)

    ap = sub.add_parser("applications", help="sign-ups waiting for an admin").add_subparsers(
        dest="action", required=True)
    p = ap.add_parser("list", help="applications waiting (pending or on a trade's waiting list)")
    p.add_argument("--all", action="store_true", help="also decided ones")
    p.set_defaults(func=cmd_applications)
    p = ap.add_parser("approve", help="make the member")
    p.add_argument("ref", metavar="ID_OR_USERNAME")
    p.add_argument("--force", action="store_true", help="even if the trade is taken")
    p.set_defaults(func=cmd_applications)
    p = ap.add_parser("refuse", help="refuse the application")
    p.add_argument("ref", metavar="ID_OR_USERNAME")
    p.add_argument("--reason", help="shown to the applicant")
    p.set_defaults(func=cmd_applications)

    inv = sub.add_parser("invites", help="invite links").add_subparsers(dest="action", required=True)
    p = inv.add_parser("create", help="make an invite link")
    p.add_argument("--user", help="the member who invites (the sponsor)")
    p.add_argument("--uses", type=int, default=1, help="how many sign-ups (default 1)")
    p.add_argument("--unlimited", action="store_true", help="no limit on uses")
    p.add_argument("--days", type=float, default=14, help="valid this many days (default 14)")
    p.add_argument("--note", help="a note for the sponsor")
    p.set_defaults(func=cmd_invites)
    p = inv.add_parser("list", help="invite links (of one member, with their applications)")
    p.add_argument("--user")
    p.set_defaults(func=cmd_invites)
    p = inv.add_parser("revoke", help="withdraw an invite link")
    p.add_argument("code")
    p.set_defaults(func=cmd_invites)
    p = inv.add_parser("tree", help="who invited a member, and whom they invited")
    p.add_argument("user", metavar="USERNAME")
    p.set_defaults(func=cmd_invites)

    tr = sub.add_parser("trades", help="trade categories and the trade rule").add_subparsers(
        dest="action", required=True)
    p = tr.add_parser("list", help="categories and who holds them")
    p.set_defaults(func=cmd_trades)
    p = tr.add_parser("add", help="add a category")
    p.add_argument("label", metavar="LABEL_FR")
    p.add_argument("--en", help="English label")
    p.add_argument("--slug")
    p.add_argument("--open", action="store_true", help="the trade rule never limits it")
    p.set_defaults(func=cmd_trades)
    p = tr.add_parser("remove", help="remove a category")
    p.add_argument("slug")
    p.set_defaults(func=cmd_trades)
    p = tr.add_parser("rule", help="one member per trade: on or off")
    p.add_argument("state", choices=["on", "off"])
    p.set_defaults(func=cmd_trades)

    ml = sub.add_parser("mail", help="outgoing mail").add_subparsers(dest="action", required=True)
    p = ml.add_parser("list", help="messages not sent yet, with their links")
    p.add_argument("--all", action="store_true", help="sent messages too")
    p.set_defaults(func=cmd_mail)
    st = sub.add_parser("settings", help="hub settings").add_subparsers(dest="action", required=True)
    p = st.add_parser("list", help="every setting and its value")
    p.set_defaults(func=cmd_settings)
    p = st.add_parser("set", help="change a setting")
    p.add_argument("key")
    p.add_argument("value")
    p.set_defaults(func=cmd_settings)
    cli_federation.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    lang = cli_language.cli_language(os.environ)
    cli_language.install(lang)
    parser = build_parser()
    cli_language.localize(parser, lang)
    args = parser.parse_args(argv)
    try:
        code = int(args.func(args))
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return code
    except (ConfigError, CommandError) as exc:
        print(f"voisins: {translate_text(lang, str(exc))}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return _quiet_broken_pipe()


def _quiet_broken_pipe() -> int:
    """The reader went away (``voisins trades list | head``): stop without a traceback. What
    is still buffered goes to /dev/null, so the interpreter's last flush cannot fail."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 1


if __name__ == "__main__":
    sys.exit(main())
