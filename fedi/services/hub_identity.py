"""The hub's name, description and territory as the console sets them, over voisins.toml.

``Settings`` is read everywhere (pages, mails, the instance actor, the neighbourhood rules)
from the one object each process builds at start. The console stores its values in
``hub_settings`` (``hub_name``, ``hub_description``, ``territory``; empty means "as in
voisins.toml"), and ``apply_identity`` writes them onto that object: at start, right after
an admin saves them, and every few seconds in every process (another web process or the
worker sees a change within ``REFRESH_SECONDS``). Nothing else in ``Settings`` changes
after start.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from fedi.config import Settings
from fedi.convert.model_to_ap import instance_actor
from fedi.db_faults import Backoff
from fedi.ids import new_id
from fedi.models import HubSetting
from fedi.services.accounts import ensure_instance_actor
from fedi.services.hub_settings import SPECS, SettingError
from fedi.services.periodic import run_periodically
from fedi.vocab import build
from outbox.context import PublishContext
from outbox.publish import publish

REFRESH_SECONDS = 10.0
KEYS = ("hub_name", "hub_description", "territory")
log = logging.getLogger("voisins.settings")


@dataclass(frozen=True)
class Identity:
    name: str
    description: str
    territory: tuple[str, ...]


CONFIG_ATTR = "_identity_from_config"


def config_identity(settings: Settings) -> Identity:
    """The name, description and territory of voisins.toml (before any override), kept on
    the Settings object itself (an id-keyed table could hand a new object an old answer)."""
    found = getattr(settings, CONFIG_ATTR, None)
    if found is None:
        found = Identity(settings.name, settings.description, settings.territory)
        object.__setattr__(settings, CONFIG_ATTR, found)
    return found


def stored_identity(session: Session, settings: Settings) -> Identity:
    """What the hub shows now: the console's values where set, else voisins.toml's."""
    base = config_identity(settings)
    stored: dict[str, str] = {}
    for row in session.scalars(select(HubSetting).where(HubSetting.key.in_(KEYS))):
        try:
            stored[row.key] = SPECS[row.key].parse(row.value)
        except SettingError:
            continue  # written by another version: voisins.toml's value
    codes = tuple(c.strip() for c in stored.get("territory", "").split(",") if c.strip())
    return Identity(name=stored.get("hub_name") or base.name,
                    description=stored.get("hub_description") or base.description,
                    territory=codes or base.territory)


def apply_identity(session: Session, settings: Settings) -> bool:
    """Make ``settings`` show the stored identity; True when something changed."""
    wanted = stored_identity(session, settings)
    current = Identity(settings.name, settings.description, settings.territory)
    if wanted == current:
        return False
    # The one place a Settings object changes after start (see the module docstring).
    object.__setattr__(settings, "name", wanted.name)
    object.__setattr__(settings, "description", wanted.description)
    object.__setattr__(settings, "territory", wanted.territory)
    log.info("hub identity now: %s, territory %s", wanted.name, ", ".join(wanted.territory))
    return True


def announce_hub(session: Session, ctx: PublishContext) -> None:
    """Send the hub's ``Application`` actor, as it is now, to the linked hubs (their pages
    name this hub by it): after an admin renames the hub or changes its territory."""
    linked = sorted(d for d in ctx.linked_domains() if d != ctx.settings.domain)
    if not linked:
        return
    actor = ensure_instance_actor(session, ctx.settings)
    doc = {k: v for k, v in instance_actor(actor, ctx.urls, ctx.settings).items()
           if k != "@context"}
    update = build.activity("Update", f"{ctx.urls.instance_actor}#updates/{new_id()}",
                            ctx.urls.instance_actor, doc,
                            to=[ctx.members_collection(d) for d in linked])
    publish(session, ctx, actor, update)


def start_identity_refresh(sessions: sessionmaker[Session], settings: Settings,
                           backoff: Backoff) -> tuple[asyncio.Task[None], asyncio.Event]:
    """Every ``REFRESH_SECONDS``: another process may have saved the console's page.
    ``backoff``: the hub's (one line per outage for the whole process, not one per job)."""
    stop = asyncio.Event()

    async def once() -> int:
        def read() -> None:
            with sessions() as session:
                apply_identity(session, settings)

        await asyncio.to_thread(read)
        return 0  # then wait the interval

    task = asyncio.create_task(run_periodically(once, stop, REFRESH_SECONDS, log,
                                                "hub identity refresh", backoff=backoff))
    return task, stop
