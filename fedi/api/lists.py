"""Lists (Mastodon's ``/api/v1/lists``): CRUD, their accounts, the lists holding an account,
and the list timeline. Only the owner sees a list."""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from fedi.api.auth import Call, endpoint, json_response
from fedi.api.errors import ApiError
from fedi.api.pagination import link_header, page_of
from fedi.models import AccountList
from fedi.services import lists as service


def entity(row: AccountList) -> dict[str, Any]:
    return {"id": str(row.id), "title": row.title, "replies_policy": row.replies_policy,
            "exclusive": row.exclusive}


def _spec(call: Call) -> service.ListSpec:
    p = call.params
    return service.ListSpec(
        title=p.str("title", max_len=10_000) if p.has("title") else None,
        replies_policy=p.str("replies_policy", max_len=32) if p.has("replies_policy") else None,
        exclusive=p.bool("exclusive") if p.has("exclusive") else None)


def _run(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except service.ListError as exc:
        raise ApiError(exc.status, exc.message) from exc


def _own(call: Call) -> AccountList:
    return _run(service.find_list, call.session, call.actor, call.path_id())


async def index(call: Call) -> Any:
    return [entity(r) for r in service.lists_of(call.session, call.actor)]


async def create(call: Call) -> Any:
    return entity(_run(service.create_list, call.session, call.actor, _spec(call)))


async def show(call: Call) -> Any:
    return entity(_own(call))


async def update(call: Call) -> Any:
    return entity(_run(service.update_list, call.session, _own(call), _spec(call)))


async def remove(call: Call) -> Any:
    service.delete_list(call.session, _own(call))
    return {}


async def accounts(call: Call) -> Any:
    row = _own(call)
    limit = call.params.int("limit", 40, low=0, high=500)
    return call.render.accounts(service.accounts_of(call.session, row, limit or None))


async def add_accounts(call: Call) -> Any:
    row = _own(call)
    _run(service.add_accounts, call.session, call.actor, row,
         call.params.id_list("account_ids", max_items=service.MAX_ACCOUNTS))
    return {}


async def remove_accounts(call: Call) -> Any:
    row = _own(call)
    service.remove_accounts(call.session, row,
                            call.params.id_list("account_ids", max_items=service.MAX_ACCOUNTS))
    return {}


async def account_lists(call: Call) -> Any:
    return [entity(r) for r in service.lists_with(call.session, call.actor, call.path_id())]


async def timeline(call: Call) -> Any:
    row = _own(call)
    rows = service.list_timeline(call.session, call.actor, call.render.linked, row,
                                 page_of(call.params))
    return json_response(call.render.statuses(rows), headers=link_header(
        call.hub.urls.base, call.request.url.path, call.params, [r.id for r in rows]))


read = endpoint("read:lists", body=False)
write = endpoint("write:lists")
routes = [
    Route("/api/v1/lists", read(index), methods=["GET"]),
    Route("/api/v1/lists", write(create), methods=["POST"]),
    Route("/api/v1/lists/{id}", read(show), methods=["GET"]),
    Route("/api/v1/lists/{id}", write(update), methods=["PUT"]),
    Route("/api/v1/lists/{id}", write(remove), methods=["DELETE"]),
    Route("/api/v1/lists/{id}/accounts", read(accounts), methods=["GET"]),
    Route("/api/v1/lists/{id}/accounts", write(add_accounts), methods=["POST"]),
    Route("/api/v1/lists/{id}/accounts", write(remove_accounts), methods=["DELETE"]),
    Route("/api/v1/accounts/{id}/lists", read(account_lists)),
    Route("/api/v1/timelines/list/{id}", endpoint("read:lists", body=False)(timeline)),
]
