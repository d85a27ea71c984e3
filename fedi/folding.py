"""French-aware folding of profile text for the directory and account search (pure).

Accents and case are ignored, simple plurals and common feminine forms are reduced
(« plombiers » → « plombier », « avocate » → « avocat », « coiffeuse » → « coiffeur »), and a
query word matches the start of a profile word. ``document`` is a profile's folded words as
one string, `` w1 w2 … `` (a space before each word), kept on the actor row
(``Actor.directory_text``) so the database finds a word's start with ``LIKE '% word%'``.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable

_WORD = re.compile(r"[a-z0-9]+")
_TAG = re.compile(r"<[^>]+>")
_INCLUSIVE = re.compile(r"·\w+(?:·\w+)?")
# Common French feminine endings → masculine, on folded words (longest first):
# coiffeuse → coiffeur, décoratrice → décorateur, électricienne → électricien,
# plombière → plombier, avocate → avocat, créative → créatif.
_FEMININE = (("trice", "teur"), ("euse", "eur"), ("ienne", "ien"), ("enne", "en"),
             ("ere", "er"), ("ive", "if"), ("ate", "at"))
KEY_LENGTH = 255


def fold(text: str) -> str:
    """Lower case without accents or ligatures: « Électricien·ne » → « electricien·ne »."""
    decomposed = unicodedata.normalize("NFKD", text.replace("œ", "oe").replace("Œ", "OE")
                                       .replace("æ", "ae").replace("Æ", "AE"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def stem(word: str) -> str:
    """Reduce a folded French word's simple plural and common feminine forms to one key:
    chevaux → cheval, plombiers → plombier, avocates → avocat, coiffeuse → coiffeur.
    Queries and profiles go through the same function, so both sides meet."""
    if len(word) > 4 and word.endswith("aux"):
        word = word[:-3] + "al"
    elif len(word) > 3 and word[-1] in "sx":
        word = word[:-1]
    for ending, masculine in _FEMININE:
        if len(word) > len(ending) + 2 and word.endswith(ending):
            return word[:-len(ending)] + masculine
    return word


def folded(text: str) -> list[str]:
    """The folded words of a text (HTML tags and entities removed)."""
    plain = html.unescape(_TAG.sub(" ", text or ""))
    return _WORD.findall(fold(plain).replace("·", " "))


def words(text: str) -> list[str]:
    """Folded, stemmed words of a text (HTML tags and entities removed)."""
    return [stem(w) for w in folded(text)]


def terms(text: str) -> list[tuple[str, ...]]:
    """Each folded word of a query with its stem: either may start a profile's word (the
    stem meets « avocat » for « avocate », the word itself keeps a half-typed « oliv »
    meeting « olive »). An inclusive ending (« Plombier·ère ») marks a gender, not a word."""
    text = _INCLUSIVE.sub("", fold(text or ""))
    return [tuple(dict.fromkeys((w, stem(w)))) for w in folded(text)]


def word_set(parts: Iterable[str]) -> set[str]:
    """The folded words of ``parts`` and their stems: what a query's terms may start."""
    found = folded(" ".join(parts))
    return set(found) | {stem(w) for w in found}


def profile_parts(display_name: str | None, username: str | None, business_name: str | None,
                  summary: str | None, trade: str | None, postal_code: str | None,
                  fields: list[dict[str, str]] | None) -> list[str]:
    """The texts of a profile the directory searches (its trade's labels aside)."""
    parts = [display_name or "", username or "", business_name or "", summary or "",
             trade or "", postal_code or ""]
    for item in fields or []:
        if isinstance(item, dict):
            parts.append(str(item.get("name", "")))
            parts.append(str(item.get("value", "")))
    return parts


def document(parts: Iterable[str]) -> str:
    """``word_set(parts)`` as stored: sorted, a space before each word and one at the end."""
    return "".join(f" {w}" for w in sorted(word_set(parts))) + " "


def sort_key(display_name: str | None, username: str | None) -> str:
    """The directory's order within a hub: the folded display name (else the username)."""
    return fold(display_name or username or "")[:KEY_LENGTH]


def matches(document_words: set[str], wanted: list[tuple[str, ...]]) -> bool:
    """Does every query term (any of its forms) start one of the document's words?"""
    return all(any(w.startswith(q) for w in document_words for q in forms) for forms in wanted)
