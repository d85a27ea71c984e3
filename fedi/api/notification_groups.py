"""Grouped notifications, Mastodon 4.3's ``/api/v2/notifications``: list (``types[]``,
``exclude_types[]``, ``account_id``, ``grouped_types[]``, ``expand_accounts``), one group,
its accounts, dismiss, unread count. The same visibility as the v1 list."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.routing import Route

from fedi.api.auth import Call, endpoint, json_response
from fedi.api.errors import not_found
from fedi.api.pagination import link_header, page_of
from fedi.convert.model_to_api import GROUPABLE_NOTIFICATIONS, NOTIFICATION_TYPES, iso
from fedi.models import Actor, Status
from fedi.services.notification_groups import (
    Filters,
    Group,
    dismiss_group,
    find_group,
    grouped_page,
    unread_after,
    unread_groups,
)


def filters_of(call: Call) -> Filters:
    p = call.params
    types = (tuple(t for t in p.list("types") if t in NOTIFICATION_TYPES)
             if p.list("types") else None)
    grouped = (frozenset(t for t in p.list("grouped_types") if t in GROUPABLE_NOTIFICATIONS)
               if p.has("grouped_types") else GROUPABLE_NOTIFICATIONS)
    return Filters(types=types, exclude_types=tuple(p.list("exclude_types")),
                   account_id=p.id("account_id"), grouped=grouped)


def group_entity(group: Group) -> dict[str, Any]:
    ids = [n.id for n in group.rows]
    return {"group_key": group.key, "notifications_count": len(group.rows),
            "type": group.type, "most_recent_notification_id": str(group.newest.id),
            "page_min_id": str(min(ids)), "page_max_id": str(max(ids)),
            "latest_page_notification_at": iso(group.newest.created_at),
            "sample_account_ids": [str(i) for i in group.sample_account_ids()],
            "status_id": str(group.status_id) if group.status_id else None}


def partial_account(entity: dict[str, Any]) -> dict[str, Any]:
    return {k: entity.get(k) for k in ("id", "acct", "url", "avatar", "avatar_static",
                                       "locked", "bot")}


def results(call: Call, groups: list[Group], *, partial: bool = False) -> dict[str, Any]:
    """``GroupedNotificationsResults``: the groups, their accounts and statuses once each."""
    actors = call.render.actors_by_id(i for g in groups for i in g.sample_account_ids())
    status_ids = list(dict.fromkeys(g.status_id for g in groups if g.status_id))
    rows = list(call.session.scalars(select(Status).where(Status.id.in_(status_ids)))
                ) if status_ids else []
    statuses = call.render.statuses(rows)
    shown = {int(s["id"]) for s in statuses}
    entities = []
    for group in groups:
        samples = [i for i in group.sample_account_ids() if i in actors]
        if not samples or (group.status_id and group.status_id not in shown):
            continue
        entity = group_entity(group)
        entity["sample_account_ids"] = [str(i) for i in samples]
        entities.append(entity)
    used = list(dict.fromkeys(int(i) for e in entities for i in e["sample_account_ids"]))
    authors = {int(s["account"]["id"]) for s in statuses}
    full_ids = used
    if partial:
        full_ids = list(dict.fromkeys([int(e["sample_account_ids"][0]) for e in entities]
                                      + [i for i in used if i in authors]))
    accounts = call.render.accounts([actors[i] for i in full_ids])
    out: dict[str, Any] = {"accounts": accounts, "statuses": statuses,
                           "notification_groups": entities}
    if partial:
        out["partial_accounts"] = [partial_account(a) for a in call.render.accounts(
            [actors[i] for i in used if i not in set(full_ids)])]
    return out


async def list_groups(call: Call) -> Any:
    p = call.params
    page = page_of(p, default=40, maximum=80)
    groups = grouped_page(call.session, call.actor.id, call.render.linked, page, filters_of(call))
    partial = p.str("expand_accounts", "full", max_len=32) == "partial_avatars"
    ids = [n.id for g in groups for n in g.rows]
    cursors = [max(ids), min(ids)] if ids else []
    return json_response(results(call, groups, partial=partial), headers=link_header(
        call.hub.urls.base, call.request.url.path, p, cursors))


def _group(call: Call) -> Group:
    group = find_group(call.session, call.actor.id, call.render.linked,
                       call.request.path_params["group_key"])
    if group is None:
        raise not_found()
    return group


async def get_group(call: Call) -> Any:
    out = results(call, [_group(call)])
    if not out["notification_groups"]:
        raise not_found()
    return out


async def group_accounts(call: Call) -> Any:
    group = _group(call)
    ids = list(dict.fromkeys(n.from_actor_id for n in group.rows))
    actors = call.render.actors_by_id(ids)
    return call.render.accounts([actors[i] for i in ids if isinstance(actors.get(i), Actor)])


async def dismiss(call: Call) -> Any:
    dismiss_group(call.session, call.actor.id, call.render.linked,
                  call.request.path_params["group_key"])
    return {}


async def unread_count(call: Call) -> Any:
    limit = call.params.int("limit", 100, low=1, high=1000)
    after = unread_after(call.session, call.user.id)
    return {"count": unread_groups(call.session, call.actor.id, call.render.linked, after,
                                   filters_of(call), cap=limit)}


read = endpoint("read:notifications", body=False)
write = endpoint("write:notifications")
routes = [
    Route("/api/v2/notifications", read(list_groups)),
    Route("/api/v2/notifications/", read(list_groups)),
    Route("/api/v2/notifications/unread_count", read(unread_count)),
    Route("/api/v2/notifications/{group_key}", read(get_group)),
    Route("/api/v2/notifications/{group_key}/accounts", read(group_accounts)),
    Route("/api/v2/notifications/{group_key}/dismiss", write(dismiss), methods=["POST"]),
]
