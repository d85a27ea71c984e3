"""Local accounts: create members (with their keys) and the hub's instance actor."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fedi.config import Settings
from fedi.convert.model_to_api import TO_API
from fedi.ids import Urls, new_id
from fedi.keys import generate_private_key_pem, public_pem_from_private
from fedi.models import Actor, User
from fedi.services.hub_settings import get_setting

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9_]{0,29}$")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,63}$")
ROLES = ("admin", "moderator", "member")
INSTANCE_USERNAME = "_hub"
RESERVED = {"actor", "inbox", "users", "api", "oauth", "about", "members", "hub", "root"}

# Argon2id with the library's parameters (3 passes over 64 MiB) unless the config's
# ``[passwords]`` table says otherwise; checks read the parameters from each stored hash.
_hasher = PasswordHasher()


class AccountError(ValueError):
    """A request to create or change an account was refused; the message says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def hasher_for(settings: Settings) -> PasswordHasher:
    """The hasher ``[passwords]`` asks for (``time_cost``, ``memory_kib``): lower only on
    machines that run the test suite, where each hub hashes dozens of passwords."""
    table = settings.extra.get("passwords", {}) or {}
    if not table:
        return _hasher
    return PasswordHasher(time_cost=int(table.get("time_cost", _hasher.time_cost)),
                          memory_cost=int(table.get("memory_kib", _hasher.memory_cost)))


def use_password_settings(settings: Settings) -> None:
    """New hashes and rehash-at-login of this process follow the hub's ``[passwords]``."""
    global _hasher
    _hasher = hasher_for(settings)


def use_password_cost(*, time_cost: int, memory_kib: int) -> None:
    """The same, without a config (the test suite's own process)."""
    global _hasher
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)


def hash_password(password: str, settings: Settings | None = None) -> str:
    return (_hasher if settings is None else hasher_for(settings)).hash(password)


def check_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's (rehash at login)."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except (InvalidHashError, ValueError):
        return False


def is_reserved_username(session: Session, username: str) -> bool:
    """A username that belonged to a deleted account (fedi.services.erasure): the actor row
    stays, marked deleted, so the name is never given to someone else."""
    name = username.strip().lstrip("@").lower()
    return session.scalar(select(Actor.id).where(
        Actor.local, Actor.username == name, Actor.deleted_at.is_not(None))) is not None


def validate_new_account(
    session: Session, username: str, email: str, password: str, role: str
) -> None:
    if not USERNAME_RE.match(username) or username in RESERVED:
        raise AccountError(
            "username",
            "username must be 1–30 lower-case letters, digits or _, not reserved",
        )
    if not EMAIL_RE.match(email):
        raise AccountError("email", f"{email!r} is not an email address")
    if len(password) < 8 or len(password) > 1024:
        raise AccountError("password", "password must be 8 to 1024 characters")
    if role not in ROLES:
        raise AccountError("role", f"role must be one of {', '.join(ROLES)}")
    if is_reserved_username(session, username):
        raise AccountError("username", f"username {username!r} belonged to a deleted account "
                           "and cannot be used again")
    taken = session.scalar(
        select(func.count()).select_from(Actor).where(Actor.local, Actor.username == username)
    )
    if taken:
        raise AccountError("username", f"username {username!r} is already taken")
    used = session.scalar(
        select(func.count()).select_from(User).where(func.lower(User.email) == email.lower())
    )
    if used:
        raise AccountError("email", f"email {email!r} is already registered")


def create_local_actor(
    session: Session, settings: Settings, username: str, *, display_name: str = "",
    private_key_pem: str | None = None,
) -> Actor:
    """``private_key_pem``: a key made beforehand, outside the transaction (RSA key generation
    takes 50 to 200 ms, during which SQLite's write lock would be held)."""
    urls = Urls(settings.base_url)
    uri = urls.actor(username)
    private_pem = private_key_pem or generate_private_key_pem()
    actor = Actor(
        id=new_id(),
        uri=uri,
        username=username,
        domain=settings.domain,
        local=True,
        type="Person",
        display_name=display_name or username,
        url=urls.profile(username),
        inbox=urls.inbox(username),
        shared_inbox=urls.shared_inbox,
        outbox=urls.outbox(username),
        followers_url=urls.followers(username),
        following_url=urls.following(username),
        key_id=urls.key_id(uri),
        private_key_pem=private_pem,
        public_key_pem=public_pem_from_private(private_pem),
        locked=True,
        discoverable=True,
        fields=[],
    )
    session.add(actor)
    return actor


def create_user(
    session: Session,
    settings: Settings,
    username: str,
    *,
    email: str,
    password: str,
    role: str = "member",
    display_name: str = "",
    sponsor_id: int | None = None,
    password_hash: str | None = None,
    private_key_pem: str | None = None,
) -> User:
    """Create a member: login, Person actor and RSA-2048 key pair. Checks everything first.

    ``password_hash``: the password already hashed (by fedi.services.passwords, outside the
    transaction); ``password`` is then only checked for its length. ``private_key_pem``: the
    actor's key, likewise made beforehand."""
    username = username.strip().lower()
    email = email.strip()
    validate_new_account(session, username, email, password, role)
    actor = create_local_actor(session, settings, username, display_name=display_name,
                               private_key_pem=private_key_pem)
    session.flush()
    user = User(
        id=new_id(),
        actor_id=actor.id,
        email=email,
        password_hash=password_hash or hash_password(password, settings),
        role=role,
        sponsor_id=sponsor_id,
        # The hub's default audience (console), in the API's words; theirs to change.
        default_visibility=TO_API[get_setting(session, "default_audience")],
    )
    session.add(user)
    session.flush()
    return user


def ensure_instance_actor(session: Session, settings: Settings) -> Actor:
    """The hub's Application actor, created with its own key on first use."""
    actor = session.scalar(
        select(Actor).where(Actor.local, Actor.username == INSTANCE_USERNAME)
    )
    if actor is not None:
        return actor
    urls = Urls(settings.base_url)
    private_pem = generate_private_key_pem()
    actor = Actor(
        id=new_id(),
        uri=urls.instance_actor,
        username=INSTANCE_USERNAME,
        domain=settings.domain,
        local=True,
        type="Application",
        display_name=settings.name,
        inbox=f"{urls.instance_actor}/inbox",
        shared_inbox=urls.shared_inbox,
        outbox=f"{urls.instance_actor}/outbox",
        key_id=urls.key_id(urls.instance_actor),
        private_key_pem=private_pem,
        public_key_pem=public_pem_from_private(private_pem),
        locked=True,
        discoverable=False,
        fields=[],
    )
    session.add(actor)
    session.flush()
    return actor


def find_local_actor(session: Session, username: str) -> Actor | None:
    return session.scalar(
        select(Actor).where(
            Actor.local,
            Actor.username == username.lower(),
            Actor.type == "Person",
            Actor.deleted_at.is_(None),
        )
    )
