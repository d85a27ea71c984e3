"""Sign-up by co-optation: one set of checks for the web form, the client API and the CLI.

Everything is checked before anything is written, so a refused sign-up leaves no trace (the
caller's transaction holds all of it). Modes (hub setting ``registration_mode``): ``invite``
makes a member at once, ``approval`` queues an application for the admins, ``closed`` refuses.
With the trade rule on, a taken trade is refused, or queued on the waiting list.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fedi.config import Settings
from fedi.db import utcnow
from fedi.ids import new_id
from fedi.models import Actor, Application, Invite, TradeCategory, User
from fedi.services.accounts import (
    EMAIL_RE,
    RESERVED,
    USERNAME_RE,
    create_user,
    hash_password,
    is_reserved_username,
)
from fedi.services.hub_settings import get_setting
from fedi.services.invites import InviteError, consume, record_sponsorship, usable_invite
from fedi.services.mail_links import (
    application_approved,
    application_received,
    application_refused,
    send_confirmation,
)
from fedi.services.territory import POSTAL_RE, city_for, in_territory
from fedi.services.trades import TradeTaken, check_trade_free, find_trade, join_waitlist

RELATIONS = ("lives", "works", "both")
MAX_NAME = 100
MAX_BUSINESS = 255


class RegistrationError(ValueError):
    """A refused sign-up: the field, a Mastodon-style error code, and messages in FR and EN.

    ``status`` is what the client API answers: 403 when the hub does not let this person in
    at all (closed, no or bad invite), 422 for a field to correct.
    """

    def __init__(self, field: str, code: str, message: str, message_fr: str,
                 status: int = 422) -> None:
        super().__init__(message)
        self.field = field
        self.code = code
        self.message_fr = message_fr
        self.status = status

    def message(self, lang: str) -> str:
        return str(self) if lang == "en" else self.message_fr


@dataclass(frozen=True)
class SignupForm:
    invite_code: str
    username: str
    email: str
    password: str
    postal_code: str
    relation: str
    trade: str
    display_name: str = ""
    business_name: str = ""
    locale: str = "fr"
    # The privacy policy and rules accepted (site checkbox, API ``agreement``); None when
    # not asked (an admin's command line), False refuses the sign-up.
    agreement: bool | None = None


@dataclass(frozen=True)
class Outcome:
    """``member`` (account made), ``pending`` (waits for an admin) or ``waitlisted``."""

    state: str
    user: User | None = None
    application: Application | None = None
    status_token: str | None = None


def _err(field: str, code: str, en: str, fr: str, status: int = 422) -> RegistrationError:
    return RegistrationError(field, code, en, fr, status)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_identity(session: Session, username: str, email: str, *,
                    application_id: int | None = None) -> None:
    if not USERNAME_RE.match(username) or username in RESERVED:
        raise _err("username", "ERR_INVALID",
                   "The username must be 1 to 30 lower-case letters, digits or _ (and not a reserved word).",
                   "L'identifiant fait de 1 à 30 caractères : minuscules, chiffres ou _ (et pas un mot réservé).")
    if is_reserved_username(session, username):
        raise _err("username", "ERR_TAKEN",
                   f"The username “{username}” belonged to a deleted account and cannot be "
                   "used again.",
                   f"L'identifiant « {username} » appartenait à un compte supprimé et ne peut "
                   "plus être utilisé.")
    taken = session.scalar(select(func.count()).select_from(Actor).where(
        Actor.local, Actor.username == username))
    waiting = session.scalar(select(func.count()).select_from(Application).where(
        Application.username == username, Application.state.in_(("pending", "waitlisted")),
        Application.id != (application_id or 0)))
    if taken or waiting:
        raise _err("username", "ERR_TAKEN", f"The username “{username}” is already taken.",
                   f"L'identifiant « {username} » est déjà pris.")
    if not EMAIL_RE.match(email) or len(email) > 320:
        raise _err("email", "ERR_INVALID", f"“{email}” is not an email address.",
                   f"« {email} » n'est pas une adresse e-mail.")
    used = session.scalar(select(func.count()).select_from(User).where(
        func.lower(User.email) == email.lower()))
    queued = session.scalar(select(func.count()).select_from(Application).where(
        func.lower(Application.email) == email.lower(),
        Application.state.in_(("pending", "waitlisted")), Application.id != (application_id or 0)))
    if used or queued:
        raise _err("email", "ERR_TAKEN", "This email address is already registered on this hub.",
                   "Cette adresse e-mail est déjà inscrite sur ce hub.")


def check_postal_code(settings: Settings, postal_code: str) -> None:
    """The sign-up rule on the postal code, kept by every later profile change too."""
    if not POSTAL_RE.match(postal_code):
        raise _err("postal_code", "ERR_INVALID", "The postal code must be 5 digits (e.g. 75011).",
                   "Le code postal compte 5 chiffres (par exemple 75011).")
    if not in_territory(settings, postal_code):
        area = city_for(settings).describe(settings.territory) or ", ".join(settings.territory)
        raise _err("postal_code", "ERR_OUTSIDE_TERRITORY",
                   f"{postal_code} is outside this hub's territory ({area}): members live or "
                   "work in the neighbourhood. Look for the hub of your own neighbourhood.",
                   f"{postal_code} est hors du territoire de ce hub ({area}) : les membres vivent "
                   "ou travaillent dans le quartier. Cherchez le hub de votre quartier.")


def _check_place(settings: Settings, postal_code: str, relation: str) -> None:
    check_postal_code(settings, postal_code)
    if relation not in RELATIONS:
        raise _err("relation", "ERR_INVALID",
                   "Say whether you live or work in the neighbourhood (lives, works or both).",
                   "Indiquez si vous habitez ou travaillez dans le quartier.")


def check_trade(session: Session, value: str, *, actor: Actor | None = None) -> TradeCategory:
    """The hub's category for ``value`` (the sign-up rule, kept by profile changes too).

    Raises RegistrationError for a trade not in the hub's list, and TradeTaken when the
    trade rule is on and another active member (or a pending application) holds it. A
    member keeping their own current trade is never refused.
    """
    category = find_trade(session, value)
    if category is None:
        raise _err("trade", "ERR_INVALID", "Choose your trade in the hub's list.",
                   "Choisissez votre métier dans la liste du hub.")
    if actor is None or actor.trade != category.slug:
        check_trade_free(session, category, exclude_actor_id=actor.id if actor else None)
    return category


def trade_taken(exc: TradeTaken) -> RegistrationError:
    return _err("trade", "ERR_TRADE_TAKEN", exc.message("en"), exc.message("fr"))


def check_form(session: Session, settings: Settings, form: SignupForm, *,
               now: datetime | None = None) -> tuple[Invite, str, str]:
    """Every check of a sign-up, no writes. Returns the invite, the trade slug and the
    state it would get (``member``, ``pending`` or ``waitlisted``)."""
    mode = get_setting(session, "registration_mode")
    if mode == "closed":
        raise _err("base", "ERR_CLOSED", "Registrations are closed on this hub.",
                   "Les inscriptions sont fermées sur ce hub.", 403)
    try:
        invite = usable_invite(session, form.invite_code, now=now)
    except InviteError as exc:
        raise _err("invite_code", f"ERR_INVITE_{exc.code.upper()}", str(exc), exc.message_fr,
                   403) from None
    if form.agreement is False:
        raise _err("agreement", "ERR_ACCEPTED",
                   "You must accept the hub's rules and privacy policy.",
                   "Il faut accepter les règles et la politique de confidentialité du hub.")
    _check_identity(session, form.username, form.email)
    if not 8 <= len(form.password) <= 1024:
        raise _err("password", "ERR_TOO_SHORT", "The password must be at least 8 characters.",
                   "Le mot de passe compte au moins 8 caractères.")
    if len(form.display_name) > MAX_NAME:
        raise _err("display_name", "ERR_TOO_LONG", f"The name is over {MAX_NAME} characters.",
                   f"Le nom dépasse {MAX_NAME} caractères.")
    if len(form.business_name) > MAX_BUSINESS:
        raise _err("business_name", "ERR_TOO_LONG",
                   f"The business name is over {MAX_BUSINESS} characters.",
                   f"Le nom de l'entreprise dépasse {MAX_BUSINESS} caractères.")
    _check_place(settings, form.postal_code, form.relation)
    state = "pending" if mode == "approval" else "member"
    try:
        slug = check_trade(session, form.trade).slug
    except TradeTaken as exc:
        if get_setting(session, "trade_rule_action") != "waitlist":
            raise trade_taken(exc) from None
        slug, state = exc.category.slug, "waitlisted"
    return invite, slug, state


def normalise(form: SignupForm) -> SignupForm:
    def clean(text: str) -> str:
        return re.sub(r"\s+", " ", text or "").strip()

    return SignupForm(
        invite_code=(form.invite_code or "").strip(), username=clean(form.username).lower().lstrip("@"),
        email=clean(form.email), password=form.password or "",
        postal_code=clean(form.postal_code), relation=clean(form.relation).lower(),
        trade=clean(form.trade), display_name=clean(form.display_name),
        business_name=clean(form.business_name), locale="en" if form.locale == "en" else "fr",
        agreement=form.agreement)


def register(session: Session, settings: Settings, form: SignupForm, *,
             now: datetime | None = None, password_hash: str | None = None,
             private_key_pem: str | None = None) -> Outcome:
    """Check, then make the member (or the application). Raises RegistrationError.

    ``password_hash``: the form's password hashed beforehand, outside the transaction
    (fedi.services.passwords); without it the hash is made here, holding the transaction.
    ``private_key_pem``: the new member's key, likewise (``fedi.keys``)."""
    form = normalise(form)
    invite, trade, state = check_form(session, settings, form, now=now)
    try:
        consume(session, invite)
    except InviteError as exc:
        raise _err("invite_code", "ERR_INVITE_USED_UP", str(exc), exc.message_fr, 403) from None
    if state == "member":
        user = _make_member(session, settings, form, trade, password_hash=password_hash,
                            private_key_pem=private_key_pem,
                            sponsor_user_id=invite.inviter_user_id, invite_id=invite.id)
        if form.agreement:
            user.privacy_consent_at = now or utcnow()
        send_confirmation(session, settings, user, now=now)
        return Outcome("member", user=user)
    token = secrets.token_urlsafe(24)
    application = Application(
        id=new_id(), invite_id=invite.id, sponsor_user_id=invite.inviter_user_id,
        username=form.username, email=form.email,
        password_hash=password_hash or hash_password(form.password, settings),
        display_name=form.display_name, trade=trade, business_name=form.business_name,
        postal_code=form.postal_code, relation=form.relation, locale=form.locale, state=state,
        status_token_hash=token_hash(token), created_at=now or utcnow(),
        privacy_consent_at=(now or utcnow()) if form.agreement else None)
    session.add(application)
    session.flush()
    if state == "waitlisted":
        join_waitlist(session, trade, application_id=application.id)
    application_received(session, settings, application, token)
    return Outcome(state, application=application, status_token=token)


def _make_member(session: Session, settings: Settings, form: SignupForm, trade: str, *,
                 password_hash: str | None, sponsor_user_id: int | None,
                 invite_id: int | None, private_key_pem: str | None = None) -> User:
    user = create_user(session, settings, form.username, email=form.email,
                       password=form.password if password_hash is None else secrets.token_urlsafe(16),
                       display_name=form.display_name or form.username,
                       password_hash=password_hash, private_key_pem=private_key_pem)
    user.locale = form.locale
    actor = session.get(Actor, user.actor_id)
    assert actor is not None
    actor.trade = trade
    actor.business_name = form.business_name or None
    actor.postal_code = form.postal_code
    record_sponsorship(session, user, form.username, sponsor_user_id=sponsor_user_id,
                       invite_id=invite_id, relation=form.relation)
    session.flush()
    return user


class ApplicationError(ValueError):
    """An admin decision that cannot be applied; the message says why."""


def find_application(session: Session, ref: str) -> Application:
    ref = ref.strip().lstrip("@")
    row = None
    if ref.isascii() and ref.isdigit():
        row = session.get(Application, int(ref))
    if row is None:
        row = session.scalar(select(Application).where(
            Application.username == ref.lower(),
            Application.state.in_(("pending", "waitlisted"))))
    if row is None:
        raise ApplicationError(f"there is no waiting application {ref!r}")
    return row


def approve(session: Session, settings: Settings, application: Application, *,
            force: bool = False, now: datetime | None = None,
            private_key_pem: str | None = None) -> User:
    """Make the member. A waitlisted trade must have freed up, unless ``force``.
    ``private_key_pem``: the member's key made beforehand, outside the transaction."""
    if application.state not in ("pending", "waitlisted"):
        raise ApplicationError(f"the application of {application.username} is {application.state}")
    category = find_trade(session, application.trade)
    if category is not None and not force:
        try:
            check_trade_free(session, category, exclude_application_id=application.id)
        except TradeTaken as exc:
            raise ApplicationError(f"{exc.message('en')} (approve with --force to lift the rule "
                                   "for this member)") from None
    # The username and email were free when the application was made; check again.
    try:
        _check_identity(session, application.username, application.email,
                        application_id=application.id)
    except RegistrationError as exc:
        raise ApplicationError(str(exc)) from None
    form = SignupForm(invite_code="", username=application.username, email=application.email,
                      password="", postal_code=application.postal_code,
                      relation=application.relation, trade=application.trade,
                      display_name=application.display_name,
                      business_name=application.business_name, locale=application.locale)
    user = _make_member(session, settings, form, application.trade,
                        password_hash=application.password_hash,
                        private_key_pem=private_key_pem,
                        sponsor_user_id=application.sponsor_user_id,
                        invite_id=application.invite_id)
    user.privacy_consent_at = application.privacy_consent_at
    application.state = "approved"
    application.user_id = user.id
    application.decided_at = now or utcnow()
    application_approved(session, settings, application, user)
    return user


def refuse(session: Session, application: Application, reason: str = "", *,
           now: datetime | None = None, settings: Settings | None = None) -> None:
    """Refuse the application; with ``settings``, the applicant is told by mail."""
    if application.state not in ("pending", "waitlisted"):
        raise ApplicationError(f"the application of {application.username} is {application.state}")
    application.state = "refused"
    application.reason = reason[:2000]
    application.decided_at = now or utcnow()
    application.password_hash = ""  # nothing to keep once refused
    if settings is not None:
        application_refused(session, settings, application)


def list_applications(session: Session, states: tuple[str, ...] = ("pending", "waitlisted")
                      ) -> list[Application]:
    return list(session.scalars(select(Application).where(Application.state.in_(states))
                                .order_by(Application.created_at)))


def application_by_token(session: Session, token: str) -> Application | None:
    if not token or len(token) > 128:
        return None
    return session.scalar(select(Application).where(
        Application.status_token_hash == token_hash(token)))
