"""The composition root: create_app(settings) builds the hub; nothing happens at import."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware

from fedi.api import directory as api_directory
from fedi.api import registration as api_registration
from fedi.api.cors import ApiCors
from fedi.api.error_language import ApiErrorLanguage
from fedi.api.ratelimit import ApiRateLimit
from fedi.api.routes import api_routes
from fedi.config import Settings
from fedi.console.routes import routes as console_routes
from fedi.db import make_engine, make_sessionmaker, transaction
from fedi.db_faults import Backoff, DatabaseProbe
from fedi.http import Fetcher, Signer, make_client
from fedi.ids import Urls
from fedi.keystore import KeyStore
from fedi.mail.sender import MailSender
from fedi.mail.settings import mail_settings
from fedi.mail.transport import SmtpTransport
from fedi.media.settings import media_settings
from fedi.peers import Peers
from fedi.resolve import ActorResolver
from fedi.services.accounts import ensure_instance_actor, use_password_settings
from fedi.services.data_export import ExportBuilder
from fedi.services.hub_identity import apply_identity, start_identity_refresh
from fedi.services.mesh import MeshWorker, mesh_options
from fedi.services.poll_closer import PollCloser, closer_options
from fedi.services.reminders import Reminders
from fedi.site.routes import routes as site_routes
from fedi.streaming import routes as streaming_routes
from fedi.streaming.dispatch import start_streaming, stop_streaming
from fedi.verification import RequestVerifier
from fedi.web import activitypub, hubs, members, objects, wellknown
from fedi.web import media as web_media
from fedi.web.error_pages import http_exception, server_error
from fedi.web.limits import BodySizeLimit
from fedi.web.outage import DatabaseOutage
from fedi.web.state import Hub
from fedi.web.templating import make_templates
from inbox import routes as inbox_routes
from inbox.worker import InboxWorker
from inbox.writer import InboxWriter
from outbox.context import PublishContext
from outbox.worker import start_delivery_worker

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
log = logging.getLogger("voisins")
UPLOAD_PATHS = ("/api/v1/media", "/api/v2/media", "/api/v1/accounts/update_credentials")


def build_hub(settings: Settings) -> Hub:
    use_password_settings(settings)
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    return Hub(
        settings=settings,
        engine=engine,
        sessions=sessions,
        write_sessions=sessions,
        read_sessions=make_sessionmaker(engine, deferred=True),
        urls=Urls(settings.base_url),
        peers=Peers(settings, sessions),
        templates=make_templates(TEMPLATES_DIR),
    )


async def start_federation(hub: Hub) -> None:
    """The instance actor's signer, the guarded HTTP client, resolver and key store."""
    settings = hub.settings
    with transaction(hub.sessions) as session:
        apply_identity(session, settings)  # the console's name, description and territory
        instance = ensure_instance_actor(session, settings)
    hub.extras["identity_refresh"] = start_identity_refresh(hub.read_sessions, settings,
                                                            Backoff(hub.database))
    hub.signer = Signer(key_id=instance.key_id or "", private_key_pem=instance.private_key_pem or "")
    client = make_client(allow_private=settings.allow_private_addresses, ca_bundle=settings.ca_bundle)
    # may_contact: linked and requested hubs, and a hub we just unlinked while our Undo to it
    # is still queued (fedi.peers); inbound requests are checked with is_allowed.
    hub.fetcher = Fetcher(client, is_allowed=hub.peers.may_contact, allow_http=settings.allow_http)
    hub.resolver = ActorResolver(hub.write_sessions, hub.fetcher, hub.signer, settings.domain)
    hub.keystore = KeyStore(
        local_lookup=hub.resolver.stored_key,
        remote_fetch=hub.resolver.fetch_key,
        clock=time.monotonic,
        refetch_interval=300.0,
        confirm=hub.resolver.confirm_key,
    )
    hub.verifier = RequestVerifier(keystore=hub.keystore, is_allowed=hub.peers.is_allowed,
                                   local_domain=settings.domain, base_url=hub.urls.base,
                                   has_ended=hub.peers.has_ended)
    hub.extras["inbox_writer"] = InboxWriter(hub.write_sessions)


def publish_context(hub: Hub) -> PublishContext:
    """What services and handlers need to publish; wakes the delivery worker in-process."""

    def wake() -> None:
        worker = hub.extras.get("delivery_worker")
        if worker is not None:
            worker.wake()

    return PublishContext(settings=hub.settings, urls=hub.urls, is_allowed=hub.peers.is_allowed,
                          linked_domains=hub.peers.allowed, wake=wake)


async def start_workers(hub: Hub) -> list[tuple[asyncio.Task[None], asyncio.Event]]:
    """The inbox and delivery workers as tasks of this process."""
    ctx = publish_context(hub)
    inbox_worker = InboxWorker(hub.write_sessions, ctx)
    hub.extras["inbox_worker"] = inbox_worker
    inbox_worker.backoff = Backoff(hub.database)
    stop = asyncio.Event()
    tasks = [(asyncio.create_task(inbox_worker.run_forever(stop)), stop)]
    task, dstop, delivery_worker = await start_delivery_worker(hub)
    # Same predicate as the fetcher: the goodbye (Undo/Reject) to an unlinked hub still goes.
    delivery_worker.is_allowed = hub.peers.may_contact
    tasks.append((task, dstop))
    tasks.append(start_mesh_worker(hub, ctx))
    tasks.append(start_poll_closer(hub, ctx))
    tasks.append(start_event_reminders(hub))
    tasks.append(start_export_builder(hub))
    tasks.append(start_privacy_job(hub))
    tasks.append(start_weekly_digest(hub))
    mail = start_mail_sender(hub)
    if mail is not None:
        tasks.append(mail)
    tasks.append(start_database_probe(hub))
    return tasks


def start_database_probe(hub: Hub) -> tuple[asyncio.Task[None], asyncio.Event]:
    """Writes the "database available again" line once a write succeeds (fedi.db_faults)."""
    stop = asyncio.Event()
    probe = DatabaseProbe(hub.engine, hub.database)
    return asyncio.create_task(probe.run_forever(stop), name="database-probe"), stop


def start_mail_sender(hub: Hub) -> tuple[asyncio.Task[None], asyncio.Event] | None:
    """Sends the queued mail when ``[email]`` is set (fedi/mail/); without it the messages
    wait in the database for ``voisins mail list``."""
    options = mail_settings(hub.settings.extra)
    if options is None:
        return None
    sender = MailSender(hub.write_sessions, options, SmtpTransport(options))
    hub.extras["mail_sender"] = sender
    sender.backoff = Backoff(hub.database)
    stop = asyncio.Event()
    return asyncio.create_task(sender.run_forever(stop), name="mail-sender"), stop


def start_export_builder(hub: Hub) -> tuple[asyncio.Task[None], asyncio.Event]:
    """Builds the members' data archives and removes expired ones (data_export.py)."""
    options = hub.settings.extra.get("exports", {})
    interval = float(options.get("interval", 30)) if isinstance(options, dict) else 30.0
    builder = ExportBuilder(hub.write_sessions, hub.settings, interval=interval)
    hub.extras["export_builder"] = builder
    builder.backoff = Backoff(hub.database)
    stop = asyncio.Event()
    return asyncio.create_task(builder.run_forever(stop), name="export-builder"), stop


def start_event_reminders(hub: Hub) -> tuple[asyncio.Task[None], asyncio.Event]:
    """The day-before reminders of events (fedi/services/reminders.py)."""
    options = hub.settings.extra.get("events", {})
    interval = float(options.get("reminder_interval", 300)) if isinstance(options, dict) else 300.0
    job = Reminders(hub.write_sessions, interval=interval, settings=hub.settings)
    hub.extras["event_reminders"] = job
    job.backoff = Backoff(hub.database)
    stop = asyncio.Event()
    return asyncio.create_task(job.run_forever(stop), name="event-reminders"), stop


def start_privacy_job(hub: Hub) -> tuple[asyncio.Task[None], asyncio.Event]:
    """Erasure of deleted accounts after their grace period, and the 30-day retention of
    login records (fedi/services/privacy_job.py)."""
    from fedi.api.media import media_of
    from fedi.services.privacy_job import PrivacyJob

    job = PrivacyJob(hub.write_sessions, media_of(hub)[1].delete,
                     keep_domain=hub.peers.is_allowed)
    hub.extras["privacy_job"] = job
    job.backoff = Backoff(hub.database)
    stop = asyncio.Event()
    return asyncio.create_task(job.run_forever(stop), name="privacy-job"), stop


def start_weekly_digest(hub: Hub) -> tuple[asyncio.Task[None], asyncio.Event]:
    """The weekly digest mailed to members who opted in (fedi/services/digest.py)."""
    from fedi.services.digest import Digests

    options = hub.settings.extra.get("digest", {})
    interval = float(options.get("interval", 3600)) if isinstance(options, dict) else 3600.0
    job = Digests(hub.write_sessions, hub.settings, hub.peers.is_linked, interval=interval)
    hub.extras["weekly_digest"] = job
    stop = asyncio.Event()
    return asyncio.create_task(job.run_forever(stop), name="weekly-digest"), stop


def start_mesh_worker(hub: Hub, ctx: PublishContext) -> tuple[asyncio.Task[None], asyncio.Event]:
    """Reads linked hubs' links and members, proposes links to adjacent hubs (mesh.py)."""
    assert hub.fetcher is not None and hub.signer is not None
    worker = MeshWorker(hub.write_sessions, ctx, hub.fetcher, hub.signer, **mesh_options(hub.settings))
    hub.extras["mesh_worker"] = worker
    worker.backoff = Backoff(hub.database)
    stop = asyncio.Event()
    return asyncio.create_task(worker.run_forever(stop), name="mesh-worker"), stop


def start_poll_closer(hub: Hub, ctx: PublishContext) -> tuple[asyncio.Task[None], asyncio.Event]:
    """Ends polls whose time is up: notifications and final results (poll_closer.py)."""
    closer = PollCloser(hub.write_sessions, ctx, **closer_options(hub.settings))
    hub.extras["poll_closer"] = closer
    closer.backoff = Backoff(hub.database)
    stop = asyncio.Event()
    return asyncio.create_task(closer.run_forever(stop), name="poll-closer"), stop


async def stop_workers(tasks: list[tuple[asyncio.Task[None], asyncio.Event]]) -> None:
    for task, stop in tasks:
        stop.set()
    for task, _stop in tasks:
        try:
            await asyncio.wait_for(task, timeout=5)
        except (TimeoutError, asyncio.CancelledError):
            task.cancel()


async def stop_federation(hub: Hub) -> None:
    refresh = hub.extras.pop("identity_refresh", None)
    if refresh is not None:
        await stop_workers([refresh])
    if hub.fetcher is not None:
        await hub.fetcher.client.aclose()
    hub.engine.dispose()


def create_app(settings: Settings) -> Starlette:
    hub = build_hub(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await start_federation(hub)
        # Without workers here, the probe alone still writes the recovery line.
        tasks = await start_workers(hub) if settings.run_workers else [start_database_probe(hub)]
        streaming = await start_streaming(hub)
        try:
            yield
        finally:
            await stop_streaming(streaming)
            await stop_workers(tasks)
            await stop_federation(hub)

    app = Starlette(
        # hubs.routes answers POST /actor/inbox before inbox_routes (link requests, hubs.py).
        routes=[*wellknown.routes, *activitypub.routes, *objects.routes, *hubs.routes,
                *inbox_routes.routes, *streaming_routes.routes,
                *api_routes(), *api_registration.routes,
                *api_directory.routes, *site_routes, *console_routes, *members.routes,
                *web_media.routes],
        middleware=[Middleware(ApiErrorLanguage), Middleware(ApiCors), Middleware(DatabaseOutage),
                    Middleware(ApiRateLimit),
                    Middleware(BodySizeLimit, upload_paths=UPLOAD_PATHS,
                               upload_bytes=media_settings(settings).max_bytes + 256 * 1024)],
        exception_handlers={HTTPException: http_exception, 500: server_error},
        lifespan=lifespan,
    )
    app.state.hub = hub
    return app
