"""Hub settings kept in the database (the console and ``voisins settings`` change them live).

Each setting has a default, a parser for what an admin types, and a one-line help in
French and English. Unknown keys and bad values are refused with a message.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fedi.db import utcnow
from fedi.i18n import N_
from fedi.models import HubSetting

REGISTRATION_MODES = ("invite", "approval", "closed")
TRADE_RULE_ACTIONS = ("refuse", "waitlist")
AUDIENCES = ("followers", "hub", "neighbourhood")
# Edited on their own page (/console/settings/hub), applied to the running hub at once.
IDENTITY = ("hub_name", "hub_description", "territory", "default_audience")


class SettingError(ValueError):
    """An unknown setting or a value it does not take."""


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"on", "true", "yes", "1", "oui"}:
        return True
    if text in {"off", "false", "no", "0", "non"}:
        return False
    raise SettingError(N_("expected on or off, got %(value)s") % {"value": repr(value)})


def _choice(*choices: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = str(value).strip().lower()
        if text not in choices:
            raise SettingError(N_("expected one of %(choices)s, got %(value)s") % {
                "choices": ", ".join(choices), "value": repr(value)})
        return text

    return parse


def _days(value: Any) -> int:
    text = str(value).strip() or "0"  # an emptied field: the default, at once
    if not text.isdigit() or len(text) > 3 or int(text) > 365:
        raise SettingError(N_("expected a number of days from 0 to 365, got %(value)s")
                           % {"value": repr(value)})
    return int(text)


def _text(limit: int, *, lines: bool = False) -> Callable[[Any], str]:
    """Free text: one line (spaces collapsed), or ``lines`` kept; at most ``limit``."""

    def parse(value: Any) -> str:
        raw = str(value).replace("\r\n", "\n")
        text = raw.strip() if lines else " ".join(raw.split())
        if len(text) > limit:
            raise SettingError(N_("at most %(limit)s characters, got %(count)s")
                               % {"limit": limit, "count": len(text)})
        if any(ord(c) < 32 and c not in "\n\t" for c in text):
            raise SettingError(N_("control characters are not allowed"))
        return text

    return parse


def _postal_codes(value: Any) -> str:
    """``75011, 75012``: five-digit codes, at most 40; empty: the ones in voisins.toml."""
    codes = [c for c in re.split(r"[\s,;]+", str(value).strip()) if c]
    bad = [c for c in codes if not (len(c) == 5 and c.isascii() and c.isdigit())]
    if bad:
        raise SettingError(N_("%(code)s is not a 5-digit postal code") % {"code": repr(bad[0])})
    if len(codes) > 40:
        raise SettingError(N_("at most 40 postal codes, got %(count)s") % {"count": len(codes)})
    return ", ".join(dict.fromkeys(codes))


@dataclass(frozen=True)
class Spec:
    default: Any
    parse: Callable[[Any], Any]
    help_fr: str
    help_en: str


SPECS: dict[str, Spec] = {
    "registration_mode": Spec(
        "invite", _choice(*REGISTRATION_MODES),
        "inscriptions : invite (sur invitation), approval (invitation + validation), closed",
        "sign-ups: invite (invite link), approval (invite + admin approval), closed"),
    "trade_rule": Spec(
        False, _bool,
        "un seul membre actif par métier (non-concurrence)",
        "one active member per trade category (non-competition)"),
    "trade_rule_action": Spec(
        "refuse", _choice(*TRADE_RULE_ACTIONS),
        "métier déjà pris : refuse (refuser) ou waitlist (liste d'attente)",
        "trade already taken: refuse, or waitlist (waiting list)"),
    "auto_link_adjacent": Spec(
        True, _bool,
        "accepter d'office le lien avec un hub limitrophe recommandé par un hub listé",
        "accept without an admin a bordering hub vouched for by a hub our admins listed"),
    "propose_adjacent": Spec(
        True, _bool,
        "proposer un lien aux hubs limitrophes connus par nos voisins",
        "propose links to bordering hubs that our linked hubs know"),
    "members_may_invite": Spec(
        True, _bool,
        "les membres peuvent créer des liens d'invitation (sinon seuls les admins)",
        "members may create invite links (otherwise only admins)"),
    "deletion_grace_days": Spec(
        0, _days,
        "délai (jours) avant l'effacement des données d'un compte supprimé (0 : tout de suite)",
        "days before a deleted account's data is erased (0: at once)"),
    "unlinked_cache_days": Spec(
        30, _days,
        "délai (jours) avant l'oubli des profils et publications d'un hub dont le lien a pris fin",
        "days before the cached profiles and posts of a hub no longer linked are dropped"),
    "hub_name": Spec(
        "", _text(80),
        "nom du hub (vide : celui de voisins.toml)",
        "name of the hub (empty: the one in voisins.toml)"),
    "hub_description": Spec(
        "", _text(1000, lines=True),
        "présentation du hub, en page d'accueil et dans les applications (vide : celle de "
        "voisins.toml)",
        "description of the hub, on the front page and in apps (empty: the one in "
        "voisins.toml)"),
    "territory": Spec(
        "", _postal_codes,
        "territoire : codes postaux, séparés par des virgules (vide : ceux de voisins.toml)",
        "territory: postal codes, separated by commas (empty: the ones in voisins.toml)"),
    "default_audience": Spec(
        "followers", _choice(*AUDIENCES),
        "audience par défaut des nouveaux membres : followers (abonnés), hub, neighbourhood "
        "(voisinage) ; chacun peut changer la sienne",
        "default audience of new members: followers, hub, neighbourhood; each member may "
        "change theirs"),
    "totp_required_for_admins": Spec(
        False, _bool,
        "les admins doivent activer la connexion en deux étapes (TOTP) pour ouvrir la console",
        "admins must turn on two-step sign-in (TOTP) before they can open the console"),
}


def get_setting(session: Session, key: str) -> Any:
    spec = SPECS.get(key)
    if spec is None:
        raise SettingError(f"unknown setting {key!r}")
    row = session.get(HubSetting, key)
    if row is None:
        return spec.default
    try:
        return spec.parse(row.value)
    except SettingError:
        return spec.default  # a value written by an older version: fall back, never crash


def all_settings(session: Session) -> dict[str, Any]:
    stored = {row.key: row.value for row in session.scalars(select(HubSetting))}
    out: dict[str, Any] = {}
    for key, spec in SPECS.items():
        try:
            out[key] = spec.parse(stored[key]) if key in stored else spec.default
        except SettingError:
            out[key] = spec.default
    return out


def set_setting(session: Session, key: str, value: Any) -> Any:
    """Parse and store a setting; returns the stored value."""
    spec = SPECS.get(key)
    if spec is None:
        raise SettingError(f"unknown setting {key!r} (known: {', '.join(SPECS)})")
    parsed = spec.parse(value)
    row = session.get(HubSetting, key)
    if row is None:
        session.add(HubSetting(key=key, value=parsed, updated_at=utcnow()))
    else:
        row.value = parsed
        row.updated_at = utcnow()
    session.flush()
    return parsed
