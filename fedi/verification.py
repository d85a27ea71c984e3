"""Incoming signed requests: the one place their signatures are checked.

Every signed request this hub receives goes through :func:`verify_signed_request`: the inbox
POSTs (``inbox.routes``), the link requests of hubs we do not know yet (``fedi.web.hubs``)
and the authorized-fetch GETs (``fedi.web``). One path, so that a fix to the signature
parse, the key lookup and refetch, the Date/Digest/Host checks, draft-cavage or RFC 9421,
or the allowed-signer check applies to all of them at once.

The order matters: the keyId's domain is checked against the allowed hubs *before*
anything is fetched, so a stranger cannot make us fetch from anywhere (protocol.md §3.7).
Nothing here touches the database or the network itself: the key store, the allowance and
the clock come in (:class:`RequestVerifier` holds the hub's own).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from fedi.keystore import KeyFetchError, KeyStore
from fedi.rfc9421 import key_id_9421, verify_request_9421
from fedi.signatures import (
    SignatureFormatError,
    Verification,
    parse_signature_header,
    verify_request,
)

#: Deepest nesting of arrays and objects accepted in a request body. ActivityPub documents
#: are a few levels deep (scoped JSON-LD contexts add some); json.loads itself gives up
#: (RecursionError) near 1,000, which leaves later recursive code too little stack.
MAX_JSON_DEPTH = 256


class RequestRejected(Exception):
    """The request cannot be accepted; ``status`` is the HTTP answer, the message the reason."""

    def __init__(self, status: int, reason: str, domain: str | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.domain = domain  # set on a 403: the hub that is not allowed


@dataclass(frozen=True)
class VerifiedRequest:
    key_id: str
    actor_uri: str  # the owner of the key
    domain: str  # host[:port] of the key and its owner


# --- reading the request -------------------------------------------------------------------


def header_view(raw_headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """Lower-cased names; repeated headers joined with ', ' (as the signing string wants).

    Values are decoded as latin-1 so that non-ASCII bytes reach the verifier (which then
    refuses them with a reason) instead of raising here.
    """
    out: dict[str, str] = {}
    for name, value in raw_headers:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        out[key] = f"{out[key]}, {text}" if key in out else text
    return out


def request_target(scope: Mapping[str, Any]) -> str:
    """The path and query exactly as sent (what ``(request-target)`` signs)."""
    raw_path = scope.get("raw_path") or scope["path"].encode()
    target = raw_path.decode("latin-1")
    query = scope.get("query_string", b"")
    return f"{target}?{query.decode('latin-1')}" if query else target


def key_domain(key_id: str) -> str:
    parts = urlsplit(key_id)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.username:
        raise RequestRejected(400, f"keyId {key_id!r} is not an http(s) URL")
    return parts.netloc.lower()


def signing_domain(headers: Mapping[str, str]) -> str | None:
    """The host of the request's keyId, or None when it is not signed readably."""
    try:
        if "signature-input" in headers:
            key_id = key_id_9421(headers)
        elif "signature" in headers:
            key_id = parse_signature_header(headers["signature"]).key_id
        else:
            return None
        return key_domain(key_id) if key_id else None
    except (SignatureFormatError, RequestRejected, ValueError):
        return None


def _depth_exceeds(doc: Any, limit: int) -> bool:
    """Is ``doc`` nested deeper than ``limit``? Iterative: a deep document cannot make
    this check itself recurse."""
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, (dict, list)))
    return False


def read_json_body(body: bytes, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """The parsed body, or RequestRejected(400) with a reason (never a 500)."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise RequestRejected(400, "the body is not valid JSON") from None
    except RecursionError:
        # json raises RecursionError (not ValueError) past ~1,000 levels of nesting; a
        # 200 kB body of brackets must get a 400, not a 500 (security-and-performance.md
        # §5.2 row 15).
        raise RequestRejected(400, "the body is nested too deeply") from None
    if _depth_exceeds(doc, max_depth):
        raise RequestRejected(400, f"the body is nested too deeply (over {max_depth} levels)")
    return doc


# --- the signature -------------------------------------------------------------------------


def _authority(host: str | None, url: str) -> str:
    """``host[:port]`` lower-cased, without the scheme's default port; ``host`` None means
    the authority of ``url`` (this hub's public URL for the request)."""
    parts = urlsplit(url)
    value = (parts.netloc if host is None else host).strip().lower()
    default = {"http": ":80", "https": ":443"}.get(parts.scheme, "")
    return value.removesuffix(default) if default else value


async def verify_signed_request(
    method: str,
    target: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    keystore: KeyStore,
    is_allowed: Callable[[str], bool],
    local_domain: str,
    now: datetime,
) -> VerifiedRequest:
    """Check the signature (draft-cavage or RFC 9421); raise RequestRejected with a reason."""
    rfc9421 = "signature-input" in headers
    if rfc9421:
        key_id = key_id_9421(headers)
        if key_id is None:
            raise RequestRejected(400, "Signature-Input has no keyid")
        parsed = None
    else:
        if "signature" not in headers:
            raise RequestRejected(401, "request is not signed (Signature header required)")
        try:
            parsed = parse_signature_header(headers["signature"])
        except SignatureFormatError as exc:
            raise RequestRejected(400, f"malformed Signature header: {exc}") from None
        key_id = parsed.key_id
    if not rfc9421 and _authority(headers.get("host", ""), url) != _authority(None, url):
        # The signed Host binds a draft-cavage signature to one hub (signatures.py requires
        # it signed); unless it is compared with ours, a request signed for another hub
        # verifies here too and can be replayed to us. (RFC 9421 signatures are checked
        # against our own URL already.)
        raise RequestRejected(401, f"the request was signed for host {headers.get('host')!r}, "
                                   "not for this hub")
    domain = key_domain(key_id)
    if domain == local_domain:
        raise RequestRejected(401, "a request signed with this hub's own key is refused")
    if not is_allowed(domain):
        raise RequestRejected(403, f"{domain} is not a linked or allowed hub", domain)

    def check(pem: str) -> Verification:
        if rfc9421:
            return verify_request_9421(method, url, headers, body,
                                       public_key_pem_for=lambda _key_id: pem, now=now)
        return verify_request(method, target, headers, body, public_key_pem=pem, now=now,
                              parsed=parsed)

    try:
        key = await keystore.get(key_id)
    except KeyFetchError as exc:
        raise RequestRejected(401, f"cannot get key {key_id}: {exc}") from None
    result = check(key.public_key_pem)
    if not result.ok and result.failure is not None and result.failure.name == "BAD_SIGNATURE":
        # The actor may have rotated its key: fetch it again, at most once per interval.
        try:
            fresh = await keystore.refetch(key_id)
        except KeyFetchError:
            fresh = None
        if fresh is not None and fresh.public_key_pem != key.public_key_pem:
            key = fresh
            result = check(key.public_key_pem)
    if not result.ok:
        raise RequestRejected(401, f"signature rejected: {result.detail}")
    if key_domain(key.owner) != domain:
        raise RequestRejected(401, "the key's owner is not on the key's host")
    try:
        await keystore.verified(key_id)
    except KeyFetchError as exc:
        raise RequestRejected(401, f"cannot keep key {key_id}: {exc}") from None
    return VerifiedRequest(key_id=key_id, actor_uri=key.owner, domain=domain)


def _never(_domain: str) -> bool:
    return False


@dataclass
class RequestVerifier:
    """The hub's verifier: its key store, who may sign to it, its own domain and URL.

    ``has_ended(domain)`` tells a hub whose link with us ended: its signed GETs get 404 (as
    for anything it may not see) instead of 403 (issue: "unlinking: inbox 403, fetch 404").
    """

    keystore: KeyStore
    is_allowed: Callable[[str], bool]
    local_domain: str
    base_url: str
    has_ended: Callable[[str], bool] = _never
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    async def verify(self, scope: Mapping[str, Any], body: bytes = b"", *,
                     keystore: KeyStore | None = None,
                     is_allowed: Callable[[str], bool] | None = None) -> VerifiedRequest:
        """The verified signer of the request of this ASGI ``scope``, or RequestRejected.

        ``keystore`` and ``is_allowed`` replace the hub's own for one request: a link
        request from a hub we do not know yet is verified with a one-domain allowance and a
        key store that stores nothing (``fedi.web.hubs``).
        """
        target = request_target(scope)
        method = scope["method"]
        try:
            return await verify_signed_request(
                method, target, f"{self.base_url}{target}",
                header_view(scope["headers"]), body,
                keystore=keystore or self.keystore,
                is_allowed=is_allowed or self.is_allowed,
                local_domain=self.local_domain, now=self.clock())
        except RequestRejected as exc:
            if exc.status == 403 and exc.domain and method == "GET" and self.has_ended(
                    exc.domain):
                raise RequestRejected(404, "not found") from None
            raise
