"""``/api/v1/instance`` and ``/api/v2/instance`` (with and without a trailing slash), rules,
peers and the other instance extras. Public: apps read them before logging in."""

from __future__ import annotations

import html
from typing import Any

from sqlalchemy import func, select
from starlette.routing import Route

from fedi.api.auth import Call, endpoint
from fedi.api.entities import Renderer
from fedi.api.features import provided
from fedi.convert.model_to_api import MASTODON_VERSION, MAX_CHARACTERS
from fedi.i18n import browser_language
from fedi.models import Actor, Status, User
from fedi.services import legal
from fedi.services.domains import blocked_domains, digest
from fedi.services.hub_rules import hub_rules
from fedi.services.polls import poll_limits

SHORT = ("Un réseau privé de voisins professionnels. / A private network of neighbouring "
         "professionals.")
# Mastodon 4.3's level of the client API (grouped notifications, notification policy and
# requests, ``GET /api/v1/statuses?id[]=``, ``GET /api/v1/accounts?id[]=``): all served here.
API_VERSIONS = {"mastodon": 2}
MEDIA = {"supported_mime_types": [], "image_size_limit": 0, "image_matrix_limit": 0,
         "video_size_limit": 0, "video_frame_rate_limit": 0, "video_matrix_limit": 0,
         "description_limit": 1500}
STATUSES = {"max_characters": MAX_CHARACTERS, "max_media_attachments": 4,
            "characters_reserved_per_url": 23}


def registration_mode(call: Call) -> str:
    section = call.hub.settings.extra.get("registrations", {})
    mode = section.get("mode") if isinstance(section, dict) else None
    return mode if isinstance(mode, str) else "invite"


def _contact(call: Call) -> tuple[dict[str, Any] | None, str]:
    admin = call.session.execute(
        select(Actor).join(User, User.actor_id == Actor.id)
        .where(User.role == "admin", User.disabled.is_(False), Actor.deleted_at.is_(None))
        .order_by(User.created_at).limit(1)).scalar()
    api = call.hub.settings.extra.get("api", {})
    email = api.get("contact_email", "") if isinstance(api, dict) else ""
    entity = Renderer(call.session, call.hub, None).account(admin) if admin else None
    return entity, str(email)


def _stats(call: Call) -> dict[str, int]:
    s = call.session
    users = s.scalar(select(func.count()).select_from(Actor).where(
        Actor.local, Actor.type == "Person", Actor.deleted_at.is_(None))) or 0
    statuses = s.scalar(select(func.count()).select_from(Status).where(
        Status.local, Status.deleted_at.is_(None))) or 0
    return {"user_count": users, "status_count": statuses,
            "domain_count": len(call.hub.peers.linked() | call.hub.peers.servers()) + 1}


def _features(call: Call) -> frozenset[str]:
    return provided(call.request.app)


def _streaming_url(call: Call) -> str:
    ws = "wss" if call.hub.settings.scheme == "https" else "ws"
    return f"{ws}://{call.hub.settings.domain}"


def _media(call: Call, features: frozenset[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``configuration.media_attachments`` and ``statuses``: uploads only once the media
    upload routes exist (``fedi.api.media``, loaded by name: it is optional)."""
    if "media" not in features:
        return MEDIA, STATUSES
    import importlib

    limits = getattr(importlib.import_module("fedi.api.media"), "media_limits", None)
    media = {**MEDIA, **(limits(call.hub) if limits else {})}
    return media, {**STATUSES, "max_media_attachments": 4}


def _description(call: Call) -> str:
    if call.hub.settings.description:  # the admins' own words (console or voisins.toml)
        return call.hub.settings.description
    territory = ", ".join(call.hub.settings.territory)
    return (f"{SHORT} Territoire / Territory : {territory}." if territory else SHORT)


async def instance_v1(call: Call) -> Any:
    settings = call.hub.settings
    contact, email = _contact(call)
    mode = registration_mode(call)
    features = _features(call)
    media, statuses = _media(call, features)
    urls = {"streaming_api": _streaming_url(call)} if "streaming" in features else {}
    return {
        "uri": settings.domain, "title": settings.name, "short_description": SHORT,
        "description": _description(call), "email": email, "version": MASTODON_VERSION,
        "urls": urls, "stats": _stats(call),
        "thumbnail": None, "languages": ["fr", "en"], "registrations": False,
        "approval_required": mode == "invite+approval", "invites_enabled": mode != "closed",
        "configuration": {"accounts": {"max_featured_tags": 0},
                          "statuses": statuses, "media_attachments": media,
                          "polls": poll_limits(settings).as_dict()},
        "contact_account": contact,
        "rules": _rules(call),
    }


async def instance_v2(call: Call) -> Any:
    settings = call.hub.settings
    base = call.hub.urls.base
    contact, email = _contact(call)
    mode = registration_mode(call)
    message = ("Adhésion sur invitation d'un membre. / Membership is by invitation from a "
               "member." if mode != "closed" else "Inscriptions fermées. / Registrations are "
               "closed.")
    features = _features(call)
    media, statuses = _media(call, features)
    # "about": the front page, which describes the hub to visitors (there is no /about).
    urls: dict[str, Any] = {"status": None, "about": f"{base}/",
                            "privacy_policy": f"{base}/privacy-policy", "terms_of_service": None}
    if "streaming" in features:
        urls["streaming"] = _streaming_url(call)
    return {
        "domain": settings.domain, "title": settings.name, "version": MASTODON_VERSION,
        "source_url": "https://voisins.social", "description": _description(call),
        "usage": {"users": {"active_month": _stats(call)["user_count"]}},
        "thumbnail": {"url": f"{base}/media/missing.png", "blurhash": None, "versions": {}},
        "icon": [], "languages": ["fr", "en"],
        "configuration": {
            "urls": urls,
            "vapid": {"public_key": ""},
            "accounts": {"max_featured_tags": 0, "max_pinned_statuses": 5},
            "statuses": statuses, "media_attachments": media,
            "polls": poll_limits(settings).as_dict(),
            "translation": {"enabled": False},
        },
        "api_versions": API_VERSIONS,
        "registrations": {"enabled": False, "approval_required": mode == "invite+approval",
                          "message": message, "url": None, "min_age": None,
                          "reason_required": False},
        "contact": {"email": email, "account": contact},
        "rules": _rules(call),
    }


def _rules(call: Call) -> list[dict[str, str]]:
    return [{"id": i, "text": t, "hint": h} for i, t, h in hub_rules(call.session)]


async def rules(call: Call) -> Any:
    return _rules(call)


async def peers(call: Call) -> Any:
    """Linked hubs and allowed servers: every domain this hub federates with."""
    return sorted(call.hub.peers.linked() | call.hub.peers.servers())


async def activity(call: Call) -> Any:
    return []


async def extended_description(call: Call) -> Any:
    paragraphs = _description(call).split("\n\n")
    return {"updated_at": "2026-01-01T00:00:00.000Z",
            "content": "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)}


async def privacy_policy(call: Call) -> Any:
    """Mastodon's PrivacyPolicy entity: the text the admins set in the console (or the
    default), as HTML, in the language the app asks for (French unless English)."""
    lang = browser_language(call.request.headers.get("accept-language"))
    policy = legal.privacy_policy(call.session)
    html = legal.policy_html(policy, lang, hub=call.hub.settings.name,
                             contact=legal.contact(call.session, call.hub.settings.domain, lang),
                             base=call.hub.urls.base)
    return {"updated_at": policy.updated_at.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "content": html}


async def domain_blocks(call: Call) -> Any:
    """Domains the admins blocked (console, ``voisins domains block``), for members only
    (the route needs a token: Mastodon's ``show_domain_blocks = users``). A block here is
    total, so every one is a ``suspend``; the admins' reasons are not shown."""
    return [{"domain": row.domain, "digest": digest(row.domain), "severity": "suspend"}
            for row in blocked_domains(call.session)]


async def translation_languages(call: Call) -> Any:
    return {}


async def languages(call: Call) -> Any:
    return [{"code": "fr", "name": "Français"}, {"code": "en", "name": "English"}]


public = endpoint(auth="optional", body=False)
routes = [
    Route("/api/v1/instance", public(instance_v1)),
    Route("/api/v1/instance/", public(instance_v1)),
    Route("/api/v2/instance", public(instance_v2)),
    Route("/api/v2/instance/", public(instance_v2)),
    Route("/api/v1/instance/rules", public(rules)),
    Route("/api/v1/instance/peers", endpoint("read", body=False)(peers)),
    Route("/api/v1/instance/activity", public(activity)),
    Route("/api/v1/instance/extended_description", public(extended_description)),
    Route("/api/v1/instance/languages", public(languages)),
    Route("/api/v1/instance/privacy_policy", public(privacy_policy)),
    Route("/api/v1/instance/domain_blocks", endpoint("read", body=False)(domain_blocks)),
    Route("/api/v1/instance/translation_languages", public(translation_languages)),
]
