"""Statuses: create (idempotent), get, edit (+ history, source), delete, context,
favourited_by and reblogged_by."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from starlette.routing import Route

from fedi.api.auth import Call, endpoint, json_response
from fedi.api.entities import default_privacy
from fedi.api.errors import ApiError, not_found, unprocessable
from fedi.api.media import purge_for_status
from fedi.api.pagination import link_header, page_of
from fedi.api.params import parse_id
from fedi.api.polls import poll_error, requested_poll
from fedi.convert.model_to_api import FROM_API, audience_of, status_edit
from fedi.db import utcnow
from fedi.ids import new_id
from fedi.models import Actor, IdempotencyKey, Interaction, Status, StatusEdit, UserSettings
from fedi.services.media import MediaRefused
from fedi.services.polls import PollError, PollSpec, poll_limits
from fedi.services.posting import Draft, PostingError, create_status, delete_status, edit_status
from fedi.services.timelines import context, find_visible, newest_first, paginate
from outbox.fanout import notify

IDEMPOTENCY_TTL = timedelta(hours=1)
LANGUAGE_RE = re.compile(r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})?$")


def visible_status(call: Call, status_id: int | None = None) -> Status:
    status = find_visible(call.session, call.actor, call.render.linked,
                          status_id if status_id is not None else call.path_id())
    if status is None:
        raise not_found()
    return status


def _refuse_unsupported(call: Call) -> PollSpec | None:
    """The requested poll (or None), after refusing what this hub cannot do."""
    p = call.params
    poll = requested_poll(call)
    if poll is not None and p.list("media_ids"):
        raise poll_error(call, PollError("with_media"))
    if p.str("scheduled_at", max_len=64):
        raise unprocessable("Scheduled posts are not supported on this hub yet")
    return poll


def _media_ids(call: Call) -> list[int] | None:
    """``media_ids[]`` as ids (None when the request does not mention them)."""
    if not call.params.has("media_ids"):
        return None
    ids = [parse_id(v) for v in call.params.list("media_ids", max_items=10)]
    if any(i is None for i in ids):
        raise unprocessable("media_ids must be media attachment ids")
    return [i for i in ids if i is not None]


def _language(call: Call) -> str | None:
    language = call.params.str("language", max_len=16)
    if language and not LANGUAGE_RE.match(language):
        raise unprocessable("Language is not a language code")
    return language or None


def _idempotent(call: Call, key: str) -> Status | None:
    row = call.session.scalar(select(IdempotencyKey).where(
        IdempotencyKey.user_id == call.user.id, IdempotencyKey.key == key))
    if row is None:
        return None
    if row.created_at < utcnow() - IDEMPOTENCY_TTL:
        call.session.delete(row)
        call.session.flush()
        return None
    return call.session.get(Status, row.status_id)


async def post_status(call: Call) -> Any:
    p, user = call.params, call.user
    key = call.request.headers.get("idempotency-key", "").strip()[:128]
    if key:
        earlier = _idempotent(call, key)
        if earlier is not None:
            return call.render.status(earlier)
    poll = _refuse_unsupported(call)
    visibility = p.str("visibility", max_len=32)
    if visibility and visibility not in FROM_API:
        raise unprocessable("Visibility is not one of public, unlisted, private, direct")
    audience = audience_of(visibility or None, local_only=p.bool("local_only"),
                           default=default_privacy(user))
    parent = None
    reply_to = p.str("in_reply_to_id", max_len=32)
    if reply_to:
        parent = visible_status(call, p.id("in_reply_to_id") or 0)
    settings = call.session.get(UserSettings, user.id)
    sensitive_default = bool(settings and settings.default_sensitive)
    draft = Draft(text=p.str("status", "", max_len=20_000) or "", visibility=audience,
                  in_reply_to=parent, spoiler_text=p.str("spoiler_text", "", max_len=500) or "",
                  sensitive=p.bool("sensitive", sensitive_default) or bool(p.str("spoiler_text")),
                  language=_language(call) or (settings.default_language if settings else None),
                  poll=poll, poll_limits=poll_limits(call.hub.settings),
                  media_ids=tuple(_media_ids(call) or ()))
    try:
        status = create_status(call.session, call.ctx, call.actor, draft)
    except PollError as exc:
        raise poll_error(call, exc) from None
    except (PostingError, MediaRefused) as exc:
        raise unprocessable(str(exc)) from None
    if key:
        call.session.add(IdempotencyKey(id=new_id(), user_id=user.id, key=key,
                                        status_id=status.id))
    call.session.flush()
    return call.render.status(status)


async def get_status(call: Call) -> Any:
    return call.render.status(visible_status(call))


async def get_statuses(call: Call) -> Any:
    rows = [find_visible(call.session, call.actor, call.render.linked, i)
            for i in call.params.id_list("id", max_items=40)]
    return call.render.statuses([r for r in rows if r is not None])


def own_status(call: Call) -> Status:
    status = visible_status(call)
    if status.actor_id != call.actor.id or status.reblog_of_id is not None:
        raise ApiError(403, "This action is not allowed")
    return status


async def remove_status(call: Call) -> Any:
    status = own_status(call)
    entity = call.render.status(status, with_text=True)
    delete_status(call.session, call.ctx, call.actor, status)
    await purge_for_status(call, status.id)
    return entity


async def update_status(call: Call) -> Any:
    status = own_status(call)
    poll = _refuse_unsupported(call)
    p = call.params
    text = p.str("status", max_len=20_000)
    if text is None:
        raise unprocessable("Text can't be blank")
    try:
        edit_status(call.session, call.ctx, call.actor, status, text,
                    spoiler_text=p.str("spoiler_text", max_len=500),
                    sensitive=p.bool("sensitive") if p.has("sensitive") else None,
                    poll=poll, change_poll=True, poll_limits=poll_limits(call.hub.settings),
                    media_ids=_media_ids(call))
    except PollError as exc:
        raise poll_error(call, exc) from None
    except (PostingError, MediaRefused) as exc:
        raise unprocessable(str(exc)) from None
    if p.has("language"):
        status.language = _language(call)
    boosters = call.session.scalars(select(Interaction.actor_id).join(
        Actor, Actor.id == Interaction.actor_id).where(
        Interaction.status_id == status.id, Interaction.kind == "announce", Actor.local))
    for booster in set(boosters):
        notify(call.session, booster, "update", call.actor.id, status.id)
    call.session.flush()
    return call.render.status(status)


async def history(call: Call) -> Any:
    status = visible_status(call)
    author = call.render.account(call.session.get(Actor, status.actor_id))
    edits = list(call.session.scalars(select(StatusEdit).where(
        StatusEdit.status_id == status.id).order_by(StatusEdit.id)))
    versions = []
    moment = status.created_at
    for edit in edits:
        versions.append(status_edit(edit.content, edit.spoiler_text, edit.sensitive, moment,
                                    author))
        moment = edit.created_at
    versions.append(status_edit(status.content, status.spoiler_text, status.sensitive, moment,
                                author))
    return versions


async def source(call: Call) -> Any:
    status = own_status(call)
    entity = call.render.status(status, with_text=True)
    return {"id": str(status.id), "text": entity["text"], "spoiler_text": status.spoiler_text}


async def status_context(call: Call) -> Any:
    status = visible_status(call)
    ancestors, descendants = context(call.session, call.actor, call.render.linked, status)
    return {"ancestors": call.render.statuses(ancestors),
            "descendants": call.render.statuses(descendants)}


def _who(kind: str) -> Any:
    async def listing(call: Call) -> Any:
        status = visible_status(call)
        page = page_of(call.params, default=40, maximum=80)
        query = (select(Interaction.id, Actor).join(Actor, Actor.id == Interaction.actor_id)
                 .where(Interaction.status_id == status.id, Interaction.kind == kind,
                        Actor.deleted_at.is_(None)))
        rows = newest_first(call.session.execute(paginate(query, Interaction.id, page)).all(),
                            page)
        return json_response(call.render.accounts([a for _i, a in rows]), headers=link_header(
            call.hub.urls.base, call.request.url.path, call.params, [i for i, _a in rows]))

    listing.__name__ = f"{kind}_by"
    return listing


read = endpoint("read:statuses", body=False)
write = endpoint("write:statuses")
routes = [
    Route("/api/v1/statuses", write(post_status), methods=["POST"]),
    Route("/api/v1/statuses", read(get_statuses), methods=["GET"]),
    Route("/api/v1/statuses/{id}", read(get_status), methods=["GET"]),
    Route("/api/v1/statuses/{id}", write(remove_status), methods=["DELETE"]),
    Route("/api/v1/statuses/{id}", write(update_status), methods=["PUT"]),
    Route("/api/v1/statuses/{id}/history", read(history)),
    Route("/api/v1/statuses/{id}/source", read(source)),
    Route("/api/v1/statuses/{id}/context", read(status_context)),
    Route("/api/v1/statuses/{id}/favourited_by", endpoint("read:accounts", body=False)(
        _who("like"))),
    Route("/api/v1/statuses/{id}/reblogged_by", endpoint("read:accounts", body=False)(
        _who("announce"))),
]
