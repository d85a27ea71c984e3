"""Accept or refuse a verified activity before it is stored (protocol.md §3.7, §4.6)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fedi.verification import RequestRejected, VerifiedRequest
from fedi.vocab.parse import addressed, get_id, host_of
from fedi.vocab.safety import may_claim

MAX_ID_CHARS = 2048
OBJECT_CARRYING = {"Create", "Update"}


def _http_uri(value: Any, what: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_ID_CHARS:
        raise RequestRejected(400, f"{what} must be a URI")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise RequestRejected(400, f"{what} must be an http(s) URI")
    return value


def _is_instance_actor(uri: str) -> bool:
    """A hub's instance actor (``/actor`` on Voisins and Mastodon): it may send the ``Delete``
    of one of its own members' accounts (inbox.handlers.notes checks it is a linked hub's)."""
    return urlsplit(uri).path == "/actor"


def check_activity(doc: Any, signer: VerifiedRequest, *, local_domain: str) -> str:
    """The activity's id if it may be stored, else RequestRejected with a reason."""
    if not isinstance(doc, dict):
        raise RequestRejected(400, "the body must be a JSON object")
    if not isinstance(doc.get("type"), str):
        raise RequestRejected(400, "the activity has no type")
    activity_id = _http_uri(doc.get("id"), "id")
    actor = _http_uri(get_id(doc.get("actor")), "actor")
    if host_of(actor) != signer.domain:
        raise RequestRejected(401, "the signing key's host is not the actor's host")
    if actor != signer.actor_uri:
        # Relayed activities need LD signatures, which private posts never carry (§0.4).
        raise RequestRejected(401, "the activity's actor is not the signer")
    if host_of(activity_id) != signer.domain:
        raise RequestRejected(400, "the activity id is not on the actor's host")
    if not may_claim(actor, activity_id):
        # Per author, not only per host: /users/bob/… is bob's, even on the same hub.
        raise RequestRejected(400, "the activity id names another actor")
    if doc["type"] in OBJECT_CARRYING:
        obj = doc.get("object")
        if not isinstance(obj, dict):
            raise RequestRejected(400, f"{doc['type']} must embed its object")
        obj_id = _http_uri(obj.get("id"), "object.id")
        if host_of(obj_id) != signer.domain:
            raise RequestRejected(400, "the object id is not on the actor's host")
        if not may_claim(actor, obj_id):
            raise RequestRejected(400, "the object id names another actor")
        attributed = get_id(obj.get("attributedTo"))
        if attributed is not None and attributed != actor and obj.get("type") != "Person":
            raise RequestRejected(400, "the object is attributed to someone else")
        if obj.get("type") in ("Person", "Service", "Application") and obj_id != actor:
            raise RequestRejected(400, "an actor can only update itself")
    if doc["type"] == "Delete":
        target = get_id(doc.get("object"))
        if (target is not None and host_of(target) == signer.domain
                and not may_claim(actor, target) and not _is_instance_actor(actor)):
            raise RequestRejected(400, "the deleted object names another actor")
    for key in ("to", "cc"):
        for uri in addressed({key: doc.get(key)}):
            if len(uri) > MAX_ID_CHARS:
                raise RequestRejected(400, f"{key} holds an overlong URI")
    del local_domain
    return activity_id
