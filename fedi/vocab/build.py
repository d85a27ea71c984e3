"""Pure builders for the activities we send. No database, no network."""

from __future__ import annotations

from typing import Any

from fedi.vocab.context import AS

Doc = dict[str, Any]


def activity(type_: str, id_: str, actor: str, obj: Any, *, to: list[str] | None = None,
             cc: list[str] | None = None, published: str | None = None) -> Doc:
    doc: Doc = {"@context": AS, "id": id_, "type": type_, "actor": actor, "object": obj}
    if to is not None:
        doc["to"] = to
    if cc is not None:
        doc["cc"] = cc
    if published:
        doc["published"] = published
    return doc


def follow(id_: str, actor: str, target: str) -> Doc:
    return activity("Follow", id_, actor, target, to=[target])


def accept(id_: str, actor: str, follow_doc: Doc | str, follower: str) -> Doc:
    return activity("Accept", id_, actor, follow_doc, to=[follower])


def reject(id_: str, actor: str, follow_doc: Doc | str, follower: str) -> Doc:
    return activity("Reject", id_, actor, follow_doc, to=[follower])


def undo(id_: str, actor: str, inner: Doc, to: list[str], cc: list[str] | None = None) -> Doc:
    inner = {k: v for k, v in inner.items() if k != "@context"}
    return activity("Undo", id_, actor, inner, to=to, cc=cc or [])
