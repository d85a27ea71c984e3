"""What a remote document may put into storage, the API or a page: URLs, hashtag names,
usernames, object ids, and how many tags an object may carry. Pure.

Every converter and handler that reads a remote field goes through these checks, and the
API entities check again before emitting (defence in depth: a row stored before a rule
existed must not leak a ``javascript:`` URL to an app).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any
from urllib.parse import quote, urlsplit

URL_SCHEMES = frozenset({"http", "https"})
MAX_URL = 2048
# Per object. A Create with tens of thousands of Hashtag items wrote one row each; Mastodon
# apps never show more than a handful.
MAX_TAGS = 64
MAX_MENTIONS = 64
MAX_EMOJIS = 32
MAX_HASHTAG = 128  # the column's size (fedi.models.Tag.name)
# Characters a hashtag may hold between two word characters (Mastodon's
# HASHTAG_SEPARATORS: underscore, middle dot, katakana middle dot, zero-width non-joiner).
HASHTAG_SEPARATORS = frozenset("_\u00b7\u30fb\u200c")
# Mastodon's Account::USERNAME_RE, which it applies to remote usernames too: a name with
# "@", "/" or spaces would make a misleading ``acct`` (``bob@good.example@evil``).
USERNAME_RE = re.compile(r"[a-z0-9_]+(?:[a-z0-9_.\-]+[a-z0-9_]+)?", re.IGNORECASE)
MAX_USERNAME = 255
# Characters never valid in a URL we pass on: whitespace and controls (browsers strip some
# of them, which is how "java\tscript:" tricks work) and the ones that end an attribute.
_BAD_URL_CHARS = re.compile(r"[\x00-\x20\x7f-\x9f<>\"'`\\]")
# ``/users/<name>`` (Mastodon, Voisins, Pleroma's AP ids under /users too): the id names its
# author. Followed by "/", "#", "?" or the end.
_AUTHOR_PATH = re.compile(r"^/users/([^/?#]+)(?:[/?#]|$)")


def http_url(value: Any, *, max_length: int = MAX_URL) -> str | None:
    """``value`` when it is an absolute http(s) URL of bounded length, else None."""
    if not isinstance(value, str) or not value or len(value) > max_length:
        return None
    return _checked_url(value)


@lru_cache(maxsize=8192)
def _checked_url(value: str) -> str | None:
    """The checks of ``http_url`` past the length, remembered: every API page renders the
    same authors' and statuses' URLs again."""
    if _BAD_URL_CHARS.search(value):
        return None
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return None
    if parts.scheme.lower() not in URL_SCHEMES or not parts.hostname:
        return None
    return value


def link_href(value: Any, *, media_type: str = "text/html") -> str | None:
    """The http(s) URL of an ActivityStreams ``url``: a string, a ``Link`` or a list of
    them, preferring the one of ``media_type`` (as Mastodon's ``url_to_href`` does)."""
    items = value if isinstance(value, list) else [value]
    candidates: list[tuple[bool, str]] = []
    for item in items[:16]:
        if isinstance(item, str):
            href, kind = item, None
        elif isinstance(item, dict):
            href, kind = item.get("href"), item.get("mediaType")
        else:
            continue
        url = http_url(href)
        if url is not None:
            candidates.append((kind == media_type, url))
    for preferred, url in candidates:
        if preferred:
            return url
    return candidates[0][1] if candidates else None


def same_host(url: str | None, other: str) -> bool:
    if url is None:
        return False
    return urlsplit(url).netloc.lower() == urlsplit(other).netloc.lower()


def hashtag_name(value: Any) -> str | None:
    """The normalised name of a hashtag (no leading ``#``, NFKC, lower case), or None when
    it is not one: letters, digits, marks and ``_`` (Unicode-aware), the middle dots and
    ZWNJ only between them, and at least one letter (Mastodon's HASHTAG_NAME_RE)."""
    if not isinstance(value, str):
        return None
    name = unicodedata.normalize("NFKC", value.strip())
    name = name.removeprefix("#")
    name = name.lower()
    if not 0 < len(name) <= MAX_HASHTAG:
        return None
    has_letter = False
    for char in name:
        category = unicodedata.category(char)
        if category[0] == "L":
            has_letter = True
        elif category[0] not in "NM" and char not in HASHTAG_SEPARATORS:
            return None
    separators = HASHTAG_SEPARATORS - {"_"}
    if not has_letter or name[0] in separators or name[-1] in separators:
        return None
    return name


def tag_url(base: str, name: str) -> str:
    """Our page for a hashtag, its name percent-encoded."""
    return f"{base}/tags/{quote(name, safe='')}"


def hashtags_of(tags: Any) -> list[str]:
    """Valid hashtag names of an object's ``tag`` list: deduplicated, at most MAX_TAGS."""
    found: dict[str, None] = {}
    for item in tags if isinstance(tags, list) else [tags]:
        if isinstance(item, dict) and item.get("type") == "Hashtag":
            name = hashtag_name(item.get("name"))
            if name is not None:
                found[name] = None
                if len(found) >= MAX_TAGS:
                    break
    return list(found)


def username(value: Any) -> str | None:
    if not isinstance(value, str) or len(value) > MAX_USERNAME:
        return None
    return value if USERNAME_RE.fullmatch(value) else None


def author_named_by(object_id: str) -> str | None:
    """The actor URI an id's shape attributes it to (``https://h/users/bob/statuses/1`` →
    ``https://h/users/bob``), or None when the shape says nothing."""
    parts = urlsplit(object_id)
    match = _AUTHOR_PATH.match(parts.path)
    if match is None:
        return None
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}/users/{match.group(1)}"


def _normal(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path}"


def may_claim(actor_uri: str, object_id: str) -> bool:
    """May ``actor_uri`` create (or act with) an object of this id?

    The id must be on the actor's host (checked elsewhere too), carry no dot segments (an
    id ``/users/alice/../bob/statuses/1`` is another string for the same resource), and
    when its shape names an author, that author is the actor: a member of a linked hub must
    not squat ids under another member's path, which would make the real object be ignored.
    """
    if not same_host(object_id, actor_uri):
        return False
    path = urlsplit(object_id).path
    if any(segment in (".", "..") for segment in path.split("/")) or "%2f" in path.lower():
        return False
    author = author_named_by(object_id)
    if author is None:
        return True
    return author == _normal(actor_uri)
