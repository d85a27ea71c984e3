"""What the member pages share: the member's database session, paging, bounded forms,
the publish context, and post/redirect/get answers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any

from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from fedi.db import transaction
from fedi.models import Actor, User
from fedi.services.timelines import Page
from fedi.site.auth import safe_next
from fedi.site.posts import handle, profile_path
from fedi.web.session import member_of
from fedi.web.state import Hub, hub_of
from fedi.web.templating import render
from outbox.context import PublishContext

LIMIT = 20
MAX_FIELD = 20_000
MAX_ID_DIGITS = 20
Endpoint = Callable[[Request], Awaitable[Response]]


def linked(request: Request) -> frozenset[str]:
    """The linked hubs' domains: their members share the neighbourhood audience."""
    return hub_of(request).peers.allowed()


def publish_ctx(hub: Hub) -> PublishContext:
    from fedi.app import publish_context  # the composition root builds it

    return publish_context(hub)


def parse_id(value: str | None) -> int | None:
    if value is None or not (value.isascii() and value.isdigit()) or len(value) > MAX_ID_DIGITS:
        return None
    number = int(value)
    return number if 0 < number < 2**63 else None


def path_id(request: Request, name: str = "id") -> int:
    """A numeric id in the path, or the 404 page."""
    number = parse_id(request.path_params.get(name))
    if number is None:
        raise HTTPException(404)
    return number


def page_of(request: Request, limit: int = LIMIT) -> Page:
    """``?max_id=`` paging (older than); anything but an id is a 400 page."""
    raw = request.query_params.get("max_id")
    if raw is None or raw == "":
        return Page(limit=limit)
    max_id = parse_id(raw)
    if max_id is None:
        raise HTTPException(400, "max_id")
    return Page(max_id=max_id, limit=limit)


@contextmanager
def reading(request: Request) -> Iterator[tuple[Session, Actor, User]]:
    """A read-only session, with the logged-in member's rows loaded in it."""
    member = member_of(request)
    with hub_of(request).read_sessions() as session:
        actor = session.get(Actor, member.actor.id)
        user = session.get(User, member.user.id)
        assert actor is not None and user is not None
        yield session, actor, user


@contextmanager
def writing(request: Request) -> Iterator[tuple[Session, Actor, User]]:
    """One write transaction (committed when the block ends without an exception)."""
    member = member_of(request)
    with transaction(hub_of(request).write_sessions) as session:
        actor = session.get(Actor, member.actor.id)
        user = session.get(User, member.user.id)
        assert actor is not None and user is not None
        yield session, actor, user


class Refused(Exception):
    """Raised inside ``writing`` to roll everything back and answer ``response`` instead."""

    def __init__(self, response: Response) -> None:
        super().__init__("refused")
        self.response = response


def refusable(endpoint: Endpoint) -> Endpoint:
    """Turns ``Refused`` into its response (after ``writing`` rolled back)."""

    @wraps(endpoint)
    async def run(request: Request) -> Response:
        try:
            return await endpoint(request)
        except Refused as exc:
            return exc.response

    return run


async def read_form(request: Request, names: tuple[str, ...],
                    limit: int = MAX_FIELD) -> dict[str, str]:
    """The named text fields of a posted form, each cut at ``limit`` characters."""
    async with request.form(max_files=0, max_fields=40) as form:
        out: dict[str, str] = {}
        for name in names:
            value = form.get(name, "")
            out[name] = value[:limit] if isinstance(value, str) else ""
        return out


async def read_form_lists(request: Request, names: tuple[str, ...],
                          limit: int = 2000) -> dict[str, list[str]]:
    """Repeated fields (``fields_name`` …) of a posted form."""
    async with request.form(max_files=0, max_fields=40) as form:
        return {name: [v[:limit] for v in form.getlist(name) if isinstance(v, str)][:10]
                for name in names}


def back(next_url: str | None, anchor: str = "") -> Response:
    """Post/redirect/get: back to a local page."""
    target = safe_next(next_url)
    if anchor and "#" not in target:
        target += anchor
    return RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})


def show(request: Request, template: str, values: dict[str, Any], status: int = 200) -> Response:
    """A member page (``fedi.web.templating.render``) with the post-card helpers."""
    return render(request, template, {"profile_path": profile_path, "handle": handle, **values},
                  status=status)
