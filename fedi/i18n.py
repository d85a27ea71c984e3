"""Languages: the French and English Babel catalogues in ``fedi/locale`` and locale formats.

Message ids are English; French is the hub's default language. The ``.po`` files are the
source: they are compiled in memory the first time a language is used (no ``.mo`` file is
needed, so a fresh clone works as soon as it is installed); restart to pick up an edit.

How the rest of the code uses it:

- Python code: ``from fedi.i18n import translate`` then ``translate(lang, "Sign in")`` (or
  ``_ = translator(lang)`` then ``_("Sign in")``). Strings must be literals so extraction
  finds them; mark a string for extraction without translating it with ``N_("…")``.
- ``scripts/i18n`` extracts every string (Python, templates, API error messages) into both
  ``.po`` files; translate the new French entries, and ``tests/site/test_catalogues.py``
  checks nothing is missing.
- Templates get ``_``/``gettext``/``ngettext`` and ``{% trans %}`` from ``fedi.web.templating``
  (language taken from the context's ``lang``) and the filters ``datetime``, ``date``,
  ``time`` and ``number`` defined here.
- ``negotiate(accept_language)`` picks ``fr`` or ``en`` from an ``Accept-Language`` header.
"""

from __future__ import annotations

import io
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.dates import format_time as babel_format_time
from babel.dates import get_timezone
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"
TIMEZONE = "Europe/Paris"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"

_cache: dict[str, Translations] = {}


def N_(message: str) -> str:
    """Marks a literal for extraction; translate it later with ``gettext(lang, value)``."""
    return message


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def _compile(path: Path, lang: str) -> Translations:
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=lang, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def translations(lang: str) -> Translations:
    """The compiled catalogue of ``lang`` (``fr`` when unknown), compiled on first use."""
    lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
    cached = _cache.get(lang)
    if cached is None:
        path = po_path(lang)
        cached = _cache[lang] = _compile(path, lang) if path.exists() else Translations()
    return cached


def translate(lang: str, message: str) -> str:
    return translations(lang).gettext(message)


def translate_plural(lang: str, singular: str, plural: str, n: int) -> str:
    return translations(lang).ngettext(singular, plural, n)


def translator(lang: str) -> Any:
    """A ``_`` function bound to ``lang``."""
    return translations(lang).gettext


def normalize(value: str | None) -> str | None:
    """``fr``/``en`` from a tag such as ``en-GB`` or ``fr_FR.UTF-8``; None if neither."""
    tag = (value or "").strip().lower().replace("_", "-")
    for lang in LANGUAGES:
        if tag == lang or tag.startswith((lang + "-", lang + ".")):
            return lang
    return None


def negotiate(accept_language: str | None) -> str | None:
    """The best of our languages in an ``Accept-Language`` header, by q-value; None if none."""
    best: tuple[float, int, str] | None = None
    for index, part in enumerate((accept_language or "")[:1000].split(",")):
        tag, _, params = part.partition(";")
        lang = normalize(tag)
        if lang is None:
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality <= 0:
            continue
        if best is None or (quality, -index) > (best[0], best[1]):
            best = (quality, -index, lang)
    return best[2] if best else None


def browser_language(accept_language: str | None) -> str:
    """``negotiate``, else the hub's default language (French)."""
    return negotiate(accept_language) or DEFAULT_LANGUAGE


def _zone() -> Any:
    return get_timezone(TIMEZONE)


def format_datetime(value: datetime, lang: str, format: str = "medium") -> str:
    return babel_format_datetime(value, format=format, tzinfo=_zone(),
                                 locale=Locale.parse(lang if lang in LANGUAGES else "fr"))


def format_date(value: datetime, lang: str, format: str = "medium") -> str:
    if isinstance(value, datetime):
        value = value.astimezone(_zone())
    return babel_format_date(value, format=format,
                             locale=Locale.parse(lang if lang in LANGUAGES else "fr"))


def format_time(value: datetime, lang: str, format: str = "short") -> str:
    return babel_format_time(value, format=format, tzinfo=_zone(),
                             locale=Locale.parse(lang if lang in LANGUAGES else "fr"))


def format_number(value: float, lang: str) -> str:
    return format_decimal(value, locale=Locale.parse(lang if lang in LANGUAGES else "fr"))


_patterns: dict[str, list[tuple[re.Pattern[str], str, dict[str, str]]]] = {}
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _compile_patterns(lang: str) -> list[tuple[re.Pattern[str], str, dict[str, str]]]:
    """A regular expression per catalogue message with ``%(name)s`` placeholders, the most
    specific (longest fixed text) first; with the group → placeholder name map."""
    found = []
    for msgid in translations(lang)._catalog:
        if not isinstance(msgid, str) or "%(" not in msgid:
            continue
        groups: dict[str, str] = {}
        parts = []
        last = 0
        for match in _PLACEHOLDER.finditer(msgid):
            parts.append(re.escape(msgid[last:match.start()].replace("%%", "%")))
            group = f"g{len(groups)}"
            groups[group] = match.group(1)
            # A value inside the sentence is one word (a name, a number); only the last
            # one may be a whole sentence (an error passed on), translated in turn.
            trailing = match.end() == len(msgid)
            parts.append(f"(?P<{group}>.+?)" if trailing else f"(?P<{group}>\\S+?)")
            last = match.end()
        parts.append(re.escape(msgid[last:].replace("%%", "%")))
        fixed = len(_PLACEHOLDER.sub("", msgid))
        found.append((fixed, re.compile("^" + "".join(parts) + "$", re.DOTALL), msgid, groups))
    found.sort(key=lambda item: -item[0])
    return [(pattern, msgid, groups) for _fixed, pattern, msgid, groups in found]


def translate_text(lang: str, text: str, depth: int = 0) -> str:
    """A finished English sentence in ``lang``: an exact catalogue entry, or one whose
    ``%(name)s`` placeholders match (their values translated in turn). Else unchanged."""
    if lang not in LANGUAGES or lang == "en" or not text or len(text) > 2000:
        return text
    catalog = translations(lang)
    for key in (text, text.replace("%", "%%")):
        translated = catalog.gettext(key)
        if translated != key:
            return translated.replace("%%", "%") if key != text else translated
    if lang not in _patterns:
        _patterns[lang] = _compile_patterns(lang)
    for pattern, msgid, groups in _patterns[lang]:
        match = pattern.match(text)
        if match is None:
            continue
        translated = catalog.gettext(msgid)
        if translated == msgid:
            return text
        values = {groups[group]: translate_text(lang, value, depth + 1) if depth < 2 else value
                  for group, value in match.groupdict().items()}
        try:
            return translated % values
        except (KeyError, ValueError, TypeError):
            return text
    return text
