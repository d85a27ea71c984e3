"""Follow, unfollow, block, mute, relationships and follow requests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.routing import Route

from fedi.api.accounts import account_or_404
from fedi.api.auth import Call, endpoint, json_response
from fedi.api.errors import not_found, unprocessable
from fedi.api.pagination import link_header, page_of
from fedi.models import Actor, Block, Follow
from fedi.services import interactions
from fedi.services.interactions import InteractionError
from fedi.services.relationships import (
    RelationshipError,
    accept_follow,
    follow,
    may_list_follows,
    reject_follow,
    unfollow,
)
from fedi.services.timelines import newest_first, paginate


def _relationship(call: Call, target: Actor) -> Any:
    return call.render.relationships([target.id])[0]


async def follow_account(call: Call) -> Any:
    target = account_or_404(call.session, call.path_id())
    try:
        notify = call.params.bool("notify") if call.params.has("notify") else None
        follow(call.session, call.ctx, call.actor, target, notify=notify)
    except RelationshipError as exc:
        raise unprocessable(str(exc)) from None
    call.session.flush()
    return _relationship(call, target)


async def unfollow_account(call: Call) -> Any:
    target = account_or_404(call.session, call.path_id())
    unfollow(call.session, call.ctx, call.actor, target)
    call.session.flush()
    return _relationship(call, target)


async def remove_from_followers(call: Call) -> Any:
    target = account_or_404(call.session, call.path_id())
    try:
        reject_follow(call.session, call.ctx, call.actor, target)
    except RelationshipError:
        pass  # not a follower: nothing to remove
    call.session.flush()
    return _relationship(call, target)


def _act(name: str, with_ctx: bool) -> Any:
    async def act(call: Call) -> Any:
        target = account_or_404(call.session, call.path_id())
        fn = getattr(interactions, name)
        try:
            if with_ctx:
                fn(call.session, call.ctx, call.actor, target)
            else:
                fn(call.session, call.actor, target)
        except InteractionError as exc:
            raise unprocessable(str(exc)) from None
        call.session.flush()
        return _relationship(call, target)

    act.__name__ = name
    return act


async def note(call: Call) -> Any:
    return _relationship(call, account_or_404(call.session, call.path_id()))


async def relationships(call: Call) -> Any:
    return call.render.relationships(call.params.id_list("id"))


async def familiar_followers(call: Call) -> Any:
    me = call.actor.id
    out = []
    for target_id in call.params.id_list("id"):
        # Part of the target's followers list, and of each familiar follower's following
        # list: shown only where those lists may be seen (may_list_follows).
        target = call.session.get(Actor, target_id)
        actors: list[Actor] = []
        if target is not None and may_list_follows(call.actor, target):
            mine = select(Follow.followee_id).where(Follow.follower_id == me,
                                                    Follow.state == "accepted")
            actors = [a for a in call.session.scalars(
                select(Actor).join(Follow, Follow.follower_id == Actor.id)
                .where(Follow.followee_id == target_id, Follow.state == "accepted",
                       Actor.id.in_(mine), Actor.deleted_at.is_(None)).limit(40))
                if may_list_follows(call.actor, a)]
        out.append({"id": str(target_id), "accounts": call.render.accounts(actors)})
    return out


async def follow_requests(call: Call) -> Any:
    page = page_of(call.params, default=40, maximum=80)
    query = (select(Follow.id, Actor).join(Actor, Actor.id == Follow.follower_id)
             .where(Follow.followee_id == call.actor.id, Follow.state == "requested",
                    Actor.deleted_at.is_(None)))
    rows = newest_first(call.session.execute(paginate(query, Follow.id, page)).all(), page)
    return json_response(call.render.accounts([a for _i, a in rows]), headers=link_header(
        call.hub.urls.base, call.request.url.path, call.params, [i for i, _a in rows]))


async def authorize_request(call: Call) -> Any:
    follower = account_or_404(call.session, call.path_id())
    try:
        accept_follow(call.session, call.ctx, call.actor, follower)
    except RelationshipError:
        raise not_found() from None
    call.session.flush()
    return _relationship(call, follower)


async def reject_request(call: Call) -> Any:
    follower = account_or_404(call.session, call.path_id())
    row = call.session.scalar(select(Follow).where(Follow.follower_id == follower.id,
                                                   Follow.followee_id == call.actor.id,
                                                   Follow.state == "requested"))
    if row is None:
        raise not_found()
    reject_follow(call.session, call.ctx, call.actor, follower)
    call.session.flush()
    return _relationship(call, follower)


def _blocked_list(kind: str) -> Any:
    async def listing(call: Call) -> Any:
        page = page_of(call.params, default=40, maximum=80)
        query = (select(Block.id, Actor).join(Actor, Actor.id == Block.target_id)
                 .where(Block.actor_id == call.actor.id, Block.kind == kind))
        rows = newest_first(call.session.execute(paginate(query, Block.id, page)).all(), page)
        return json_response(call.render.accounts([a for _i, a in rows]), headers=link_header(
            call.hub.urls.base, call.request.url.path, call.params, [i for i, _a in rows]))

    listing.__name__ = f"{kind}s"
    return listing


follows = endpoint("write:follows")
blocks = endpoint("write:blocks")
mutes = endpoint("write:mutes")
routes = [
    Route("/api/v1/accounts/relationships", endpoint("read:follows", body=False)(relationships)),
    Route("/api/v1/accounts/familiar_followers",
          endpoint("read:follows", body=False)(familiar_followers)),
    Route("/api/v1/accounts/{id}/follow", follows(follow_account), methods=["POST"]),
    Route("/api/v1/accounts/{id}/unfollow", follows(unfollow_account), methods=["POST"]),
    Route("/api/v1/accounts/{id}/remove_from_followers", follows(remove_from_followers),
          methods=["POST"]),
    Route("/api/v1/accounts/{id}/block", blocks(_act("block", True)), methods=["POST"]),
    Route("/api/v1/accounts/{id}/unblock", blocks(_act("unblock", True)), methods=["POST"]),
    Route("/api/v1/accounts/{id}/mute", mutes(_act("mute", False)), methods=["POST"]),
    Route("/api/v1/accounts/{id}/unmute", mutes(_act("unmute", False)), methods=["POST"]),
    Route("/api/v1/accounts/{id}/note", endpoint("write:accounts")(note), methods=["POST"]),
    Route("/api/v1/follow_requests", endpoint("read:follows", body=False)(follow_requests)),
    Route("/api/v1/follow_requests/{id}/authorize", follows(authorize_request),
          methods=["POST"]),
    Route("/api/v1/follow_requests/{id}/reject", follows(reject_request), methods=["POST"]),
    Route("/api/v1/blocks", endpoint("read:blocks", body=False)(_blocked_list("block"))),
    Route("/api/v1/mutes", endpoint("read:mutes", body=False)(_blocked_list("mute"))),
]
