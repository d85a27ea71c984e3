"""Polls in the client API: ``poll[...]`` of a status, ``GET /api/v1/polls/:id`` and
``POST /api/v1/polls/:id/votes``; the ``Poll`` entities of a page of statuses."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from starlette.routing import Route

from fedi.api.auth import Call, endpoint
from fedi.api.errors import ApiError
from fedi.api.params import Params
from fedi.convert.poll_entity import poll as poll_entity
from fedi.db import utcnow
from fedi.models import Poll, Status
from fedi.services.polls import (
    PollError,
    PollSpec,
    cast_vote,
    own_votes,
    poll_results,
)
from fedi.services.timelines import find_visible

MAX_OPTIONS_READ = 100  # more than any limit: "30 options" gets its own clear message


def poll_error(call: Call, exc: PollError) -> ApiError:
    """The error in the member's language (French unless their locale is English)."""
    locale = call.caller.user.locale if call.caller and call.caller.user else "fr"
    prefix = "Validation failed: " if (locale or "fr").startswith("en") else (
        "Échec de la validation : ")
    message = exc.message(locale)
    return ApiError(exc.status, prefix + message if exc.status == 422 else message)


def requested_poll(call: Call) -> PollSpec | None:
    """The ``poll`` of a status request (form ``poll[options][]=…`` or a JSON object), or
    None when there is none."""
    raw = call.params.data.get("poll")
    if raw is None or raw == "" or (isinstance(raw, dict) and not raw):
        return None
    if not isinstance(raw, dict):
        raise ApiError(422, "poll must be an object")
    p = Params(raw)
    options = p.list("options", max_items=MAX_OPTIONS_READ)
    expires = p.data.get("expires_in")
    expires_in: int | None = None
    if expires is not None and expires != "":
        if isinstance(expires, bool):
            raise ApiError(422, "poll[expires_in] must be a number of seconds")
        try:
            expires_in = int(float(expires)) if isinstance(expires, (int, float, str)) else None
        except (TypeError, ValueError, OverflowError):
            expires_in = None
        if expires_in is None:
            raise ApiError(422, "poll[expires_in] must be a number of seconds")
    if any(len(o) > 1000 for o in options):
        raise ApiError(422, "poll[options] holds an overlong option")
    return PollSpec(options=tuple(options), expires_in=expires_in,
                    multiple=p.bool("multiple"), hide_totals=p.bool("hide_totals"))


@cache
def _page_polls() -> Any:
    """Built once, the ids as a parameter: every API page runs it (fedi.api.entities)."""
    return (select(Poll, Status.local, Status.actor_id).join(Status, Status.id == Poll.status_id)
            .where(Poll.status_id.in_(bindparam("ids", expanding=True))))


def poll_entities(session: Session, viewer_id: int | None,
                  status_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """``{status id: Poll entity}`` for the statuses of a page that have a poll."""
    if not status_ids:
        return {}
    rows = session.execute(_page_polls(), {"ids": list(status_ids)}).all()
    if not rows:
        return {}
    mine = own_votes(session, [r[0].id for r in rows], viewer_id) if viewer_id else {}
    now = utcnow()
    out = {}
    for poll, local, author_id in rows:
        results = poll_results(session, poll, local=local)
        out[poll.status_id] = poll_entity(
            poll, results.counts, results.voters_count, now=now,
            own_votes=mine.get(poll.id, []) if viewer_id else None,
            is_author=viewer_id == author_id)
    return out


def visible_poll(call: Call) -> tuple[Poll, Status]:
    poll = call.session.get(Poll, call.path_id())
    status = None
    if poll is not None:
        status = find_visible(call.session, call.actor, call.render.linked, poll.status_id)
    if poll is None or status is None:
        raise ApiError(404, "Record not found")
    return poll, status


def rendered(call: Call, status: Status) -> dict[str, Any]:
    return poll_entities(call.session, call.actor.id, [status.id])[status.id]


async def get_poll(call: Call) -> Any:
    _poll, status = visible_poll(call)
    return rendered(call, status)


async def vote(call: Call) -> Any:
    poll, status = visible_poll(call)
    raw = call.params.list("choices", max_items=MAX_OPTIONS_READ)
    choices = []
    for value in raw:
        if not (value.strip().isascii() and value.strip().isdigit()) or len(value.strip()) > 4:
            raise ApiError(422, "choices must be option numbers")
        choices.append(int(value))
    try:
        cast_vote(call.session, call.ctx, call.actor, poll, status, choices,
                  is_linked=lambda domain: domain in call.render.linked)
    except PollError as exc:
        raise poll_error(call, exc) from None
    call.session.flush()
    return rendered(call, status)


routes = [
    Route("/api/v1/polls/{id}", endpoint("read:statuses", body=False)(get_poll)),
    Route("/api/v1/polls/{id}/votes", endpoint("write:statuses")(vote), methods=["POST"]),
]
