"""Events and articles ↔ ActivityPub (Mobilizon-compatible), and their words for people.

``when_and_where`` writes the date and place in words (French by default), for servers that
show only ``name`` and ``summary`` (Mastodon: protocol.md §6.3) and for the status text
Mastodon apps show. ``event_fields`` reads a remote ``Event`` tolerantly (Mobilizon, Gancio,
Friendica shapes) into plain values; nothing here touches the database.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import escape
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fedi.convert.model_to_ap import iso
from fedi.models import Actor, Event, Status
from fedi.vocab.context import AS, SECURITY
from fedi.vocab.parse import as_list

EVENT_CONTEXT: list[Any] = [AS, SECURITY, {
    "@language": "und", "sc": "http://schema.org#", "ical": "http://www.w3.org/2002/12/cal/ical#",
    "pt": "https://joinpeertube.org/ns#", "toot": "http://joinmastodon.org/ns#",
    "mz": "https://joinmobilizon.org/ns#",
    "location": {"@id": "sc:location", "@type": "sc:Place"},
    "PostalAddress": "sc:PostalAddress",
    "address": {"@id": "sc:address", "@type": "sc:PostalAddress"},
    "streetAddress": "sc:streetAddress", "postalCode": "sc:postalCode",
    "addressLocality": "sc:addressLocality", "addressRegion": "sc:addressRegion",
    "addressCountry": "sc:addressCountry",
    "joinMode": {"@id": "mz:joinMode", "@type": "mz:joinModeType"},
    "participantCount": {"@id": "mz:participantCount", "@type": "sc:Integer"},
    "maximumAttendeeCapacity": "sc:maximumAttendeeCapacity",
    "remainingAttendeeCapacity": "sc:remainingAttendeeCapacity",
    "participationMessage": {"@id": "mz:participationMessage", "@type": "sc:Text"},
    "isOnline": {"@id": "mz:isOnline", "@type": "sc:Boolean"},
    "timezone": {"@id": "mz:timezone", "@type": "sc:Text"},
    "commentsEnabled": {"@id": "pt:commentsEnabled", "@type": "sc:Boolean"},
    "repliesModerationOption": {"@id": "mz:repliesModerationOption",
                                "@type": "mz:repliesModerationOptionType"},
    "draft": {"@id": "mz:draft", "@type": "sc:Boolean"},
    "inLanguage": "sc:inLanguage", "uuid": "sc:identifier",
}]
STATES = ("CONFIRMED", "TENTATIVE", "CANCELLED")
_DAYS = {"fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
         "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")}
_MONTHS = {"fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
                  "septembre", "octobre", "novembre", "décembre"),
           "en": ("January", "February", "March", "April", "May", "June", "July", "August",
                  "September", "October", "November", "December")}
_TAG_RE = re.compile(r"<[^>]+>")


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "Europe/Paris")
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return ZoneInfo("Europe/Paris")


def _clock(moment: datetime, lang: str) -> str:
    return moment.strftime("%H h %M") if lang == "fr" else moment.strftime("%H:%M")


def _day(moment: datetime, lang: str) -> str:
    day, month = _DAYS[lang][moment.weekday()], _MONTHS[lang][moment.month - 1]
    if lang == "fr":
        number = "1er" if moment.day == 1 else str(moment.day)
        return f"{day} {number} {month} {moment.year}"
    return f"{day} {moment.day} {month} {moment.year}"


def when(event: Event, lang: str = "fr") -> str:
    """« jeudi 12 mars 2026 de 19 h 00 à 21 h 00 (Europe/Paris) » and its English twin."""
    lang = "en" if lang == "en" else "fr"
    tz = zone(event.timezone)
    start = event.starts_at.astimezone(tz)
    end = event.ends_at.astimezone(tz) if event.ends_at else None
    text = _day(start, lang)
    if end is None:
        text += f" {'à' if lang == 'fr' else 'at'} {_clock(start, lang)}"
    elif end.date() == start.date():
        text += (f" de {_clock(start, lang)} à {_clock(end, lang)}" if lang == "fr"
                 else f", {_clock(start, lang)} to {_clock(end, lang)}")
    else:
        text += (f" à {_clock(start, lang)} au {_day(end, lang)} à {_clock(end, lang)}"
                 if lang == "fr" else
                 f" at {_clock(start, lang)} to {_day(end, lang)} at {_clock(end, lang)}")
    return f"{text} ({tz.key})"


def where(event: Event, lang: str = "fr") -> str:
    town = " ".join(p for p in (event.postal_code, event.locality) if p)
    parts = [p for p in (event.place_name, event.street, town, event.country) if p]
    if not parts and event.online_url:
        return "En ligne" if lang != "en" else "Online"
    return ", ".join(parts)


def when_and_where(event: Event, lang: str = "fr") -> str:
    place = where(event, lang)
    text = when(event, lang) + (f" · {place}" if place else "")
    if event.state == "CANCELLED":
        text = ("ANNULÉ · " if lang != "en" else "CANCELLED · ") + text
    return text


def status_html(event: Event, description_html: str, lang: str = "fr") -> str:
    """What a Mastodon app shows for an event: date, place, link, then the description."""
    lines = [escape(when(event, lang))]
    place = where(event, lang)
    if place:
        lines.append(escape(place))
    if event.online_url:
        href = escape(event.online_url, quote=True)
        lines.append(f'<a href="{href}" rel="nofollow noopener noreferrer" '
                     f'target="_blank">{escape(event.online_url)}</a>')
    head = "<p>" + "<br>".join(lines) + "</p>"
    if event.state == "CANCELLED":
        head = f"<p><strong>{'Annulé' if lang != 'en' else 'Cancelled'}</strong></p>" + head
    return head + description_html


def _local_iso(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).isoformat(timespec="seconds")


def remaining(event: Event) -> int | None:
    if event.capacity is None:
        return None
    return max(0, event.capacity - event.participant_count)


def place(event: Event) -> dict[str, Any] | None:
    if not any((event.place_name, event.street, event.postal_code, event.locality)):
        return None
    return {"type": "Place", "name": event.place_name or event.street or "",
            "address": {"type": "PostalAddress", "streetAddress": event.street or "",
                        "postalCode": event.postal_code or "",
                        "addressLocality": event.locality or "",
                        "addressRegion": event.region or "",
                        "addressCountry": event.country or ""}}


def event_object(status: Status, event: Event, author: Actor, description_html: str,
                 lang: str = "fr") -> dict[str, Any]:
    """A local event as a Mobilizon-shaped ``Event`` addressed as it was first sent."""
    tz = zone(event.timezone)
    doc: dict[str, Any] = {
        "id": status.uri, "type": "Event", "name": event.title,
        "attributedTo": author.uri, "actor": author.uri,
        "content": description_html, "mediaType": "text/html",
        "summary": when_and_where(event, lang),
        "startTime": _local_iso(event.starts_at, tz), "timezone": tz.key,
        "joinMode": event.join_mode, "participantCount": event.participant_count,
        "status": event.state, "ical:status": event.state,
        "commentsEnabled": bool(event.comments_enabled),
        "repliesModerationOption": "allow_all" if event.comments_enabled else "closed",
        "isOnline": bool(event.online_url), "draft": False, "inLanguage": lang,
        "anonymousParticipationEnabled": False,
        "url": status.url or status.uri, "published": iso(status.created_at),
        "to": list(status.recipients.get("to", [])),
        "cc": list(status.recipients.get("cc", [])),
        "attachment": [], "tag": [],
    }
    if event.ends_at is not None:
        doc["endTime"] = _local_iso(event.ends_at, tz)
    if event.capacity is not None:
        doc["maximumAttendeeCapacity"] = event.capacity
        doc["remainingAttendeeCapacity"] = remaining(event)
    location = place(event)
    if location is not None:
        doc["location"] = location
    if event.online_url:
        doc["attachment"].append({"type": "Link", "mediaType": "text/html", "name": "Website",
                                  "href": event.online_url})
    # Milliseconds: several Updates may leave within a second, and may arrive out of order.
    latest = max(status.edited_at or status.created_at, event.updated_at).astimezone(UTC)
    doc["updated"] = latest.strftime("%Y-%m-%dT%H:%M:%S.") + f"{latest.microsecond // 1000:03d}Z"
    return doc


# Inbound ---------------------------------------------------------------------------------

def _text(value: Any, limit: int) -> str | None:
    if isinstance(value, str) and value.strip():
        return _TAG_RE.sub("", value).strip()[:limit]
    return None


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if not 1970 <= moment.year <= 2200:
        return None
    return moment.astimezone(UTC)


def _count(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and 0 <= value < 10_000_000:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 8:
        return int(value)
    return None


def _http(value: Any) -> str | None:
    if isinstance(value, str) and len(value) <= 2048 and urlsplit(value).scheme in (
            "http", "https"):
        return value
    return None


def _location(obj: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for loc in as_list(obj.get("location")):
        if not isinstance(loc, dict):
            continue
        if loc.get("type") == "VirtualLocation":
            out.setdefault("online_url", _http(loc.get("url")))
            continue
        if "place_name" in out:
            continue
        out["place_name"] = _text(loc.get("name"), 255)
        address = loc.get("address")
        if isinstance(address, str):
            out["street"] = _text(address, 255)
        elif isinstance(address, dict):
            out["street"] = _text(address.get("streetAddress"), 255)
            out["postal_code"] = _text(address.get("postalCode"), 32)
            out["locality"] = _text(address.get("addressLocality"), 255)
            out["region"] = _text(address.get("addressRegion"), 255)
            out["country"] = _text(address.get("addressCountry"), 255)
    for item in as_list(obj.get("attachment")):
        if isinstance(item, dict) and item.get("type") == "Link" and not out.get("online_url"):
            out["online_url"] = _http(item.get("href"))
    return out


def event_fields(obj: dict[str, Any]) -> dict[str, Any] | None:
    """Column values of a remote ``Event``, or None when it has no usable start."""
    start = parse_time(obj.get("startTime"))
    if start is None:
        return None
    end = parse_time(obj.get("endTime"))
    if end is not None and end < start:
        end = None
    tz = obj.get("timezone")
    state = obj.get("ical:status") or obj.get("status")
    capacity = _count(obj.get("maximumAttendeeCapacity"))
    fields: dict[str, Any] = {
        "updated_at": parse_time(obj.get("updated")) or parse_time(obj.get("published")),
        "title": (_text(obj.get("name"), 512) or "Événement"),
        "starts_at": start, "ends_at": end,
        "timezone": zone(tz if isinstance(tz, str) else None).key,
        "join_mode": "restricted" if obj.get("joinMode") in ("restricted", "invite") else "free",
        "state": state if state in STATES else "CONFIRMED",
        "capacity": capacity if capacity else None,
        "participant_count": _count(obj.get("participantCount")) or 0,
        "comments_enabled": obj.get("commentsEnabled") is not False,
        "place_name": None, "street": None, "postal_code": None, "locality": None,
        "region": None, "country": None, "online_url": None,
    }
    fields.update({k: v for k, v in _location(obj).items() if v is not None})
    return fields
