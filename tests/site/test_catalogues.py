"""The French and English catalogues hold every string of the code and templates, translated.

Strings are extracted with Babel (Python ``_``/``N_``/``translate``, Jinja ``_``/``{% trans %}``)
plus the client API's error messages (fedi.i18n_extract). Run ``scripts/i18n`` to add new
strings to both ``.po`` files, then translate the French ones.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from fedi import i18n
from fedi.i18n_extract import extract, read_catalogue

PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


@pytest.fixture(scope="module")
def wanted() -> set[str]:
    return {m.id for m in extract() if m.id and isinstance(m.id, str)}


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_catalogue_has_every_string_translated(lang: str, wanted: set[str]) -> None:
    catalog = read_catalogue(lang)
    present = {m.id: m for m in catalog if m.id}
    missing = sorted(wanted - set(present))
    assert not missing, f"{lang}: not in the catalogue (run scripts/i18n): {missing[:20]}"
    empty = sorted(k for k in wanted if not present[k].string)
    assert not empty, f"{lang}: untranslated ({len(empty)}): {empty[:20]}"
    fuzzy = sorted(str(m.id) for m in catalog if m.id and m.fuzzy)
    assert not fuzzy, f"{lang}: fuzzy entries: {fuzzy[:20]}"
    for msgid, message in present.items():
        if isinstance(msgid, str) and message.string:
            wanted_names = set(PLACEHOLDER.findall(msgid))
            assert set(PLACEHOLDER.findall(str(message.string))) == wanted_names, (lang, msgid)


def test_both_catalogues_hold_the_same_strings() -> None:
    fr = {m.id for m in read_catalogue("fr") if m.id}
    en = {m.id for m in read_catalogue("en") if m.id}
    assert fr == en, (sorted(map(str, fr - en))[:20], sorted(map(str, en - fr))[:20])


def test_translations_load_and_apply() -> None:
    assert i18n.translate("fr", "Log in") == "Se connecter"
    assert i18n.translate("en", "Log in") == "Log in"
    assert i18n.translate("de", "Log in") == "Se connecter"  # unknown: the default, French
    assert i18n.negotiate("en-GB,en;q=0.9,fr;q=0.8") == "en"
    assert i18n.negotiate("de-DE, fr;q=0.5, en;q=0.4") == "fr"
    assert i18n.negotiate("de-DE") is None and i18n.negotiate(None) is None
    assert i18n.normalize("fr_FR.UTF-8") == "fr" and i18n.normalize("C") is None


def test_dates_and_numbers_follow_the_locale_in_paris_time() -> None:
    moment = datetime(2026, 7, 14, 20, 30, tzinfo=UTC)  # 22:30 in Paris (summer time)
    assert i18n.format_date(moment, "fr", "long") == "14 juillet 2026"
    assert i18n.format_date(moment, "en", "long") == "July 14, 2026"
    assert i18n.format_time(moment, "fr") == "22:30"
    assert "10:30" in i18n.format_time(moment, "en")
    assert i18n.format_number(1234.5, "fr") == "1\u202f234,5"
    assert i18n.format_number(1234.5, "en") == "1,234.5"
    late = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)  # already next year in Paris
    assert i18n.format_date(late, "fr", "short") == "01/01/2027"


def test_finished_english_sentences_are_translated_by_pattern() -> None:
    """API and command errors are built in English; translate_text finds their entry."""
    fr = i18n.translate_text
    assert fr("fr", "Record not found") == "Élément introuvable"
    assert fr("fr", "bio is over 500 characters") == "bio dépasse 500 caractères"
    assert fr("fr", "Validation failed: text is over 5000 characters") == (
        "La validation a échoué : le texte dépasse 5000 caractères")
    assert fr("fr", "Validation failed: something new") == (
        "La validation a échoué : something new")
    assert fr("fr", "nothing like it") == "nothing like it"
    assert fr("en", "Record not found") == "Record not found"
