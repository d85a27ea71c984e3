"""The Jinja2 environment of every HTML page, and ``render`` for the member site and console.

Templates get, besides what the page passes:

- ``_("…")``, ``gettext``, ``ngettext`` and ``{% trans %}…{% endtrans %}`` (Jinja's i18n
  extension, new style: ``_("Hello %(name)s", name=x)``), in the language of the context's
  ``lang`` (``render`` sets it; else the request's language);
- filters ``datetime``, ``date``, ``time`` (Europe/Paris) and ``number``, for that language;
- ``csrf_input()``: the hidden CSRF field every ``<form method="post">`` must contain.

How pages use it::

    from fedi.web.templating import render

    return render(request, "site/settings.html", {"apps": apps}, status=200)

``render`` adds ``lang``, ``member`` (or None), ``hub_name``, ``request``, sets private
no-store caching, and hands a first-time visitor their session cookie.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from fedi import i18n
from fedi.web.csrf import jinja_csrf_input
from fedi.web.session import attach_cookie, current_member
from fedi.web.state import hub_of

PAGE_HEADERS = {"Cache-Control": "private, no-store", "Vary": "Cookie, Accept-Language",
                "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin",
                "X-Content-Type-Options": "nosniff"}


def request_language(request: Request) -> str:
    """``?lang=`` on the address (the language links), else the member's chosen language,
    else the browser's ``Accept-Language``, else French."""
    chosen = getattr(request.state, "lang", None)
    if chosen in i18n.LANGUAGES:
        return str(chosen)
    member = current_member(request)
    asked = i18n.normalize(request.query_params.get("lang"))
    if asked is not None:
        lang = asked
    elif member is not None:
        lang = member.language
    else:
        lang = i18n.negotiate(request.headers.get("accept-language")) or i18n.DEFAULT_LANGUAGE
    request.state.lang = lang
    return lang


def context_language(context: Context) -> str:
    lang = context.get("lang")
    if lang in i18n.LANGUAGES:
        return str(lang)
    request = context.get("request")
    return request_language(request) if request is not None else i18n.DEFAULT_LANGUAGE


@pass_context
def _gettext(context: Context, message: str) -> str:
    return i18n.translate(context_language(context), message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return i18n.translate_plural(context_language(context), singular, plural, n)


@pass_context
def _datetime(context: Context, value: datetime | None, format: str = "medium") -> str:
    return "" if value is None else i18n.format_datetime(value, context_language(context), format)


@pass_context
def _date(context: Context, value: datetime | None, format: str = "medium") -> str:
    return "" if value is None else i18n.format_date(value, context_language(context), format)


@pass_context
def _time(context: Context, value: datetime | None, format: str = "short") -> str:
    return "" if value is None else i18n.format_time(value, context_language(context), format)


@pass_context
def _number(context: Context, value: float | None) -> str:
    return "" if value is None else i18n.format_number(value, context_language(context))


# A member's role as the pages show it (the stored values are English keys).
ROLE_LABELS = {"admin": i18n.N_("Administrator"), "moderator": i18n.N_("Moderator"),
               "member": i18n.N_("Member")}


@pass_context
def _role(context: Context, value: str | None) -> str:
    label = ROLE_LABELS.get(value or "")
    return i18n.translate(context_language(context), label) if label else (value or "")


@pass_context
def _csrf_input(context: Context) -> Any:
    return jinja_csrf_input(context)


def make_environment(directory: Path) -> Environment:
    env = Environment(loader=FileSystemLoader(str(directory)), autoescape=select_autoescape(),
                      extensions=["jinja2.ext.i18n"])
    env.install_gettext_callables(gettext=_gettext, ngettext=_ngettext,  # type: ignore[attr-defined]
                                  newstyle=True)
    env.filters.update({"datetime": _datetime, "date": _date, "time": _time,
                        "number": _number, "role": _role})
    env.globals["csrf_input"] = _csrf_input
    return env


def make_templates(directory: Path) -> Jinja2Templates:
    for lang in i18n.LANGUAGES:  # compile the catalogues now, not on the first request
        i18n.translations(lang)
    return Jinja2Templates(env=make_environment(directory))


def render(request: Request, template: str, context: dict[str, Any] | None = None,
           status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """An HTML page of the site in the request's language, for the current member."""
    hub = hub_of(request)
    values: dict[str, Any] = {"hub_name": hub.settings.name, "member": current_member(request),
                              "lang": request_language(request)}
    values.update(context or {})
    response = hub.templates.TemplateResponse(request, template, values, status_code=status,
                                              headers={**PAGE_HEADERS, **(headers or {})})
    attach_cookie(request, response)
    return response
