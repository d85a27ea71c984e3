"""Follows and blocks imported from Mastodon's CSV export files
(https://docs.joinmastodon.org/user/moving/#export): ``following_accounts.csv`` with the
header ``Account address,Show boosts,Notify on new posts,Languages`` (older Mastodon
versions wrote one address per line, no header) and ``blocked_accounts.csv``, one address
per line.

The whole file is checked before anything changes: a line that is not an address, a file
that is not UTF-8 text or has more than ``MAX_LINES`` accounts is refused with the line
number. Accounts are then followed (a Follow activity through ``relationships.follow``) or
blocked one by one; those that cannot be (not on a linked hub, unknown, oneself) are listed
as skipped.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from fedi.models import Actor
from fedi.services import interactions, relationships
from outbox.context import PublishContext

MAX_BYTES = 256 * 1024
MAX_LINES = 1000
KINDS = ("following", "blocks")
ADDRESS_RE = re.compile(r"^@?([A-Za-z0-9_][A-Za-z0-9_.-]{0,63})@([A-Za-z0-9.-]{1,253}(:\d{1,5})?)$")
HEADER = "account address"
TRUE = {"true", "1", "yes"}
FALSE = {"false", "0", "no", ""}


class ImportRefused(ValueError):
    """The file cannot be imported; nothing was changed. ``line`` is 1-based (0: the file)."""

    def __init__(self, line: int, en: str, fr: str) -> None:
        super().__init__(en)
        self.line = line
        self.message_fr = fr

    def message(self, lang: str) -> str:
        text = self.message_fr if lang == "fr" else str(self)
        if self.line:
            return (f"Ligne {self.line} : {text}" if lang == "fr" else f"Line {self.line}: {text}")
        return text


@dataclass(frozen=True)
class Entry:
    username: str
    domain: str
    notify: bool = False

    @property
    def address(self) -> str:
        return f"{self.username}@{self.domain}"


@dataclass
class Outcome:
    done: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (address, why)


def parse(data: bytes, kind: str) -> list[Entry]:
    """The accounts of a Mastodon CSV file, or ImportRefused."""
    if kind not in KINDS:
        raise ImportRefused(0, "Choose what the file holds.", "Choisissez ce que contient le fichier.")
    if not data.strip():
        raise ImportRefused(0, "The file is empty.", "Le fichier est vide.")
    if len(data) > MAX_BYTES:
        raise ImportRefused(0, f"The file is over {MAX_BYTES // 1024} KB.",
                            f"Le fichier dépasse {MAX_BYTES // 1024} Ko.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRefused(0, "The file is not a CSV text file (UTF-8).",
                            "Le fichier n'est pas un fichier texte CSV (UTF-8).") from None
    if "\x00" in text:
        raise ImportRefused(0, "The file is not a CSV text file (UTF-8).",
                            "Le fichier n'est pas un fichier texte CSV (UTF-8).")
    entries: dict[str, Entry] = {}
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise ImportRefused(0, f"The file is not valid CSV ({exc}).",
                            f"Le fichier n'est pas un CSV valide ({exc}).") from None
    for number, row in enumerate(rows, start=1):
        cells = [c.strip() for c in row]
        if not cells or not any(cells):
            continue
        if number == 1 and cells[0].lower() == HEADER:
            continue
        found = ADDRESS_RE.match(cells[0])
        if found is None:
            raise ImportRefused(number, f"{cells[0][:80]!r} is not an account address "
                                "(name@hub).",
                                f"« {cells[0][:80]} » n'est pas une adresse de compte "
                                "(nom@hub).")
        notify = False
        if kind == "following" and len(cells) > 2:
            value = cells[2].lower()
            if value not in TRUE | FALSE:
                raise ImportRefused(number, "“Notify on new posts” must be true or false.",
                                    "« Notify on new posts » vaut true ou false.")
            notify = value in TRUE
        entry = Entry(found.group(1).lower(), found.group(2).lower(), notify)
        entries.setdefault(entry.address, entry)
        if len(entries) > MAX_LINES:
            raise ImportRefused(number, f"The file has more than {MAX_LINES} accounts.",
                                f"Le fichier compte plus de {MAX_LINES} comptes.")
    if not entries:
        raise ImportRefused(0, "The file holds no account address.",
                            "Le fichier ne contient aucune adresse de compte.")
    return list(entries.values())


def apply(session: Session, ctx: PublishContext, member: Actor, kind: str,
          found: list[tuple[Entry, Actor | None]]) -> Outcome:
    """Follow or block each account found (``None``: could not be found, skipped)."""
    outcome = Outcome()
    for entry, target in found:
        if target is None:
            outcome.skipped.append((entry.address, "unknown"))
            continue
        try:
            if kind == "following":
                relationships.follow(session, ctx, member, target, notify=entry.notify)
            else:
                interactions.block(session, ctx, member, target)
        except (relationships.RelationshipError, interactions.InteractionError):
            outcome.skipped.append((entry.address, "refused"))
            continue
        outcome.done.append(entry.address)
    return outcome
