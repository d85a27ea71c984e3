"""« Mes données »: ``/settings/export`` (ask for an archive, built by the worker; download
it with the session or the mailed link) and ``/settings/import`` (follows and blocks from
Mastodon's CSV files). See fedi.services.data_export and fedi.services.follow_import."""

from __future__ import annotations

import asyncio
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route

from fedi import i18n
from fedi.db import transaction
from fedi.i18n import translate
from fedi.models import Actor, DataExport
from fedi.services import data_export, follow_import
from fedi.services.follow_import import Entry, ImportRefused
from fedi.site.page import publish_ctx
from fedi.site.profile import find_profile, resolve_profile
from fedi.web.session import member_of, require_member
from fedi.web.state import hub_of
from fedi.web.templating import render, request_language

DOWNLOAD_HEADERS = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "no-referrer"}
RESOLVE_AT_ONCE = 4
MAX_LOOKUPS = 200


def _export_page(request: Request, error: str | None = None, status: int = 200) -> Response:
    member = member_of(request)
    hub = hub_of(request)
    with hub.read_sessions() as session:
        rows = data_export.exports_of(session, member.user.id)
    exports = [{"row": r, "expires": data_export.expires_at(r),
                "downloadable": data_export.is_downloadable(r)} for r in rows]
    return render(request, "site/data_export.html", {
        "nav": "settings", "exports": exports, "error": error,
        "asked": request.query_params.get("asked") == "1"}, status=status)


@require_member
async def export_page(request: Request) -> Response:
    return _export_page(request)


@require_member
async def ask_export(request: Request) -> Response:
    member = member_of(request)
    hub = hub_of(request)
    lang = request_language(request)
    try:
        with transaction(hub.write_sessions) as session:
            data_export.request_export(session, member.user.id)
    except data_export.ExportRefused as exc:
        when = i18n.format_datetime(exc.again_at, lang, "short")
        return _export_page(request, translate(
            lang, "You already asked for an archive today. You can ask again from %(when)s.")
            % {"when": when}, 429)
    builder = hub.extras.get("export_builder")
    if builder is not None:
        builder.wake()
    return RedirectResponse("/settings/export?asked=1", status_code=303)


def _file(hub_folder: str, row: DataExport) -> Response:
    if not row.file_name or not Path(hub_folder, row.file_name).is_file():
        raise HTTPException(404)  # removed by hand, or a disk lost: ask again
    return FileResponse(f"{hub_folder}/{row.file_name}", media_type="application/zip",
                        filename=f"archive-{row.created_at:%Y%m%d}.zip",
                        headers=DOWNLOAD_HEADERS)


@require_member
async def download_own(request: Request) -> Response:
    """The member's archive through their session (another member gets 404)."""
    raw = str(request.path_params.get("export_id", ""))
    if not raw.isdigit() or len(raw) > 20:
        raise HTTPException(404)
    member = member_of(request)
    hub = hub_of(request)
    with hub.read_sessions() as session:
        row = data_export.of_member(session, int(raw), member.user.id)
    if row is None:
        raise HTTPException(404)
    return _file(str(data_export.exports_dir(hub.settings)), row)


async def download_by_token(request: Request) -> Response:
    """The mailed link: the token is the key (no session needed); 404 once expired."""
    hub = hub_of(request)
    with hub.read_sessions() as session:
        row = data_export.by_token(session, str(request.path_params.get("token", "")))
    if row is None:
        raise HTTPException(404)
    return _file(str(data_export.exports_dir(hub.settings)), row)


# --- import ----------------------------------------------------------------------------------


def _import_page(request: Request, *, error: str | None = None, kind: str = "following",
                 outcome: follow_import.Outcome | None = None, status: int = 200) -> Response:
    return render(request, "site/data_import.html", {
        "nav": "settings", "error": error, "kind": kind, "outcome": outcome,
        "max_lines": follow_import.MAX_LINES}, status=status)


@require_member
async def import_page(request: Request) -> Response:
    return _import_page(request)


async def _read_upload(request: Request) -> tuple[str, bytes]:
    async with request.form(max_files=1, max_fields=5,
                            max_part_size=follow_import.MAX_BYTES + 1) as form:
        kind = form.get("kind", "")
        upload = form.get("file")
        if not isinstance(kind, str) or upload is None or isinstance(upload, str):
            return (kind if isinstance(kind, str) else ""), b""
        data = await upload.read(follow_import.MAX_BYTES + 1)
    return kind, data


async def _find(request: Request, entries: list[Entry]) -> list[tuple[Entry, Actor | None]]:
    """Each account: stored already, or fetched from its linked hub (a few at a time)."""
    hub = hub_of(request)
    with hub.read_sessions() as session:
        known = {e.address: find_profile(session, hub.settings.domain, e.address,
                                         hub.peers.is_allowed) for e in entries}
    gate = asyncio.Semaphore(RESOLVE_AT_ONCE)
    # Accounts not stored yet are looked up on their hub (WebFinger, then the actor): a
    # bounded number per file, so that one request stays short; the rest are skipped.
    unknown = [e.address for e in entries
               if known.get(e.address) is None and e.domain != hub.settings.domain]
    lookups = set(unknown[:MAX_LOOKUPS])

    async def one(entry: Entry) -> tuple[Entry, Actor | None]:
        actor = known.get(entry.address)
        if actor is None and entry.address in lookups:
            async with gate:
                actor = await resolve_profile(hub, entry.address)
        return entry, actor

    return list(await asyncio.gather(*(one(e) for e in entries)))


@require_member
async def run_import(request: Request) -> Response:
    lang = request_language(request)
    try:
        kind, data = await _read_upload(request)
    except (HTTPException, MultiPartException):
        return _import_page(request, error=translate(
            lang, "This form could not be read: choose the file again."), status=400)
    try:
        entries = follow_import.parse(data, kind)
    except ImportRefused as exc:
        return _import_page(request, error=exc.message(lang),
                            kind=kind if kind in follow_import.KINDS else "following",
                            status=422)
    found = await _find(request, entries)
    member = member_of(request)
    hub = hub_of(request)
    with transaction(hub.write_sessions) as session:
        me = session.get(Actor, member.actor.id)
        assert me is not None
        attached = [(e, session.get(Actor, a.id) if a is not None else None) for e, a in found]
        outcome = follow_import.apply(session, publish_ctx(hub), me, kind, attached)
    return _import_page(request, kind=kind, outcome=outcome)


routes = [
    Route("/settings/export", export_page, methods=["GET"], name="data_export"),
    Route("/settings/export", ask_export, methods=["POST"]),
    Route("/settings/export/{export_id}", download_own, methods=["GET"]),
    Route("/export/{token}", download_by_token, methods=["GET"]),
    Route("/settings/import", import_page, methods=["GET"], name="data_import"),
    Route("/settings/import", run_import, methods=["POST"]),
]
