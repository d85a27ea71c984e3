"""The ActivityPub ``Question`` (a poll), in both directions, pure: no database.

Mastodon's shape (docs.joinmastodon.org/spec/activitypub/#Question): a ``Note``-like object
of type ``Question`` whose options are ``oneOf`` (single choice) or ``anyOf`` (multiple
choice), each ``{"type": "Note", "name": title, "replies": {"type": "Collection",
"totalItems": n}}``, with ``endTime``, ``closed`` once it ended, and ``votersCount``.
A vote is ``Create(Note{name: option, inReplyTo: question, attributedTo: voter})`` sent
to the poll author only, with no ``content``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fedi.vocab.parse import get_id

MAX_REMOTE_OPTIONS = 20
MAX_REMOTE_OPTION_CHARS = 200


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def question_fields(options: list[str], counts: list[int], *, multiple: bool,
                    expires_at: datetime | None, voters_count: int | None,
                    ended: bool, hide_totals: bool) -> dict[str, Any]:
    """The fields that turn a status document into a ``Question``."""
    choices = [{"type": "Note", "name": title,
                "replies": {"type": "Collection", "totalItems": counts[i] if i < len(counts)
                            else 0}}
               for i, title in enumerate(options)]
    doc: dict[str, Any] = {"type": "Question", "anyOf" if multiple else "oneOf": choices}
    if expires_at is not None:
        doc["endTime"] = _iso(expires_at)
        if ended:
            doc["closed"] = _iso(expires_at)
    if voters_count is not None:
        doc["votersCount"] = voters_count
    if hide_totals:
        doc["hideTotals"] = True  # Voisins extension: apps hide counts until the end
    return doc


def vote_note(vote_uri: str, voter_uri: str, question_uri: str, author_uri: str,
              option: str) -> dict[str, Any]:
    """A vote as Mastodon sends it: a ``Note`` with only a name, to the author alone."""
    return {"id": vote_uri, "type": "Note", "name": option, "attributedTo": voter_uri,
            "inReplyTo": question_uri, "to": [author_uri]}


@dataclass(frozen=True)
class RemoteQuestion:
    """What we keep of a remote ``Question``."""

    options: list[str]
    counts: list[int]
    multiple: bool
    expires_at: datetime | None
    closed: bool
    voters_count: int | None
    hide_totals: bool


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        moment = datetime.fromisoformat(value)  # "Z" too (3.11)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return 0
    return min(value, 1 << 31)


def parse_question(obj: dict[str, Any]) -> RemoteQuestion | None:
    """Options and counts of a remote ``Question``, or None when it has no usable options."""
    multiple = isinstance(obj.get("anyOf"), list)
    raw = obj.get("anyOf") if multiple else obj.get("oneOf")
    if not isinstance(raw, list):
        return None
    options: list[str] = []
    counts: list[int] = []
    for item in raw[:MAX_REMOTE_OPTIONS]:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            continue
        replies = item.get("replies")
        options.append(item["name"][:MAX_REMOTE_OPTION_CHARS])
        counts.append(_count(replies.get("totalItems")) if isinstance(replies, dict) else 0)
    if not options:
        return None
    closed_value = obj.get("closed")
    closed_at = _when(closed_value)
    closed = closed_at is not None or closed_value is True
    expires_at = _when(obj.get("endTime")) or closed_at
    if closed_at is not None and (expires_at is None or closed_at < expires_at):
        expires_at = closed_at
    voters = obj.get("votersCount")
    return RemoteQuestion(options=options, counts=counts, multiple=multiple,
                          expires_at=expires_at, closed=closed,
                          voters_count=_count(voters) if voters is not None else None,
                          hide_totals=obj.get("hideTotals") is True)


def vote_target(obj: dict[str, Any]) -> tuple[str, str, bool] | None:
    """(question uri, option name, says something) when ``obj`` may be a vote, else None.

    A vote has a ``name`` and replies to the question. Mastodon sends no ``content``;
    it recognises a vote by its name being an option of a local poll, and so do we (the
    caller checks); a nameless or contentful reply is a reply."""
    name = obj.get("name")
    question = get_id(obj.get("inReplyTo"))
    if not isinstance(name, str) or not question:
        return None
    content = obj.get("content")
    return question, name, isinstance(content, str) and bool(content.strip())
