"""One status rendered for many members at once, each from their own point of view.

The API's ``Renderer`` renders a status once per viewer in about ten queries. A post fanned
out to hundreds of open streams differs between viewers only in ``favourited``,
``reblogged``, ``bookmarked``, ``pinned`` (one batched query here), ``replies_count``
(visible replies: per viewer) and the poll's ``voted``/``own_votes``. So: render once with
no viewer, then set the viewer's own flags; when the status has replies or a poll, render
fully per viewer with the API's ``Renderer`` (exact, slower, rare for a fresh post).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from fedi.api.entities import Renderer
from fedi.models import Actor, Interaction, Poll, Status
from fedi.web.state import Hub

FLAGS = {"like": "favourited", "announce": "reblogged", "bookmark": "bookmarked",
         "pin": "pinned"}


def status_for_each(session: Session, hub: Hub, status: Status,
                    viewers: Sequence[Actor]) -> dict[int, str]:
    """``{viewer id: Status entity JSON}`` for ``status``."""
    if not viewers:
        return {}
    ids = [status.id] + ([status.reblog_of_id] if status.reblog_of_id else [])
    per_viewer = session.scalar(select(
        exists().where(Status.in_reply_to_id.in_(ids)) | exists().where(Poll.status_id.in_(ids))))
    if per_viewer:
        return {v.id: json.dumps(Renderer(session, hub, v).status(status)) for v in viewers}
    neutral = Renderer(session, hub, None).status(status)
    mine: dict[int, set[tuple[int, str]]] = {}
    for actor_id, status_id, kind in session.execute(
            select(Interaction.actor_id, Interaction.status_id, Interaction.kind)
            .where(Interaction.status_id.in_(ids),
                   Interaction.actor_id.in_([v.id for v in viewers]),
                   Interaction.kind.in_(list(FLAGS)))):
        mine.setdefault(actor_id, set()).add((status_id, kind))
    out = {}
    for viewer in viewers:
        own = mine.get(viewer.id, set())
        entity = _with_flags(neutral, own) if own else neutral
        out[viewer.id] = json.dumps(entity)
    return out


def _with_flags(entity: dict[str, Any], own: set[tuple[int, str]]) -> dict[str, Any]:
    entity = copy.copy(entity)
    for kind, field in FLAGS.items():
        entity[field] = (int(entity["id"]), kind) in own
    if entity.get("reblog"):
        entity["reblog"] = _with_flags(entity["reblog"], own)
    return entity
