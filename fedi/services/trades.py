"""Trade categories and the trade rule (non-concurrence: one active member per trade).

``Actor.trade`` holds a category's slug (``plombier``), which federates as ``trade``; labels
are French and English. Turning the rule on never removes anyone: it reports the categories
that already hold several members, and only new sign-ups and profile changes are checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fedi.folding import fold
from fedi.ids import new_id
from fedi.models import Actor, Application, TradeCategory, TradeWaitlistEntry, User
from fedi.services.hub_settings import get_setting, set_setting

MAX_LABEL = 120


class TradeError(ValueError):
    """A trade category that does not exist, or an edit of the list that is refused."""

    def __init__(self, message: str, message_fr: str) -> None:
        super().__init__(message)
        self.message_fr = message_fr


class TradeTaken(Exception):
    """The trade rule is on and this category already has its member."""

    def __init__(self, category: TradeCategory, holder: str, *, waitlisted: bool = False) -> None:
        self.category = category
        self.holder = holder
        self.waitlisted = waitlisted
        super().__init__(self.message("en"))

    def message(self, lang: str) -> str:
        if lang == "en":
            text = (f"The trade “{self.category.label_en}” already has a member on this hub, "
                    "and the hub's one-member-per-trade rule (non-competition) is on.")
            if self.waitlisted:
                text += " You are on the waiting list for this trade."
            return text
        text = (f"Le métier « {self.category.label_fr} » a déjà son membre sur ce hub, et la "
                "règle « un membre par métier » (non-concurrence) est active.")
        if self.waitlisted:
            text += " Vous êtes inscrit·e sur la liste d'attente de ce métier."
        return text


def slugify(label: str) -> str:
    base = re.sub(r"·\w+", "", fold(label))  # drop inclusive endings: plombier·ere → plombier
    return re.sub(r"[^a-z0-9]+", "-", base).strip("-")[:128]


def list_trades(session: Session) -> list[TradeCategory]:
    return list(session.scalars(select(TradeCategory).order_by(TradeCategory.position,
                                                               TradeCategory.slug)))


def find_trade(session: Session, value: str) -> TradeCategory | None:
    """A category by slug, or by its French or English label (accents and case ignored)."""
    value = (value or "").strip()
    if not value or len(value) > 255:
        return None
    row = session.scalar(select(TradeCategory).where(TradeCategory.slug == value))
    if row is not None:
        return row
    wanted = slugify(value)
    for row in list_trades(session):
        if wanted in (row.slug, slugify(row.label_fr), slugify(row.label_en)):
            return row
    return None


def label(category: TradeCategory, lang: str) -> str:
    return category.label_en if lang == "en" else category.label_fr


def add_trade(session: Session, label_fr: str, label_en: str | None = None, *,
              slug: str | None = None, exclusive: bool = True) -> TradeCategory:
    label_fr = label_fr.strip()
    label_en = (label_en or label_fr).strip()
    if not label_fr or len(label_fr) > MAX_LABEL or len(label_en) > MAX_LABEL:
        raise TradeError(f"a trade label is 1 to {MAX_LABEL} characters",
                         f"un libellé de métier fait de 1 à {MAX_LABEL} caractères")
    slug = slugify(slug or label_fr)
    if not slug:
        raise TradeError("the trade needs letters or digits in its name",
                         "le métier doit contenir des lettres ou des chiffres")
    if session.scalar(select(TradeCategory.id).where(TradeCategory.slug == slug)):
        raise TradeError(f"the trade {slug!r} already exists", f"le métier {slug!r} existe déjà")
    position = (session.scalar(select(func.max(TradeCategory.position))) or 0) + 1
    row = TradeCategory(id=new_id(), slug=slug, label_fr=label_fr, label_en=label_en,
                        position=position, exclusive=exclusive)
    session.add(row)
    session.flush()
    return row


def remove_trade(session: Session, value: str) -> TradeCategory:
    """Remove a category from the list; members who chose it keep it on their profile."""
    row = find_trade(session, value)
    if row is None:
        raise TradeError(f"there is no trade {value!r}", f"il n'y a pas de métier {value!r}")
    session.delete(row)
    session.flush()
    return row


def holders(session: Session, slug: str, *, exclude_actor_id: int | None = None,
            exclude_application_id: int | None = None) -> list[str]:
    """Usernames of the active members of this hub whose trade is ``slug`` (and of the
    applications waiting for an admin with it)."""
    query = (select(Actor.username).join(User, User.actor_id == Actor.id)
             .where(Actor.local, Actor.trade == slug, Actor.deleted_at.is_(None),
                    User.disabled.is_(False)).order_by(Actor.username))
    if exclude_actor_id is not None:
        query = query.where(Actor.id != exclude_actor_id)
    names = list(session.scalars(query))
    waiting = select(Application.username).where(Application.trade == slug,
                                                  Application.state == "pending")
    if exclude_application_id is not None:
        waiting = waiting.where(Application.id != exclude_application_id)
    return names + list(session.scalars(waiting))


def rule_is_on(session: Session) -> bool:
    return bool(get_setting(session, "trade_rule"))


def check_trade_free(session: Session, category: TradeCategory, *,
                     exclude_actor_id: int | None = None,
                     exclude_application_id: int | None = None) -> None:
    """Raise TradeTaken when the rule is on and someone already holds this category."""
    if not category.exclusive or not rule_is_on(session):
        return
    taken = holders(session, category.slug, exclude_actor_id=exclude_actor_id,
                    exclude_application_id=exclude_application_id)
    if taken:
        raise TradeTaken(category, taken[0])


def check_trade_change(session: Session, actor: Actor, value: str) -> str:
    """For a profile change: the slug to store, or TradeError / TradeTaken (after putting
    the member on the waiting list when the hub is set so)."""
    category = find_trade(session, value)
    if category is None:
        raise TradeError(f"{value!r} is not one of this hub's trades",
                         f"« {value} » n'est pas un des métiers de ce hub")
    if actor.trade == category.slug:
        return category.slug
    try:
        check_trade_free(session, category, exclude_actor_id=actor.id)
    except TradeTaken as exc:
        if get_setting(session, "trade_rule_action") == "waitlist":
            join_waitlist(session, category.slug, actor_id=actor.id)
            raise TradeTaken(category, exc.holder, waitlisted=True) from None
        raise
    return category.slug


def join_waitlist(session: Session, slug: str, *, actor_id: int | None = None,
                  application_id: int | None = None) -> TradeWaitlistEntry:
    existing = session.scalar(select(TradeWaitlistEntry).where(
        TradeWaitlistEntry.trade == slug, TradeWaitlistEntry.actor_id == actor_id,
        TradeWaitlistEntry.application_id == application_id))
    if existing is not None:
        return existing
    entry = TradeWaitlistEntry(id=new_id(), trade=slug, actor_id=actor_id,
                               application_id=application_id)
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class Crowded:
    slug: str
    members: tuple[str, ...]


def crowded_trades(session: Session) -> list[Crowded]:
    """Exclusive categories that already hold more than one active member."""
    out = []
    for category in list_trades(session):
        if not category.exclusive:
            continue
        names = holders(session, category.slug)
        if len(names) > 1:
            out.append(Crowded(category.slug, tuple(names)))
    return out


def set_trade_rule(session: Session, on: bool) -> list[Crowded]:
    """Switch the rule; nobody is removed. Returns the categories already over the limit."""
    set_setting(session, "trade_rule", on)
    return crowded_trades(session) if on else []
