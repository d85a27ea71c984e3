"""A member's lists (Mastodon lists): create, rename, delete, add and remove accounts the
member follows, and the list's timeline (what the member may see of those accounts)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from fedi.db import utcnow
from fedi.ids import new_id
from fedi.models import AccountList, AccountListEntry, Actor, Follow, Status
from fedi.services.timelines import Page, by_authors

REPLIES_POLICIES = ("followed", "list", "none")
MAX_LISTS = 100
MAX_ACCOUNTS = 500
MAX_TITLE = 200


class ListError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class ListSpec:
    title: str | None = None
    replies_policy: str | None = None
    exclusive: bool | None = None


def _checked(spec: ListSpec, *, creating: bool) -> ListSpec:
    title = spec.title.strip() if spec.title is not None else None
    if (creating or spec.title is not None) and not title:
        raise ListError(422, "Validation failed: Title can't be blank")
    if title is not None and len(title) > MAX_TITLE:
        raise ListError(422, f"Validation failed: Title is longer than {MAX_TITLE} characters")
    if spec.replies_policy is not None and spec.replies_policy not in REPLIES_POLICIES:
        raise ListError(422, "replies_policy must be followed, list or none")
    return ListSpec(title, spec.replies_policy, spec.exclusive)


def lists_of(session: Session, owner: Actor) -> list[AccountList]:
    return list(session.scalars(select(AccountList).where(AccountList.owner_id == owner.id)
                                .order_by(AccountList.id)))


def find_list(session: Session, owner: Actor, list_id: int) -> AccountList:
    row = session.get(AccountList, list_id)
    if row is None or row.owner_id != owner.id:
        raise ListError(404, "Record not found")
    return row


def create_list(session: Session, owner: Actor, spec: ListSpec) -> AccountList:
    spec = _checked(spec, creating=True)
    if len(lists_of(session, owner)) >= MAX_LISTS:
        raise ListError(422, f"Validation failed: at most {MAX_LISTS} lists")
    row = AccountList(id=new_id(), owner_id=owner.id, title=spec.title or "",
                      replies_policy=spec.replies_policy or "list",
                      exclusive=bool(spec.exclusive), created_at=utcnow())
    session.add(row)
    session.flush()
    return row


def update_list(session: Session, row: AccountList, spec: ListSpec) -> AccountList:
    spec = _checked(spec, creating=False)
    if spec.title is not None:
        row.title = spec.title
    if spec.replies_policy is not None:
        row.replies_policy = spec.replies_policy
    if spec.exclusive is not None:
        row.exclusive = spec.exclusive
    session.flush()
    return row


def delete_list(session: Session, row: AccountList) -> None:
    session.execute(delete(AccountListEntry).where(AccountListEntry.list_id == row.id))
    session.delete(row)


def accounts_of(session: Session, row: AccountList, limit: int | None = None) -> list[Actor]:
    query = (select(Actor).join(AccountListEntry, AccountListEntry.actor_id == Actor.id)
             .where(AccountListEntry.list_id == row.id, Actor.deleted_at.is_(None))
             .order_by(AccountListEntry.id))
    return list(session.scalars(query.limit(limit) if limit else query))


def add_accounts(session: Session, owner: Actor, row: AccountList, ids: list[int]) -> None:
    """Accounts the owner follows (as Mastodon requires); all or nothing."""
    if not ids:
        raise ListError(422, "account_ids must name at least one account")
    followed = set(session.scalars(select(Follow.followee_id).where(
        Follow.follower_id == owner.id, Follow.state == "accepted",
        Follow.followee_id.in_(ids))))
    missing = [i for i in ids if i not in followed]
    if missing:
        if any(session.get(Actor, i) is None for i in missing):
            raise ListError(404, "Record not found")
        raise ListError(422, "Validation failed: you must follow an account to list it")
    present = set(session.scalars(select(AccountListEntry.actor_id).where(
        AccountListEntry.list_id == row.id)))
    if len(present | set(ids)) > MAX_ACCOUNTS:
        raise ListError(422, f"Validation failed: at most {MAX_ACCOUNTS} accounts per list")
    for actor_id in dict.fromkeys(ids):
        if actor_id not in present:
            session.add(AccountListEntry(id=new_id(), list_id=row.id, actor_id=actor_id))
    session.flush()


def remove_accounts(session: Session, row: AccountList, ids: list[int]) -> None:
    session.execute(delete(AccountListEntry).where(AccountListEntry.list_id == row.id,
                                                   AccountListEntry.actor_id.in_(ids)))


def lists_with(session: Session, owner: Actor, actor_id: int) -> list[AccountList]:
    return list(session.scalars(
        select(AccountList).join(AccountListEntry, AccountListEntry.list_id == AccountList.id)
        .where(AccountList.owner_id == owner.id, AccountListEntry.actor_id == actor_id)
        .order_by(AccountList.id)))


def list_timeline(session: Session, owner: Actor, linked: frozenset[str], row: AccountList,
                  page: Page) -> list[Status]:
    """What the owner may see of the listed accounts (``replies_policy=none``: no replies)."""
    authors = select(AccountListEntry.actor_id).where(AccountListEntry.list_id == row.id)
    return by_authors(session, owner, linked, authors, page,
                      replies=row.replies_policy != "none")
