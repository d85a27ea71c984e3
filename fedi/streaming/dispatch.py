"""Turns signals into frames for the open streams of this process.

Each signal is checked per member with the rule every read path uses
(``fedi.services.visibility.can_see``, plus the viewer's blocks as in the timelines), and
the entity is rendered once per member from their point of view (``favourited``...), then
offered to each of their streams that carries it. Rendering runs in a worker thread with
its own session, one signal at a time, so order is kept and the event loop stays free.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, aliased

from fedi.api.auth import Call, Caller
from fedi.api.entities import Renderer
from fedi.db_faults import Backoff, is_unavailable
from fedi.models import Actor, Block, Notification, OAuthToken, Status, Tag, TimelineEntry, User
from fedi.services.timelines import not_silenced, visible_to
from fedi.services.visibility import can_see
from fedi.streaming.broker import Broker, PostgresBroker, Signal, broker_for
from fedi.streaming.capture import watch
from fedi.streaming.listener import Frame, Listener, Registry, Subscription, stream_array
from fedi.streaming.render import status_for_each
from fedi.web.state import Hub

RECHECK_SECONDS = 4.0  # the safety net behind the revoke hooks
PUBLIC_KINDS = ("hub", "neighbourhood")
log = logging.getLogger("voisins.streaming")


@dataclass(frozen=True)
class StatusFacts:
    """What decides which streams carry a status, read once per signal."""

    status: Status
    author: Actor
    tags: frozenset[str]
    home_owners: frozenset[int]
    deleted: bool = False

    def carried_by(self, sub: Subscription, viewer_id: int) -> bool:
        name, param = sub
        s, a = self.status, self.author
        if name == "user":
            # Timeline rows go with the status: a delete goes to all who could see it.
            return self.deleted or viewer_id in self.home_owners
        if name == "direct" or name.endswith(":media") or name == "list":
            return False  # direct: a conversation event; no media or lists on this hub yet
        if s.reblog_of_id is not None or s.visibility not in PUBLIC_KINDS:
            return False
        if name == "public":
            return True
        if name == "public:local":
            return a.local
        if name == "public:remote":
            return not a.local and s.visibility == "neighbourhood"
        if name in ("hashtag", "hashtag:local"):
            return (param or "").lower() in self.tags and (name == "hashtag" or a.local)
        return False


class Dispatcher:
    def __init__(self, hub: Hub, registry: Registry, broker: Broker) -> None:
        self.hub = hub
        self.registry = registry
        self.broker = broker
        self.signals: asyncio.Queue[Signal] = asyncio.Queue()
        self.delivered = 0

    # -- receiving ----------------------------------------------------------------------

    def receive(self, signal: Signal) -> None:
        """On the event loop: closing is immediate; the rest waits its turn."""
        kind = signal.get("k")
        if kind == "revoke":
            self.registry.close_where("revoked", token_id=signal.get("token"))
        elif kind == "gone":
            self.registry.close_where("suspended", actor_id=signal.get("actor"))
        elif len(self.registry):
            self.signals.put_nowait(signal)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            signal = await self.signals.get()
            groups = self.registry.by_actor()
            if not groups:
                continue
            try:
                frames = await asyncio.to_thread(self.frames_for, signal, groups)
            except Exception as exc:  # one bad signal must not stop the stream
                if is_unavailable(exc):  # lost, as signals are while a client reconnects
                    self.hub.database.went_away(exc, "the streaming dispatcher")
                else:
                    log.exception("streaming: cannot render %r", signal)
                continue
            for listener, frame in frames:
                if listener.offer(frame):
                    self.delivered += 1

    async def recheck_forever(self, stop: asyncio.Event) -> None:
        """Closes streams whose token was revoked or member suspended by a path no hook saw."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), RECHECK_SECONDS)
            listeners = self.registry.all()
            if not listeners:
                continue
            try:
                valid = await asyncio.to_thread(self.valid_tokens, {x.token_id for x in listeners})
            except Exception as exc:
                if is_unavailable(exc):  # checked again next time; the outage is logged once
                    self.hub.database.went_away(exc, "the streaming token re-check")
                else:
                    log.exception("streaming: token re-check failed")
                continue
            for listener in listeners:
                if listener.token_id not in valid:
                    listener.close("revoked")

    def valid_tokens(self, token_ids: set[int]) -> set[int]:
        """The same conditions as ``fedi.api.auth.authenticate``, for many tokens at once."""
        with self.hub.read_sessions() as session:
            return set(session.scalars(
                select(OAuthToken.id).join(User, User.id == OAuthToken.user_id)
                .join(Actor, Actor.id == User.actor_id)
                .where(OAuthToken.id.in_(list(token_ids)), OAuthToken.revoked_at.is_(None),
                       User.disabled.is_(False), Actor.deleted_at.is_(None))))

    # -- rendering (worker thread) ------------------------------------------------------

    def frames_for(self, signal: Signal,
                   groups: dict[int, list[Listener]]) -> list[tuple[Listener, Frame]]:
        kind = signal.get("k")
        with self.hub.read_sessions() as session:
            if kind in ("status", "edit", "delete"):
                return self._status_frames(session, kind, int(signal["id"]), groups)
            if kind == "notification":
                return self._notification_frames(session, int(signal["id"]), groups)
            if kind == "filters_changed":
                subs = groups.get(int(signal.get("actor", 0)), [])
                return [(x, Frame("filters_changed", None, ("user",))) for x in subs
                        if ("user", None) in x.subscriptions]
            if kind == "announcement":
                payload = str(signal.get("payload", ""))
                return [(x, Frame("announcement", payload, ("user",)))
                        for subs in groups.values() for x in subs
                        if ("user", None) in x.subscriptions]
        return []

    def _status_frames(self, session: Session, kind: str, status_id: int,
                       groups: dict[int, list[Listener]]) -> list[tuple[Listener, Frame]]:
        status = session.get(Status, status_id)
        if status is None:
            return []
        author = session.get(Actor, status.actor_id)
        if author is None:
            return []
        if kind == "delete":  # who could see it just before: the same rule, undeleted
            status = replace_deleted(status)
        elif status.deleted_at is not None:
            return []
        viewers = list(groups)
        facts = StatusFacts(
            status=status, author=author,
            tags=frozenset(n.lower() for n in session.scalars(
                select(Tag.name).where(Tag.status_id == status_id))),
            home_owners=frozenset(session.scalars(select(TimelineEntry.owner_id).where(
                TimelineEntry.status_id == status_id, TimelineEntry.owner_id.in_(viewers)))),
            deleted=kind == "delete")
        linked = self.hub.peers.allowed()
        candidates: dict[int, tuple[list[tuple[Listener, Subscription]], list[Listener]]] = {}
        for viewer_id, listeners in groups.items():
            wanted = [(x, sub) for x in listeners for sub in sorted(
                x.subscriptions, key=str) if facts.carried_by(sub, viewer_id)]
            direct = [x for x in listeners if ("direct", None) in x.subscriptions] if (
                kind == "status" and status.visibility == "direct") else []
            if wanted or direct:
                candidates[viewer_id] = (wanted, direct)
        if kind == "delete":
            seeing = [v for v in session.scalars(select(Actor).where(Actor.id.in_(list(candidates))))
                      if self._may_see(session, v, status, linked)]
        else:
            seeing = list(session.scalars(select(Actor).where(Actor.id.in_(
                visible_viewers(session, status_id, list(candidates), linked)))))
        allowed = [(v, *candidates[v.id]) for v in seeing]
        if kind == "delete":
            payloads = {viewer.id: str(status_id) for viewer, _w, _d in allowed}
        else:
            payloads = status_for_each(session, self.hub, status,
                                       [viewer for viewer, wanted, _d in allowed if wanted])
        event = {"status": "update", "edit": "status.update", "delete": "delete"}[kind]
        out: list[tuple[Listener, Frame]] = []
        for viewer, wanted, direct in allowed:
            out.extend((x, Frame(event, payloads[viewer.id], stream_array(sub)))
                       for x, sub in wanted)
            if direct:
                convo = self._conversation(session, viewer, direct[0], status_id)
                if convo is not None:
                    out.extend((x, Frame("conversation", convo, ("direct",))) for x in direct)
        return out

    @staticmethod
    def _may_see(session: Session, viewer: Actor, status: Status, linked: frozenset[str]) -> bool:
        blocked = session.scalar(select(exists().where(
            Block.actor_id == viewer.id, Block.target_id == status.actor_id)))
        return not blocked and can_see(session, viewer, status, is_linked=linked.__contains__)

    def _conversation(self, session: Session, viewer: Actor, listener: Listener,
                      status_id: int) -> str | None:
        from fedi.api import conversations

        caller = Caller(token_id=listener.token_id, app_id=0, scopes=frozenset(), user=None,
                        actor=viewer)
        call = Call(request=None, hub=self.hub, session=session,  # type: ignore[arg-type]
                    caller=caller, params=None)  # type: ignore[arg-type]
        for thread in conversations.threads(call):
            if any(s.id == status_id for s in thread.statuses):
                return json.dumps(conversations.render(call, [thread])[0])
        return None

    def _notification_frames(self, session: Session, notification_id: int,
                             groups: dict[int, list[Listener]]) -> list[tuple[Listener, Frame]]:
        row = session.get(Notification, notification_id)
        if row is None or row.owner_id not in groups:
            return []
        listeners = [x for x in groups[row.owner_id] if x.subscriptions
                     & {("user", None), ("user:notification", None)}]
        viewer = session.get(Actor, row.owner_id)
        if not listeners or viewer is None:
            return []
        if session.scalar(select(exists().where(Block.actor_id == viewer.id,
                                                Block.target_id == row.from_actor_id))):
            return []
        if row.status_id is not None:
            status = session.get(Status, row.status_id)
            if status is None or not can_see(session, viewer, status,
                                             is_linked=self.hub.peers.allowed().__contains__):
                return []
        rendered = Renderer(session, self.hub, viewer).notifications([row])
        if not rendered:
            return []
        payload = json.dumps(rendered[0])
        return [(x, Frame("notification", payload, stream_array(sub))) for x in listeners
                for sub in (("user", None), ("user:notification", None))
                if sub in x.subscriptions]


def visible_viewers(session: Session, status_id: int, viewer_ids: list[int],
                    linked: frozenset[str]) -> list[int]:
    """The members among ``viewer_ids`` who may see the status: the timelines' SQL form of
    ``can_see`` (``visible_to``) and their blocks, for all of them in one query."""
    if not viewer_ids:
        return []
    viewer = aliased(Actor)
    return list(session.scalars(
        select(viewer.id).select_from(viewer)
        .join(Status, Status.id == status_id).join(Actor, Actor.id == Status.actor_id)
        .where(viewer.id.in_(viewer_ids), viewer.local, visible_to(viewer.id, linked),
               not_silenced(viewer.id))))


def replace_deleted(status: Status) -> Any:
    """A detached copy of ``status`` as it was before its deletion, for the audience rule."""
    copy = Status(**{c.key: getattr(status, c.key) for c in Status.__table__.columns})
    copy.deleted_at = None
    return copy


@dataclass
class Streaming:
    """What the app keeps: the registry, the broker and the dispatcher's tasks."""

    registry: Registry
    broker: Broker
    dispatcher: Dispatcher
    stop: asyncio.Event
    tasks: list[asyncio.Task[None]]

    def publish(self, signal: Signal) -> None:
        """Hooks for events with no row of their own (``filters_changed``, ``announcement``)."""
        self.broker.send(signal)


async def start_streaming(hub: Hub) -> Streaming:
    registry = Registry()
    broker = broker_for(hub.settings.database_url)
    if isinstance(broker, PostgresBroker):
        broker.backoff = Backoff(hub.database)  # one line per outage for the process
    dispatcher = Dispatcher(hub, registry, broker)
    for factory in {id(f): f for f in (hub.write_sessions, hub.read_sessions)}.values():
        watch(factory, broker)
    await broker.start(dispatcher.receive)
    stop = asyncio.Event()
    tasks = [asyncio.create_task(dispatcher.run(stop), name="streaming-dispatch"),
             asyncio.create_task(dispatcher.recheck_forever(stop), name="streaming-recheck")]
    streaming = Streaming(registry, broker, dispatcher, stop, tasks)
    hub.extras["streaming"] = streaming
    return streaming


async def stop_streaming(streaming: Streaming) -> None:
    streaming.stop.set()
    for listener in streaming.registry.all():
        listener.close("shutdown")
    for task in streaming.tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    await streaming.broker.stop()

