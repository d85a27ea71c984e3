"""The hub's privacy policy (``/privacy-policy``, ``GET /api/v1/instance/privacy_policy``):
Markdown in French and English, kept as the hub setting ``privacy_policy`` (the console
edits it), with a default written for a Paris neighbourhood hub under the RGPD. ``{hub}``
in the text becomes the hub's name, ``{contact}`` the admins' address."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fedi.db import utcnow
from fedi.models import Actor, HubSetting, User
from fedi.services.articles import render_body

KEY = "privacy_policy"
MAX_SOURCE = 50_000
DEFAULT_UPDATED = datetime(2026, 1, 1, tzinfo=UTC)

DEFAULT_FR = """\
Cette page dit quelles données le hub **{hub}** garde sur ses membres, pourquoi, combien de \
temps, qui les voit et comment exercer vos droits (Règlement général sur la protection des \
données, RGPD).

## Qui est responsable

Le hub est tenu par ses admins, des membres du quartier. Ce sont eux qui décident de ce \
traitement et répondent à vos demandes : {contact}.

## Ce que le hub garde

- **Votre compte** : adresse e-mail, nom d'utilisateur, mot de passe (seulement sous une \
forme hachée, qui ne permet pas de le retrouver), langue, qui vous a invité, date à \
laquelle vous avez accepté cette politique.
- **Votre profil** : nom, métier, entreprise, code postal, lien avec le quartier (vous y \
habitez ou y travaillez), présentation, photo et champs que vous remplissez.
- **Ce que vous publiez** : messages, articles, événements et réponses aux événements, \
images, sondages, favoris, abonnements, blocages.
- **Vos connexions** : adresse IP et navigateur de chaque connexion, pour la sécurité.

Pas de publicité, pas de revente, pas de traceur ni de mesure d'audience tierce. Le seul \
cookie est celui de votre session.

## Pourquoi

- Faire fonctionner le réseau que vous avez rejoint : afficher vos publications aux \
personnes que vous choisissez, vous envoyer les e-mails du service (confirmation, mot de \
passe, archive). Base légale : l'exécution du service (art. 6.1.b du RGPD).
- Protéger le hub et ses membres des abus et des intrusions (adresses IP). Base légale : \
l'intérêt légitime (art. 6.1.f).
- Les e-mails facultatifs (rappels d'événements, résumé de la semaine) ne partent que si \
vous les activez (consentement, art. 6.1.a).

## Qui voit quoi

- **Vos messages** : les personnes de l'audience que vous choisissez à chaque message \
(vos abonnés, les membres du hub, le voisinage, c'est-à-dire les membres des hubs liés, ou \
seulement les personnes mentionnées). Un message n'est envoyé qu'aux hubs de ses \
destinataires, qui en gardent une copie.
- **Votre profil** : les membres de ce hub et des hubs liés ; l'annuaire, si vous le \
laissez visible.
- **Les admins et modérateurs** : les comptes, les signalements et le journal \
d'administration. Les messages directs ne sont pas chiffrés de bout en bout : n'y mettez \
pas d'informations sensibles.
- Personne d'autre : les données ne sont ni vendues ni confiées à des tiers, hors \
l'hébergeur du hub.

## Combien de temps

- **Adresses IP et navigateurs des connexions** : 30 jours.
- **Compte, profil et publications** : tant que le compte existe. Quand vous le supprimez, \
ils sont effacés, ici et, par une demande de suppression, sur les hubs liés. Seuls restent \
votre nom d'utilisateur, réservé pour qu'il ne soit jamais repris, et le lien de \
parrainage, rendu anonyme.
- **Archives « Télécharger mes données »** : 7 jours.
- **Copies des profils et messages des hubs qui ne sont plus liés** : supprimées après un \
délai fixé par les admins (30 jours par défaut après la fin du lien), sauf les profils que \
des membres de ce hub suivent, bloquent ou qui les suivent.

## Vos droits

- **Accès et portabilité** : « Télécharger mes données » dans vos réglages donne une \
archive de tout ce que vous avez publié, dans le format des archives Mastodon.
- **Rectification** : modifiez votre profil à tout moment.
- **Effacement** : « Supprimer mon compte » dans vos réglages.
- **Opposition, limitation, toute autre question** : écrivez aux admins ({contact}).
- Si la réponse ne vous satisfait pas, vous pouvez saisir la CNIL \
([cnil.fr/fr/plaintes](https://www.cnil.fr/fr/plaintes)).
"""

DEFAULT_EN = """\
This page says what data the hub **{hub}** keeps about its members, why, for how long, \
who sees it and how to use your rights (General Data Protection Regulation, GDPR).

## Who is responsible

The hub is run by its admins, members of the neighbourhood. They decide on this \
processing and answer your requests: {contact}.

## What the hub keeps

- **Your account**: email address, username, password (only in a hashed form that cannot \
be turned back into it), language, who invited you, when you accepted this policy.
- **Your profile**: name, trade, business, postal code, tie to the neighbourhood (you live \
or work there), bio, picture and the fields you fill in.
- **What you publish**: posts, articles, events and answers to events, pictures, polls, \
favourites, follows, blocks.
- **Your logins**: IP address and browser of each login, for security.

No advertising, no resale, no third-party tracker or audience measurement. The only \
cookie is your session's.

## Why

- To run the network you joined: show your posts to the people you choose, send the \
service's emails (confirmation, password, archive). Legal basis: performing the service \
(GDPR art. 6.1.b).
- To protect the hub and its members from abuse and intrusions (IP addresses). Legal \
basis: legitimate interest (art. 6.1.f).
- Optional emails (event reminders, weekly digest) are sent only if you turn them on \
(consent, art. 6.1.a).

## Who sees what

- **Your posts**: the people of the audience you choose for each post (your followers, \
the hub's members, the neighbourhood, that is the members of linked hubs, or only the \
people mentioned). A post is sent only to its recipients' hubs, which keep a copy.
- **Your profile**: members of this hub and of linked hubs; the directory, if you let it \
show you.
- **Admins and moderators**: accounts, reports and the audit log. Direct messages are not \
end-to-end encrypted: do not put sensitive information in them.
- Nobody else: the data is neither sold nor given to third parties, apart from the hub's \
hosting provider.

## How long

- **Login IP addresses and browsers**: 30 days.
- **Account, profile and posts**: as long as the account exists. When you delete it, they \
are erased, here and, through a deletion request, on linked hubs. Only your username, \
reserved so that it is never reused, and the invitation link, made anonymous, remain.
- **"Download my data" archives**: 7 days.
- **Copies of profiles and posts from hubs no longer linked**: dropped after a time the \
admins set (30 days after the link ended, by default), except the profiles that members of \
this hub follow, block or are followed by.

## Your rights

- **Access and portability**: "Download my data" in your settings gives an archive of \
everything you published, in Mastodon's archive format.
- **Correction**: edit your profile at any time.
- **Erasure**: "Delete my account" in your settings.
- **Objection, restriction, any other question**: write to the admins ({contact}).
- If their answer does not satisfy you, you may complain to the CNIL, the French data \
protection authority ([cnil.fr/en/complaints](https://www.cnil.fr/en/complaints)).
"""


class PolicyError(ValueError):
    """A text the policy cannot take; messages in French and English."""

    def __init__(self, en: str, fr: str) -> None:
        super().__init__(en)
        self.fr = fr

    def message(self, lang: str) -> str:
        return self.fr if lang == "fr" else str(self)


@dataclass(frozen=True)
class Policy:
    fr: str
    en: str
    updated_at: datetime
    custom: bool

    def source(self, lang: str) -> str:
        return self.en if lang == "en" and self.en.strip() else self.fr


def privacy_policy(session: Session) -> Policy:
    row = session.get(HubSetting, KEY)
    value = row.value if row is not None else None
    if (row is None or not isinstance(value, dict) or not isinstance(value.get("fr"), str)
            or not value["fr"].strip()):
        return Policy(DEFAULT_FR, DEFAULT_EN, DEFAULT_UPDATED, custom=False)
    en = value.get("en") if isinstance(value.get("en"), str) else ""
    return Policy(value["fr"], en or "", row.updated_at, custom=True)


def set_privacy_policy(session: Session, fr: str, en: str, *,
                       now: datetime | None = None) -> Policy:
    """Store the texts (Markdown). An empty French text restores the default."""
    fr, en = fr.replace("\r\n", "\n"), en.replace("\r\n", "\n")
    if len(fr) > MAX_SOURCE or len(en) > MAX_SOURCE:
        raise PolicyError(f"Each text has at most {MAX_SOURCE} characters.",
                          f"Chaque texte compte au plus {MAX_SOURCE} caractères.")
    if not fr.strip() and en.strip():
        raise PolicyError("The French text is required (it is the one shown by default).",
                          "Le texte en français est obligatoire (c'est celui affiché par défaut).")
    now = now or utcnow()
    row = session.get(HubSetting, KEY)
    if not fr.strip():
        if row is not None:
            session.delete(row)
        session.flush()
        return Policy(DEFAULT_FR, DEFAULT_EN, DEFAULT_UPDATED, custom=False)
    value = {"fr": fr, "en": en}
    if row is None:
        session.add(HubSetting(key=KEY, value=value, updated_at=now))
    else:
        row.value, row.updated_at = value, now
    session.flush()
    return Policy(fr, en, now, custom=True)


def policy_html(policy: Policy, lang: str, *, hub: str, contact: str, base: str) -> str:
    """The policy as safe HTML in ``lang``, ``{hub}`` and ``{contact}`` filled in."""
    source = policy.source(lang).replace("{hub}", hub).replace("{contact}", contact)
    return render_body(source, base)


def contact(session: Session, domain: str, lang: str) -> str:
    """The first admin's address (a message on the hub reaches them), else a phrase."""
    handle = session.scalar(
        select(Actor.username).join(User, User.actor_id == Actor.id)
        .where(User.role == "admin", User.disabled.is_(False), Actor.deleted_at.is_(None))
        .order_by(User.created_at).limit(1))
    if handle:
        return f"@{handle}@{domain}"
    return "the hub's admins" if lang == "en" else "les admins du hub"
