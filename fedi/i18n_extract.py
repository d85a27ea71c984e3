"""Finding every translatable string: Babel extraction plus the client API's error messages.

Used by ``scripts/i18n`` (adds new strings to both ``.po`` files) and by the catalogue test
(nothing missing, nothing untranslated). Not used at run time.

Strings come from: ``_("…")``, ``N_("…")``, ``translate(lang, "…")`` and
``translate_plural(lang, "…", "…", n)`` in Python; ``_()``/``gettext``/``ngettext`` and
``{% trans %}`` in ``templates/``; and the message of every ``ApiError(status, "…")``,
``unprocessable("…")`` and ``OAuthError(status, code, "…")`` in ``fedi/api`` (f-string parts
become ``%(name)s`` placeholders, matched back at run time by ``fedi.api.error_language``);
the ``voisins`` command's help texts and errors (``cli_messages``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from fedi.i18n import LANGUAGES, po_path

ROOT = Path(__file__).resolve().parents[1]
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2),
            "translate": (2,), "translate_plural": (2, 3)}
SOURCES = [("fedi", [("**.py", "python")]),
           ("templates", [("**.html", "jinja2"), ("**.txt", "jinja2")])]
OPTIONS = {"**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "false"},
           "**.txt": {"extensions": "jinja2.ext.i18n", "trimmed": "false"}}
# (function name, index of the message argument)
ERROR_CALLS = {"ApiError": 1, "unprocessable": 0, "OAuthError": 2}


def _placeholder(node: ast.expr, index: int) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return f"value{index}"


def message_of(node: ast.expr) -> str | None:
    """A literal, or an f-string as a ``%(name)s`` pattern; None for anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.replace("%", "%%") if "%" in node.value else node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for index, value in enumerate(node.values):
            if isinstance(value, ast.Constant):
                parts.append(str(value.value).replace("%", "%%"))
            elif isinstance(value, ast.FormattedValue):
                parts.append(f"%({_placeholder(value.value, index)})s")
        return "".join(parts)
    return None


# Service errors whose message the API passes on (``unprocessable(str(exc))``).
SERVICE_ERRORS = {"ProfileError": 0, "PostingError": 0, "InteractionError": 0,
                  "RelationshipError": 0, "MediaRefused": 0}


def api_error_messages(root: Path = ROOT) -> Iterator[tuple[str, str, int]]:
    """(message, file, line) of each literal error message raised by the client API,
    and of the service errors it passes on."""
    paths = [(p, ERROR_CALLS) for p in sorted((root / "fedi" / "api").rglob("*.py"))]
    paths += [(p, SERVICE_ERRORS) for p in sorted((root / "fedi" / "services").rglob("*.py"))]
    for path, calls in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else (
                node.func.attr if isinstance(node.func, ast.Attribute) else "")
            index = calls.get(name)
            if index is None or len(node.args) <= index:
                continue
            message = message_of(node.args[index])
            if message and message.strip("%()s "):
                yield message, str(path.relative_to(root)), node.lineno


def _call_name(node: ast.Call) -> str:
    if isinstance(node.func, ast.Name):
        return node.func.id
    return node.func.attr if isinstance(node.func, ast.Attribute) else ""


def cli_messages(root: Path = ROOT) -> Iterator[tuple[str, str, int]]:
    """Help texts of ``voisins`` (fedi/cli.py ``build_parser``), its ``CommandError``
    messages and the configuration errors (fedi/config.py ``ConfigError``)."""
    for name, calls in (("cli.py", {"CommandError": 0}), ("config.py", {"ConfigError": 1}),
                        ("mail/settings.py", {"ConfigError": 1})):
        path = root / "fedi" / name
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _call_name(node) in calls:
                index = calls[_call_name(node)]
                message = message_of(node.args[index]) if len(node.args) > index else None
                if message and message.strip("%()s :"):
                    yield message, f"fedi/{name}", node.lineno
            if isinstance(node, ast.FunctionDef) and node.name == "build_parser":
                for inner in ast.walk(node):
                    texts: list[ast.expr] = []
                    if isinstance(inner, ast.keyword) and inner.arg in ("help", "description"):
                        texts.append(inner.value)
                    if isinstance(inner, ast.For):
                        texts.extend(n for n in ast.walk(inner.iter)
                                     if isinstance(n, ast.Constant) and isinstance(n.value, str)
                                     and " " in n.value)
                    for text in texts:
                        message = message_of(text)
                        if message:
                            yield message, f"fedi/{name}", getattr(text, "lineno", 0)


def extract(root: Path = ROOT) -> Catalog:
    """Every translatable string of the project, as a template catalogue."""
    catalog = Catalog(domain="messages")
    for folder, method_map in SOURCES:
        for filename, lineno, message, _comments, _context in extract_from_dir(
                str(root / folder), method_map=method_map, options_map=OPTIONS,
                keywords=KEYWORDS, strip_comment_tags=True):
            if message:
                catalog.add(message, locations=[(f"{folder}/{filename}", lineno)])
    for message, filename, lineno in (*api_error_messages(root), *cli_messages(root)):
        catalog.add(message, locations=[(filename, lineno)])
    catalog.add("configuration error: %(key)s: %(message)s", locations=[("fedi/config.py", 0)])
    # The "Validation failed: …" wrapper of unprocessable() (fedi.api.errors).
    catalog.add("Validation failed: %(message)s", locations=[("fedi/api/errors.py", 0)])
    return catalog


def read_catalogue(lang: str) -> Catalog:
    with po_path(lang).open("rb") as fh:
        return read_po(fh, locale=lang)


def update_catalogues(template: Catalog) -> dict[str, list[str]]:
    """Add new strings to each ``.po`` (English: the msgid itself), drop vanished ones.
    Returns, per language, the strings that still need a translation."""
    todo: dict[str, list[str]] = {}
    for lang in LANGUAGES:
        catalog = read_catalogue(lang)
        wanted = {m.id for m in template if m.id}
        for message in list(catalog):
            if message.id and message.id not in wanted:
                catalog.delete(message.id)
        for message in template:
            if not message.id:
                continue
            existing = catalog.get(message.id)
            if existing is None:
                default = message.id if lang == "en" else ""
                catalog.add(message.id, default, auto_comments=message.auto_comments)
            elif lang == "en" and not existing.string:
                existing.string = message.id
        todo[lang] = [m.id for m in catalog if m.id and not m.string]
        with po_path(lang).open("wb") as fh:
            write_po(fh, catalog, width=100, no_location=True, omit_header=False,
                     sort_output=True, include_previous=False)
    return todo
