"""The hub's rules: shown on ``/rules`` and at sign-up, listed by ``/api/v1/instance`` (and
``/api/v1/instance/rules``), and named by reports (``rule_ids``). Admins edit them in the
console (``/console/settings/rules``); until then the defaults below apply.

Kept as the hub setting ``rules``: a list of ``[id, text, hint]``. A text may be written
« français / English »: pages show the half in the reader's language. A rule keeps its id
while its text stays the same, so the rule ids of earlier reports still name what the
reporter chose; a new rule gets the next free number.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from fedi.db import utcnow
from fedi.models import HubSetting

KEY = "rules"
MAX_RULES = 20
MAX_TEXT = 400

Rule = tuple[str, str, str]  # id, text, hint

DEFAULT_RULES: tuple[Rule, ...] = (
    ("1", "Vivre ou travailler dans le quartier. / Live or work in the neighbourhood.",
     "Le hub couvre ses codes postaux. / The hub covers its postal codes."),
    ("2", "Être coopté par un membre. / Be invited by a member.", ""),
    ("3", "Rester courtois et bienveillant. / Be courteous and kind.", ""),
    ("4", "Pas de démarchage abusif. / No spam or aggressive selling.", ""),
)


class RulesError(ValueError):
    """Rules an admin typed that cannot be kept; the message in English and French."""

    def __init__(self, en: str, fr: str) -> None:
        super().__init__(en)
        self.en, self.fr = en, fr

    def message(self, lang: str) -> str:
        return self.fr if lang == "fr" else self.en


def hub_rules(session: Session) -> list[Rule]:
    row = session.get(HubSetting, KEY)
    value = row.value if row is not None else None
    if not isinstance(value, list) or not value:
        return list(DEFAULT_RULES)
    rules = [(str(r[0]), str(r[1]), str(r[2])) for r in value
             if isinstance(r, list) and len(r) == 3]
    return rules or list(DEFAULT_RULES)


def as_text(rules: list[Rule]) -> str:
    """The rules as the console's text box shows them: one per line, ``text | hint``."""
    return "\n".join(f"{text} | {hint}" if hint else text for _id, text, hint in rules)


def set_rules(session: Session, source: str) -> list[Rule]:
    """Store the rules typed one per line (``text`` or ``text | hint``); an empty box
    restores the defaults. Refused whole, changing nothing, when a line is too long or
    there are too many."""
    lines = [line.strip() for line in source.replace("\r\n", "\n").split("\n")]
    lines = [line for line in lines if line]
    if len(lines) > MAX_RULES:
        raise RulesError(f"At most {MAX_RULES} rules.", f"Au plus {MAX_RULES} règles.")
    for number, line in enumerate(lines, 1):
        if len(line) > MAX_TEXT:
            raise RulesError(f"Line {number} is longer than {MAX_TEXT} characters.",
                             f"La ligne {number} dépasse {MAX_TEXT} caractères.")
    row = session.get(HubSetting, KEY)
    if not lines:
        if row is not None:
            session.delete(row)
        session.flush()
        return list(DEFAULT_RULES)
    before = {text: rule_id for rule_id, text, _hint in hub_rules(session)}
    used = {int(rule_id) for rule_id in before.values() if rule_id.isascii()
            and rule_id.isdigit()}
    rules: list[Rule] = []
    for line in lines:
        text, _, hint = (part.strip() for part in line.partition(" | "))
        rule_id = before.get(text)
        if rule_id is None or any(rule_id == r[0] for r in rules):
            rule_id = str(max(used, default=0) + 1)
            used.add(int(rule_id))
        rules.append((rule_id, text, hint))
    value = [list(rule) for rule in rules]
    if row is None:
        session.add(HubSetting(key=KEY, value=value, updated_at=utcnow()))
    else:
        row.value, row.updated_at = value, utcnow()
    session.flush()
    return rules
