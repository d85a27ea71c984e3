"""Verify the HTTP signature of an incoming request and bind it to an allowed hub.

Used by the inbox (POST) and by every signed ActivityPub GET. The order matters: the
keyId's domain is checked against the allowed hubs *before* anything is fetched, so a
stranger cannot make us fetch from anywhere (protocol.md §3.7).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from fedi.keystore import KeyFetchError, KeyStore
from fedi.rfc9421 import key_id_9421, verify_request_9421
from fedi.signatures import (
    SignatureFormatError,
    Verification,
    parse_signature_header,
    verify_request,
)


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


def key_domain(key_id: str) -> str:
    parts = urlsplit(key_id)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.username:
        raise RequestRejected(400, f"keyId {key_id!r} is not an http(s) URL")
    return parts.netloc.lower()


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
    return VerifiedRequest(key_id=key_id, actor_uri=key.owner, domain=domain)
