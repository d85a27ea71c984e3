"""The ``voisins`` command: init, migrate, serve, worker, users, neighbours, quickstart."""

from __future__ import annotations

import argparse
import secrets
import sys
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import OperationalError, ProgrammingError

from fedi.config import DEFAULT_CONFIG_PATH, ConfigError, Settings, load_settings, normalize_domain, render_config
from fedi.db import make_engine, make_sessionmaker, transaction, utcnow
from fedi.ids import new_id
from fedi.migrate import upgrade
from fedi.models import Actor, Neighbour, User
from fedi.services.accounts import ROLES, AccountError, create_user


class CommandError(Exception):
    """A command cannot do what was asked; the message is shown as one line."""


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.config)


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

    from fedi.app import create_app

    settings = _settings(args)
    _require_schema(settings)
    host = args.host or settings.host
    port = args.port or settings.port
    app = create_app(settings)
    scheme = "https" if settings.tls_cert else "http"
    print(f"serving {settings.name} ({settings.base_url}) on {scheme}://{host}:{port}", flush=True)
    uvicorn.run(
        app,
        host=host,
        port=port,
        ssl_certfile=settings.tls_cert,
        ssl_keyfile=settings.tls_key,
        log_level=args.log_level,
        access_log=False,
        server_header=False,
    )
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    import asyncio

    from fedi.worker_main import run_workers

    settings = _settings(args)
    _require_schema(settings)
    asyncio.run(run_workers(settings))
    return 0


def cmd_users_create(args: argparse.Namespace) -> int:
    settings = _settings(args)
    _require_schema(settings)
    engine = make_engine(settings.database_url)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            user = create_user(
                session, settings, args.username, email=args.email, password=args.password,
                role=args.role,
            )
            actor = session.get(Actor, user.actor_id)
            assert actor is not None
            print(f"created {args.role} @{actor.username}@{settings.domain} ({actor.uri})")
    except AccountError as exc:
        raise CommandError(f"{exc.field}: {exc}") from None
    finally:
        engine.dispose()
    return 0


def cmd_neighbours(args: argparse.Namespace) -> int:
    settings = _settings(args)
    _require_schema(settings)
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    try:
        if args.action == "list":
            with sessions() as session:
                rows = session.scalars(select(Neighbour).order_by(Neighbour.domain)).all()
            for domain in settings.neighbours:
                print(f"{domain}\tconfigured")
            for row in rows:
                print(f"{row.domain}\t{row.state}\t{row.source}")
            if not rows and not settings.neighbours:
                print("no neighbours yet (voisins neighbours add DOMAIN)")
            return 0
        try:
            domain = normalize_domain(args.domain or "")
        except ValueError as exc:
            raise CommandError(f"DOMAIN: {exc}") from None
        if domain == settings.domain:
            raise CommandError(f"{domain} is this hub itself")
        with transaction(sessions) as session:
            row = session.scalar(select(Neighbour).where(Neighbour.domain == domain))
            if args.action == "add":
                if row is not None and row.state != "refused":
                    print(f"{domain} is already a neighbour ({row.state})")
                    return 0
                if row is None:
                    row = Neighbour(id=new_id(), domain=domain, source="admin", territory=[])
                    session.add(row)
                row.state = "requested"
                row.source = "admin"
                row.updated_at = utcnow()
                print(f"added {domain} (link requested)")
            else:
                if row is None:
                    raise CommandError(f"{domain} is not a neighbour")
                session.delete(row)
                print(f"removed {domain}")
    finally:
        engine.dispose()
    return 0


def cmd_quickstart(args: argparse.Namespace) -> int:
    """Init (if needed), migrate, make an admin, serve: the README's first command."""
    path = Path(args.config or DEFAULT_CONFIG_PATH)
    if not path.exists():
        path.write_text(
            render_config(domain=f"127.0.0.1:{args.port}", name="Voisins (local)", scheme="http",
                          territory=["75011"], database_url="sqlite:///voisins.db"),
            encoding="utf-8",
        )
        print(f"wrote {path}")
    args.config = str(path)
    settings = _settings(args)
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


def cmd_lookup(args: argparse.Namespace) -> int:
    """Resolve a remote member through WebFinger and a signed fetch, and store them."""
    import asyncio
    import json

    from fedi.app import build_hub, start_federation, stop_federation
    from fedi.http import RemoteError
    from fedi.webfinger import lookup

    settings = _settings(args)
    _require_schema(settings)
    hub = build_hub(settings)

    async def run() -> dict:
        await start_federation(hub)
        try:
            assert hub.fetcher is not None and hub.resolver is not None
            target = args.target
            if "@" in target and not target.startswith(("http://", "https://")):
                target = await lookup(hub.fetcher, target, scheme=settings.scheme)
            actor = await hub.resolver.actor(target, refresh=True)
            return {"id": actor.uri, "username": actor.username, "domain": actor.domain,
                    "name": actor.display_name, "locked": actor.locked,
                    "trade": actor.trade, "key_id": actor.key_id}
        finally:
            await stop_federation(hub)

    try:
        print(json.dumps(asyncio.run(run()), ensure_ascii=False))
    except RemoteError as exc:
        raise CommandError(f"cannot resolve {args.target}: {exc}") from None
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    """Signed GET of any ActivityPub URL on a linked hub, as this hub's instance actor."""
    import asyncio
    import json

    from fedi.app import build_hub, start_federation, stop_federation
    from fedi.http import RemoteError

    settings = _settings(args)
    _require_schema(settings)
    hub = build_hub(settings)

    async def run() -> dict:
        await start_federation(hub)
        try:
            assert hub.fetcher is not None
            return await hub.fetcher.fetch_object(args.url, signer=hub.signer)
        finally:
            await stop_federation(hub)

    try:
        print(json.dumps(asyncio.run(run()), ensure_ascii=False))
    except RemoteError as exc:
        raise CommandError(f"cannot fetch {args.url}: {exc}") from None
    return 0


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
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("migrate", help="create or upgrade the database schema")
    p.set_defaults(func=cmd_migrate)

    for name, func, text in (("serve", cmd_serve, "run the web server and an in-process worker"),
                             ("quickstart", cmd_quickstart, "init, migrate, create an admin, serve")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--host", default=None)
        p.add_argument("--port", type=int, default=None if name == "serve" else 8000)
        p.add_argument("--log-level", default="warning")
        p.set_defaults(func=func)

    p = sub.add_parser("worker", help="run the inbox and delivery workers only")
    p.set_defaults(func=cmd_worker)

    users = sub.add_parser("users", help="manage members").add_subparsers(dest="action", required=True)
    p = users.add_parser("create", help="create a member")
    p.add_argument("username")
    p.add_argument("--email", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--role", choices=ROLES, default="member")
    p.set_defaults(func=cmd_users_create)

    nb = sub.add_parser("neighbours", help="linked hubs").add_subparsers(dest="action", required=True)
    for action, text in (("add", "link with a hub"), ("remove", "unlink a hub")):
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
    p.set_defaults(func=cmd_neighbours, domain=None)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (ConfigError, CommandError) as exc:
        print(f"voisins: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
