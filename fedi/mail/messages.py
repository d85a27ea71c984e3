"""Messages from ``templates/mail/<kind>.txt`` and ``.html`` in the recipient's language
(French or English, through the Babel catalogue), with their subject."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from fedi import i18n
from fedi.i18n import N_

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"
SUBJECTS = {
    "invitation": N_("%(sponsor)s invites you to join %(hub)s"),
    "application_received": N_("Your application to %(hub)s has been received"),
    "application_approved": N_("Welcome to %(hub)s: your application is approved"),
    "application_refused": N_("Your application to %(hub)s"),
    "confirm": N_("Confirm your email address on %(hub)s"),
    "reset": N_("Reset your password on %(hub)s"),
    "export_ready": N_("Your archive from %(hub)s is ready"),
    "warning": N_("A message from the moderators of %(hub)s"),
    "digest": N_("This week on %(hub)s"),
    "email_change": N_("Confirm your new email address on %(hub)s"),
    "email_change_notice": N_("A change of your email address on %(hub)s was asked"),
    "new_login": N_("A new sign-in to your account on %(hub)s"),
    "event_reminder": N_("Reminder: %(title)s"),
}
_environments: dict[tuple[str, bool], Environment] = {}


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    html: str


def _environment(lang: str, html: bool) -> Environment:
    env = _environments.get((lang, html))
    if env is None:
        env = Environment(loader=FileSystemLoader(str(TEMPLATES_DIR)), autoescape=html,
                          extensions=["jinja2.ext.i18n"], undefined=StrictUndefined,
                          keep_trailing_newline=True)
        env.install_gettext_translations(  # type: ignore[attr-defined]
            i18n.translations(lang), newstyle=True)
        _environments[(lang, html)] = env
    return env


def compose(kind: str, lang: str, context: dict[str, Any]) -> Message:
    """The message ``kind`` in ``lang`` (``fr`` unless ``en``); ``context`` fills it in
    (``hub`` is the hub's name, in every message)."""
    lang = lang if lang in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE
    values = {"lang": lang, **context}
    subject = i18n.translate(lang, SUBJECTS[kind]) % {k: v for k, v in values.items()
                                                       if isinstance(v, str)}
    text = _environment(lang, False).get_template(f"mail/{kind}.txt").render(values)
    html = _environment(lang, True).get_template(f"mail/{kind}.html").render(values)
    return Message(subject=" ".join(subject.split())[:255], text=text, html=html)
