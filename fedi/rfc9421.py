"""RFC 9421 HTTP Message Signatures in Mastodon's profile, through ``http-message-signatures``.

Mastodon ≥ 4.5 verifies RFC 9421 when a ``Signature-Input`` header is present, and 4.7
signs with it as a fallback after draft-cavage (protocol.md §3.2). Its profile:

* exactly one signature, with ``keyid`` and ``created``;
* ``@method`` and ``@target-uri`` covered, and ``content-digest`` for POST, with a
  ``sha-256`` member that matches the body (RFC 9530);
* RSASSA-PKCS1-v1_5 SHA-256 (``rsa-v1_5-sha256``) only;
* the same time window as draft-cavage: created ≤ now + 1 h and
  now ≤ min(expires or created + 5 min, created + 12 h) + 1 h.

The library does the signature base and the cryptography. Two things it does not do the
way we need, so this module does them:

* **Time.** ``HTTPMessageVerifier.validate_created_and_expires`` (3.0.0) reads the real
  clock (``datetime.now()``). We override that one method so the injected ``now`` is used.
* **Window shape.** The library checks ``created + max_age ≥ now − max_clock_skew``, so
  ``max_clock_skew=1 h`` with ``max_age=65 min`` would accept signatures 2 h 05 min old.
  The override applies Mastodon's rule above instead (≈ −65 min / +60 min), shared
  with :func:`fedi.signatures.window_problem`.

Docs: https://www.rfc-editor.org/rfc/rfc9421 ·
https://github.com/pyauth/http-message-signatures ·
https://github.com/mastodon/mastodon/blob/main/app/lib/signed_request.rb
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import http_sf
from cryptography.exceptions import InvalidSignature as CryptoInvalidSignature
from http_message_signatures import (
    HTTPMessageSignaturesException,
    HTTPMessageSigner,
    HTTPMessageVerifier,
    InvalidSignature,
    MappingKeyResolver,
    algorithms,
)

from fedi.keys import KeyFormatError, load_private_key, load_public_key
from fedi.signatures import (
    CLOCK_SKEW,
    DEFAULT_LIFETIME,
    MAX_LIFETIME,
    Failure,
    Verification,
    lower_headers,
    window_problem,
)

#: The only algorithm Mastodon can verify (protocol.md §3.2).
ALGORITHM = algorithms.RSA_V1_5_SHA256
REQUIRED_COMPONENTS = ("@method", "@target-uri")
#: Label we give our own signatures (Mastodon's docs use ``sig1`` too).
LABEL = "sig1"
#: Longest Signature-Input / Signature header we parse.
MAX_HEADER_CHARS = 8192

#: A key lookup: keyid → public key PEM, or None when the key is unknown.
PublicKeyLookup = Callable[[str], str | None]


@dataclass
class _Message:
    """The duck-typed request the library reads: uppercase method, absolute URL, headers."""

    method: str
    url: str
    headers: dict[str, str]


class _WindowError(InvalidSignature):
    pass


class _FediverseVerifier(HTTPMessageVerifier):
    """The library's verifier with an injected clock and Mastodon's time window."""

    max_clock_skew = CLOCK_SKEW

    def __init__(self, *, now: datetime, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._now = now

    def validate_created_and_expires(self, sig_input: Any, max_age: Any = None) -> None:
        # Replaces the library's method, which uses datetime.now(); max_age is not used.
        problem = _window_problem(sig_input.params, self._now)
        if problem:
            raise _WindowError(problem)


def _validity(params: Mapping[str, Any]) -> tuple[float, float]:
    """Created and effective expiry in Unix seconds; ValueError when not integers."""
    created, expires = params.get("created"), params.get("expires")
    if type(created) is not int:
        raise ValueError("created is missing or not an integer")
    if expires is not None and type(expires) is not int:
        raise ValueError("expires is not an integer")
    end = created + DEFAULT_LIFETIME.total_seconds() if expires is None else expires
    return float(created), min(float(end), created + MAX_LIFETIME.total_seconds())


def _window_problem(params: Mapping[str, Any], now: datetime) -> str | None:
    try:
        created, end = _validity(params)
    except ValueError as e:
        return str(e)
    return window_problem(created, end, now)


def _single_signature(view: Mapping[str, str]) -> tuple[list[Any], dict[str, Any]]:
    """Components and parameters of the one signature; raises ValueError with a reason."""
    raw_input, raw_sig = view.get("signature-input", ""), view.get("signature", "")
    if len(raw_input) > MAX_HEADER_CHARS or len(raw_sig) > MAX_HEADER_CHARS:
        raise ValueError("signature headers are too long")
    inputs = http_sf.parse(raw_input.encode("ascii"), tltype="dictionary")
    signatures = http_sf.parse(raw_sig.encode("ascii"), tltype="dictionary")
    if len(inputs) != 1 or inputs.keys() != signatures.keys():
        # Mastodon accepts exactly one signature (signed_request.rb).
        raise ValueError("expected exactly one signature with matching labels")
    ((components, params),) = inputs.values()
    ((signature, _),) = signatures.values()
    if not isinstance(components, list) or not isinstance(signature, bytes):
        raise ValueError(  # noqa: TRY004 - callers treat every malformed header as ValueError
            "Signature-Input must be an inner list and Signature a byte sequence")
    return components, params


def key_id_9421(headers: Mapping[str, str]) -> str | None:
    """The ``keyid`` of the request's single RFC 9421 signature, without verifying it,
    so the caller can fetch the key first. None when absent or unreadable."""
    view = lower_headers(headers)
    try:
        _, params = _single_signature(view)
    except ValueError:  # includes UnicodeEncodeError
        return None
    key_id = params.get("keyid")
    return str(key_id) if isinstance(key_id, str) and key_id else None


def _content_digest_problem(value: str | None, body: bytes) -> str | None:
    if value is None:
        return "Content-Digest header is absent"
    try:
        members = http_sf.parse(value.encode("ascii"), tltype="dictionary")
    except ValueError:  # includes UnicodeEncodeError
        return "Content-Digest is not a structured dictionary"
    hashers = {"sha-256": hashlib.sha256, "sha-512": hashlib.sha512}
    if "sha-256" not in members:
        return "Content-Digest has no sha-256 member"
    for name, (given, _) in members.items():
        if name in hashers:
            computed = hashers[name](body).digest()
            if not isinstance(given, bytes) or not hmac.compare_digest(given, computed):
                return f"{name} Content-Digest does not match the body"
    return None


def verify_request_9421(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    public_key_pem_for: PublicKeyLookup,
    now: datetime,
) -> Verification:
    """Verify an RFC 9421 signed request with Mastodon's rules. Never raises on bad input.

    ``url`` is the absolute URL as this hub is publicly reached (scheme, public host,
    raw path and query). ``public_key_pem_for(keyid)`` returns the PEM or None; it is
    synchronous, so look the key up first with :func:`key_id_9421` (and an async
    :class:`fedi.keystore.KeyStore`), then pass ``lambda _: pem``.
    """
    view = lower_headers(headers)
    if "signature-input" not in view:
        return Verification.failed(Failure.NO_SIGNATURE, "no Signature-Input header")
    if "signature" not in view:
        return Verification.failed(Failure.BAD_FORMAT, "Signature-Input without Signature")
    try:
        components, params = _single_signature(view)
    except UnicodeEncodeError:
        return Verification.failed(Failure.NON_ASCII, "signature headers are not ASCII")
    except ValueError as e:
        return Verification.failed(Failure.BAD_FORMAT, str(e))
    key_id = params.get("keyid")
    if not isinstance(key_id, str) or not key_id:
        return Verification.failed(Failure.BAD_FORMAT, "keyid is missing")
    key_id = str(key_id)

    def fail(failure: Failure, detail: str) -> Verification:
        return Verification.failed(failure, detail, key_id=key_id)

    alg = params.get("alg")
    if alg is not None and alg != ALGORITHM.algorithm_id:
        return fail(Failure.UNSUPPORTED_ALGORITHM, f"{alg!r} (only rsa-v1_5-sha256)")
    covered = [c for c, _ in components]
    required = list(REQUIRED_COMPONENTS)
    if method.upper() == "POST":
        required.append("content-digest")
    missing = [c for c in required if c not in covered]
    if missing:
        return fail(Failure.MISSING_REQUIRED_HEADER, f"not covered: {' '.join(missing)}")
    fields = [c for c in covered if isinstance(c, str) and not c.startswith("@")]
    absent = [c for c in fields if c not in view]
    if absent:
        return fail(Failure.MISSING_REQUIRED_HEADER, f"covered but absent: {' '.join(absent)}")
    if not all(v.isascii() for v in [method, url, *(view[c] for c in fields)]):
        return fail(Failure.NON_ASCII, "a covered value is not ASCII")
    try:
        created, end = _validity(params)
    except ValueError as e:
        return fail(Failure.BAD_FORMAT, str(e))
    problem = window_problem(created, end, now)
    if problem:
        return fail(Failure.DATE_OUT_OF_WINDOW, problem)
    if "content-digest" in covered:
        problem = _content_digest_problem(view.get("content-digest"), body)
        if problem:
            return fail(Failure.DIGEST_MISMATCH, problem)
    pem = public_key_pem_for(key_id)
    if pem is None:
        return fail(Failure.UNKNOWN_KEY, "no public key for this keyid")
    try:
        key = load_public_key(pem)
    except KeyFormatError as e:
        return fail(Failure.BAD_KEY, str(e))
    verifier = _FediverseVerifier(
        now=now,
        signature_algorithm=ALGORITHM,
        key_resolver=MappingKeyResolver(public_keys={key_id: key}, private_keys={}),
    )
    try:
        verifier.verify(
            _Message(method.upper(), url, view),
            max_age=None,
            require_components=required,
            body=body,
        )
    except _WindowError as e:
        return fail(Failure.DATE_OUT_OF_WINDOW, str(e))
    except InvalidSignature as e:
        if isinstance(e.__cause__, CryptoInvalidSignature):
            return fail(Failure.BAD_SIGNATURE, "signature does not match the request")
        return fail(Failure.BAD_FORMAT, str(e))
    except HTTPMessageSignaturesException as e:
        return fail(Failure.BAD_FORMAT, str(e))
    return Verification.passed(key_id)


def sign_request_9421(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None,
    body: bytes | None,
    private_key_pem: str,
    key_id: str,
    now: datetime,
) -> dict[str, str]:
    """All the headers to send for an RFC 9421 signed request (Mastodon 4.7 fallback).

    Covers ``@method @target-uri``, plus ``content-digest`` (sha-256) for POST or any
    body; ``created`` is ``now``; ``alg`` is included. Given headers are sent unsigned.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    replaced = {"content-digest", "signature", "signature-input"}
    message = _Message(
        method.upper(),
        url,
        {k: v for k, v in (headers or {}).items() if k.lower() not in replaced},
    )
    if body is None and method.upper() == "POST":
        body = b""
    signer = HTTPMessageSigner(
        signature_algorithm=ALGORITHM,
        key_resolver=MappingKeyResolver(
            public_keys={}, private_keys={key_id: load_private_key(private_key_pem)}
        ),
    )
    signer.sign(
        message,
        key_id=key_id,
        created=now,
        label=LABEL,
        covered_component_ids=REQUIRED_COMPONENTS,
        body=body,
    )
    return message.headers


def content_digest(body: bytes) -> str:
    """RFC 9530 ``Content-Digest`` value for ``body`` with sha-256."""
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii") + ":"
