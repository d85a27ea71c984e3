"""The ``voisins`` command in the user's language: French when the locale is ``fr*``.

The language comes from ``LC_ALL``, then ``LC_MESSAGES``, then ``LANG`` (POSIX order);
anything else (``C``, ``en_GB.UTF-8``, unset) is English. Help texts, argparse's own words
and the one-line errors go through the Babel catalogue (fedi.i18n): ``fedi.cli`` keeps
writing English, ``localize`` translates the finished parser and ``translate_text`` the
errors. Help and error strings of ``fedi/cli.py`` are found by ``scripts/i18n``.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from fedi import i18n
from fedi.i18n import N_

# argparse's own words (Python's argparse module asks gettext for them).
ARGPARSE = (
    N_("usage: "), N_("positional arguments"), N_("options"),
    N_("show this help message and exit"), N_("the following arguments are required: %s"),
    N_("unrecognized arguments: %s"), N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("%(prog)s: error: %(message)s\n"), N_("argument %(argument_name)s: %(message)s"),
    N_("expected one argument"), N_("invalid %(type)s value: %(value)r"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("not allowed with argument %s"), N_("one of the arguments %s is required"),
)


def cli_language(env: Mapping[str, str]) -> str:
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name)
        if value:
            return "fr" if value.lower().startswith("fr") else "en"
    return "en"


def install(lang: str) -> None:
    """Make argparse's own words French (before the parser is built)."""
    if lang == "en":
        return

    def gettext(message: str) -> str:
        return i18n.translate(lang, message)

    def ngettext(singular: str, plural: str, n: int) -> str:
        return i18n.translate_plural(lang, singular, plural, n)

    argparse._ = gettext  # type: ignore[attr-defined]
    argparse.ngettext = ngettext  # type: ignore[attr-defined]


def localize(parser: argparse.ArgumentParser, lang: str) -> None:
    """Translate the help texts and descriptions of a built parser and its sub-commands."""
    if lang == "en":
        return
    seen: set[int] = set()

    def walk(p: argparse.ArgumentParser) -> None:
        if id(p) in seen:
            return
        seen.add(id(p))
        if p.description:
            p.description = i18n.translate_text(lang, p.description)
        for action in p._actions:
            _translate_help(action, lang)
            if isinstance(action, argparse._SubParsersAction):
                for choice in action._choices_actions:
                    _translate_help(choice, lang)
                for sub in action.choices.values():
                    walk(sub)

    walk(parser)


def _translate_help(action: Any, lang: str) -> None:
    if isinstance(action.help, str) and action.help != argparse.SUPPRESS:
        action.help = i18n.translate_text(lang, action.help)
