"""Draft-cavage-12 HTTP signatures, signed and verified the way Mastodon does.

Pure protocol code: no database, no Starlette, no network. Time, keys and headers come
in as arguments, so tests pass a frozen clock and fixed keys.

The rules follow Mastodon rather than the draft where they differ (protocol.md §3.1–3.2):

* draft-cavage-12: https://datatracker.ietf.org/doc/html/draft-cavage-http-signatures-12
* Mastodon signing: https://github.com/mastodon/mastodon/blob/main/app/lib/request.rb
* Mastodon verifying: https://github.com/mastodon/mastodon/blob/main/app/lib/signed_request.rb
* SocialCG report: https://swicg.github.io/activitypub-http-signature/

Every problem with an incoming request becomes a failed :class:`Verification`; only our
own mistakes when *signing* (a naive clock, a bad key, a bad URL) raise.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import formatdate, parsedate_to_datetime
from urllib.parse import SplitResult, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from fedi.keys import KeyFormatError, load_private_key, load_public_key

#: Mastodon's CLOCK_SKEW_MARGIN: tolerance on both sides of the window.
CLOCK_SKEW = timedelta(hours=1)
#: Lifetime of a signature that has no signed ``expires``.
DEFAULT_LIFETIME = timedelta(minutes=5)
#: Mastodon's EXPIRATION_WINDOW_LIMIT: cap on an explicit ``expires``.
MAX_LIFETIME = timedelta(hours=12)
#: Longest Signature header we parse; real ones are well under 1 kB.
MAX_SIGNATURE_HEADER_CHARS = 8192

ACCEPTED_ALGORITHMS = frozenset({"rsa-sha256", "hs2019"})

_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_PARAM = re.compile(
    rf'[ \t]*({_TOKEN})[ \t]*=[ \t]*(?:"((?:[^"\\]|\\.)*)"|({_TOKEN}))[ \t]*'
)
_OPEN_QUOTE = re.compile(rf'[ \t]*{_TOKEN}[ \t]*=[ \t]*"')
_QUOTED_PAIR = re.compile(r"\\(.)")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


class SignatureFormatError(ValueError):
    """The Signature header (or the request it describes) cannot be read."""


class Failure(enum.Enum):
    """Why a request did not verify. Callers map these to 401 (or 400 for BAD_FORMAT)."""

    NO_SIGNATURE = "no_signature"
    BAD_FORMAT = "bad_format"
    UNSUPPORTED_ALGORITHM = "unsupported_algorithm"
    MISSING_REQUIRED_HEADER = "missing_required_header"
    DIGEST_MISMATCH = "digest_mismatch"
    DATE_OUT_OF_WINDOW = "date_out_of_window"
    BAD_SIGNATURE = "bad_signature"
    NON_ASCII = "non_ascii"
    BAD_KEY = "bad_key"
    UNKNOWN_KEY = "unknown_key"


@dataclass(frozen=True)
class Verification:
    """Outcome of verifying one request. ``key_id`` is set whenever it could be read,
    so a caller can refetch the key after BAD_SIGNATURE (key rotation)."""

    ok: bool
    key_id: str | None
    failure: Failure | None = None
    detail: str = ""

    @classmethod
    def passed(cls, key_id: str, detail: str = "") -> Verification:
        return cls(ok=True, key_id=key_id, failure=None, detail=detail)

    @classmethod
    def failed(cls, failure: Failure, detail: str, key_id: str | None = None) -> Verification:
        return cls(ok=False, key_id=key_id, failure=failure, detail=detail)


@dataclass(frozen=True)
class ParsedSignature:
    """The parameters of a Signature header. ``headers`` are lower-cased, in signed order;
    ``created``/``expires`` are Unix seconds (sub-second ``expires`` is not accepted)."""

    key_id: str
    algorithm: str
    headers: tuple[str, ...]
    signature: bytes
    created: int | None = None
    expires: int | None = None


def digest_header(body: bytes) -> str:
    """The ``Digest`` value for ``body``: ``SHA-256=<base64>`` (RFC 3230 syntax, as Mastodon)."""
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


# --- parsing -----------------------------------------------------------------------------


def _parse_params(value: str) -> dict[str, str]:
    """``name=token`` or ``name="quoted-string"`` pairs separated by commas (draft §4,
    RFC 7230 §3.2.6), with quoted-pairs unescaped."""
    s = value.strip(" \t")
    # Old node-http-signature sent a "Signature " prefix; Mastodon strips it too.
    # https://github.com/mastodon/mastodon/blob/main/app/lib/signature_parser.rb
    s = s.removeprefix("Signature ")
    params: dict[str, str] = {}
    pos = 0
    while True:
        match = _PARAM.match(s, pos)
        if match is None:
            if _OPEN_QUOTE.match(s, pos):
                raise SignatureFormatError(f"unterminated quoted string at offset {pos}")
            raise SignatureFormatError(f"cannot read a parameter at offset {pos}")
        name, quoted, token = match.groups()
        if name in params:
            # Mastodon keeps the last; two values for one name is ambiguous, so refuse.
            raise SignatureFormatError(f"duplicate parameter {name!r}")
        params[name] = token if quoted is None else _QUOTED_PAIR.sub(r"\1", quoted)
        pos = match.end()
        if pos == len(s):
            return params
        if s[pos] != ",":
            raise SignatureFormatError(f"expected ',' at offset {pos}")
        pos += 1


def _timestamp(params: Mapping[str, str], name: str) -> int | None:
    raw = params.get(name)
    if raw is None:
        return None
    if not _TIMESTAMP.fullmatch(raw):
        raise SignatureFormatError(f"{name} is not a Unix timestamp in seconds")
    return int(raw)


def parse_signature_header(value: str) -> ParsedSignature:
    """Parse a draft-cavage ``Signature`` header; raise :class:`SignatureFormatError`.

    A missing ``algorithm`` means hs2019, and a missing ``headers`` means ``(created)``
    for hs2019 and ``date`` otherwise, as Mastodon does (protocol.md §3.2).
    """
    if len(value) > MAX_SIGNATURE_HEADER_CHARS:
        raise SignatureFormatError("Signature header is too long")
    if _CONTROL.search(value):
        raise SignatureFormatError("Signature header contains control characters")
    params = _parse_params(value)
    key_id = params.get("keyId", "")
    if not key_id:
        raise SignatureFormatError("keyId is missing")
    if "signature" not in params:
        raise SignatureFormatError("signature is missing")
    algorithm = params.get("algorithm", "hs2019")
    if "headers" in params:
        headers = tuple(h.lower() for h in params["headers"].split())
    else:
        headers = ("(created)",) if algorithm == "hs2019" else ("date",)
    try:
        signature = base64.b64decode(params["signature"], validate=True)
    except binascii.Error as e:
        raise SignatureFormatError(f"signature is not valid base64: {e}") from e
    if not signature:
        raise SignatureFormatError("signature is empty")
    created, expires = _timestamp(params, "created"), _timestamp(params, "expires")
    return ParsedSignature(key_id, algorithm, headers, signature, created, expires)


# --- the signing string ------------------------------------------------------------------


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A lower-cased copy; names repeated in ``items()`` are joined with ``", "`` (draft §2.3)."""
    out: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


def build_signing_string(
    signed: Sequence[str],
    method: str,
    target: str,
    headers: Mapping[str, str],
    *,
    created: int | None = None,
    expires: int | None = None,
) -> str:
    """The string that is signed: one ``name: value`` line per signed header, in the
    order given (Mastodon has moved ``(request-target)`` around between versions).

    ``target`` is the raw path plus ``?query``. Raises :class:`SignatureFormatError`
    when a header or pseudo-header value is not available.
    """
    view = lower_headers(headers)
    lines = []
    for name in signed:
        name = name.lower()
        if name == "(request-target)":
            value = f"{method.lower()} {target}"
        elif name in ("(created)", "(expires)"):
            stamp = created if name == "(created)" else expires
            if stamp is None:
                raise SignatureFormatError(f"{name} is signed but its parameter is missing")
            value = str(stamp)
        elif name.startswith("("):
            raise SignatureFormatError(f"unknown pseudo-header {name}")
        elif name in view:
            value = view[name]
        else:
            raise SignatureFormatError(f"signed header {name!r} is absent")
        lines.append(f"{name}: {value}")
    return "\n".join(lines)


# --- signing -----------------------------------------------------------------------------


def _host_header(parts: SplitResult) -> str:
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = parts.port  # raises ValueError for a malformed port
    if port is not None and (parts.scheme, port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{port}"
    return host


def request_target(url: str) -> str:
    """Raw path and query of ``url`` as they appear in ``(request-target)``."""
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def sign_request(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None,
    body: bytes | None,
    private_key_pem: str,
    key_id: str,
    now: datetime,
    signed_headers: Sequence[str] | None = None,
) -> dict[str, str]:
    """All the headers to send for a request signed with ``rsa-sha256``.

    Adds ``Host`` (with a non-default port), ``Date`` and, for POST or any body,
    ``Digest``. Signs ``(request-target) host date`` plus ``digest``, ``content-type``
    and ``accept`` when present, i.e. Mastodon's lists (protocol.md §3.1). We send
    ``rsa-sha256`` rather than hs2019 because old verifiers (httpsig) refuse hs2019.
    ``signed_headers`` overrides the list (used to reproduce the draft's vectors).
    The query is part of ``(request-target)``. Other given headers are sent unsigned.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if not key_id or not key_id.isascii() or not key_id.isprintable() or set(key_id) & {'"', "\\"}:
        raise ValueError(f"key_id cannot be sent in a quoted-string: {key_id!r}")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an absolute http(s) URL: {url!r}")
    ours = {"Host": _host_header(parts), "Date": formatdate(now.timestamp(), usegmt=True)}
    if body is not None or method.upper() == "POST":
        ours["Digest"] = digest_header(body or b"")
    replaced = {name.lower() for name in ours} | {"signature"}
    out = {k: v for k, v in (headers or {}).items() if k.lower() not in replaced}
    out.update(ours)
    view = lower_headers(out)
    if signed_headers is None:
        signed = ["(request-target)", "host", "date"]
        signed += [h for h in ("digest", "content-type", "accept") if h in view]
    else:
        signed = [h.lower() for h in signed_headers]
    if any(not view.get(h, "").isascii() or _CONTROL.search(view.get(h, "")) for h in signed):
        raise ValueError("signed header values must be printable ASCII")
    string = build_signing_string(signed, method, request_target(url), view)
    key = load_private_key(private_key_pem)
    raw = key.sign(string.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    signature = base64.b64encode(raw).decode("ascii")
    out["Signature"] = (
        f'keyId="{key_id}",algorithm="rsa-sha256",'
        f'headers="{" ".join(signed)}",signature="{signature}"'
    )
    return out


# --- verifying ---------------------------------------------------------------------------


def _strength_problem(
    method: str, parsed: ParsedSignature, view: Mapping[str, str]
) -> str | None:
    """Mastodon's verify_signature_strength!, plus ``host`` always (our stricter rule:
    it binds a signature to this hub, so it cannot be replayed to another one), and
    every signed header present."""
    signed = set(parsed.headers)
    if not signed & {"date", "(created)"}:
        return "neither date nor (created) is signed"
    if not signed & {"(request-target)", "digest"}:
        return "neither (request-target) nor digest is signed"
    if "host" not in signed:
        return "host is not signed"
    if method.upper() == "POST" and "digest" not in signed:
        return "POST without a signed digest"
    absent = [n for n in parsed.headers if not n.startswith("(") and n not in view]
    return f"signed header {absent[0]!r} is absent" if absent else None


def _digest_problem(value: str, body: bytes) -> str | None:
    """Check ``Digest`` against the body. Several comma-separated algorithms may be
    listed with any case; ``sha-256`` must be one of them (as Mastodon requires)."""
    given = None
    for part in value.split(","):
        name, sep, b64 = part.strip().partition("=")
        if sep and name.strip().lower() == "sha-256":
            given = b64.strip()
            break
    if given is None:
        return "Digest has no SHA-256 value"
    try:
        raw = base64.b64decode(given, validate=True)
    except binascii.Error:
        return "SHA-256 Digest is not valid base64"
    if len(raw) != hashlib.sha256().digest_size:
        return "SHA-256 Digest has the wrong length"
    computed = hashlib.sha256(body).digest()
    if not hmac.compare_digest(raw, computed):
        return f"computed {base64.b64encode(computed).decode()}, given {given}"
    return None


def _created_and_expiry(parsed: ParsedSignature, view: Mapping[str, str]) -> tuple[float, float]:
    """Seconds of creation and expiry. Only *signed* ``(created)``/``(expires)`` count:
    Mastodon also trusts unsigned ones, which lets a replayer pick the window."""
    if "(created)" in parsed.headers and parsed.created is not None:
        created = float(parsed.created)
    else:
        try:
            date = parsedate_to_datetime(view["date"])
        except (KeyError, TypeError, ValueError, IndexError, OverflowError) as e:
            raise SignatureFormatError("Date header is not an HTTP date") from e
        if date.tzinfo is None:  # "-0000" means UTC with unknown local zone (RFC 5322)
            date = date.replace(tzinfo=UTC)
        created = date.timestamp()
    if "(expires)" in parsed.headers and parsed.expires is not None:
        expires = float(parsed.expires)
    else:
        expires = created + DEFAULT_LIFETIME.total_seconds()
    return created, min(expires, created + MAX_LIFETIME.total_seconds())


def window_problem(created: float, expires: float, now: datetime) -> str | None:
    """Mastodon's matches_time_window?: created ≤ now + 1 h and now ≤ expires + 1 h.
    Without ``expires`` that accepts now − 65 min ≤ created ≤ now + 60 min."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    skew = CLOCK_SKEW.total_seconds()
    ts = now.timestamp()
    if created > ts + skew:
        return f"signed {created - ts:.0f} s in the future"
    if ts > expires + skew:
        return f"expired {ts - expires:.0f} s ago"
    return None


def verify_request(
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    public_key_pem: str,
    now: datetime,
    parsed: ParsedSignature | None = None,
) -> Verification:
    """Verify a draft-cavage signed request with Mastodon's rules (protocol.md §3.2).

    ``target`` is the raw path with ``?query``; ``headers`` any mapping (names in any
    case, repeated values joined with ``", "``), whose ``host`` should be this hub's
    public host. Pass ``parsed`` when the Signature header was parsed already to find
    the key. hs2019 is verified as RSA PKCS#1 v1.5 SHA-256. ``now`` must be aware.
    Never raises on bad input.
    """
    view = lower_headers(headers)
    if parsed is None:
        raw = view.get("signature")
        if raw is None:
            return Verification.failed(Failure.NO_SIGNATURE, "no Signature header")
        if not raw.isascii():
            return Verification.failed(Failure.NON_ASCII, "Signature header is not ASCII")
        try:
            parsed = parse_signature_header(raw)
        except SignatureFormatError as e:
            return Verification.failed(Failure.BAD_FORMAT, str(e))
    key_id = parsed.key_id

    def fail(failure: Failure, detail: str) -> Verification:
        return Verification.failed(failure, detail, key_id=key_id)

    if parsed.algorithm not in ACCEPTED_ALGORITHMS:
        detail = f"{parsed.algorithm!r} (only rsa-sha256 and hs2019 are supported)"
        return fail(Failure.UNSUPPORTED_ALGORITHM, detail)
    problem = _strength_problem(method, parsed, view)
    if problem:
        return fail(Failure.MISSING_REQUIRED_HEADER, problem)
    values = [method, target, *parsed.headers] + [view[n] for n in parsed.headers if n in view]
    if not all(v.isascii() for v in values):
        return fail(Failure.NON_ASCII, "a signed value is not ASCII")
    if any(_CONTROL.search(v) for v in values):
        return fail(Failure.BAD_FORMAT, "a signed value contains control characters")
    if parsed.algorithm != "hs2019" and {"(created)", "(expires)"} & set(parsed.headers):
        return fail(Failure.BAD_FORMAT, "(created) and (expires) are only valid with hs2019")
    targets = [target]
    if "?" in target and "(request-target)" in parsed.headers:
        # "current versions of Mastodon incorrectly omit the query string" (signed_request.rb)
        targets.append(target.split("?", 1)[0])
    try:
        strings = [
            build_signing_string(
                parsed.headers, method, t, view, created=parsed.created, expires=parsed.expires
            )
            for t in targets
        ]
        created, expires = _created_and_expiry(parsed, view)
    except SignatureFormatError as e:
        return fail(Failure.BAD_FORMAT, str(e))
    problem = window_problem(created, expires, now)
    if problem:
        return fail(Failure.DATE_OUT_OF_WINDOW, problem)
    if "digest" in parsed.headers:
        problem = _digest_problem(view["digest"], body)
        if problem:
            return fail(Failure.DIGEST_MISMATCH, problem)
    try:
        key = load_public_key(public_key_pem)
    except KeyFormatError as e:
        return fail(Failure.BAD_KEY, str(e))
    for candidate, string in zip(targets, strings):
        try:
            key.verify(parsed.signature, string.encode(), padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            continue
        note = "" if candidate == target else "verified without the query string"
        return Verification.passed(key_id, note)
    return fail(Failure.BAD_SIGNATURE, "signature does not match the request")
