"""Draft-cavage signatures: the draft's vectors, Mastodon's rules, tampering, hostile input,
and httpsig 1.3.0 as an independent implementation to agree with."""

from __future__ import annotations

import base64
import hashlib
import random
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpsig
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from fedi.keys import (
    generate_private_key_pem,
    load_private_key,
    load_public_key,
    public_pem_from_private,
)
from fedi.signatures import (
    Failure,
    ParsedSignature,
    SignatureFormatError,
    Verification,
    build_signing_string,
    digest_header,
    parse_signature_header,
    sign_request,
    verify_request,
)

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
UTC = UTC

# --- draft-cavage Appendix C -------------------------------------------------------------

CAVAGE_PRIVATE = (VECTORS / "draft-cavage-test-key.key").read_text()
CAVAGE_PUBLIC = (VECTORS / "draft-cavage-test-key.pem").read_text()
C_URL = "http://example.com/foo?param=value&pet=dog"
C_TARGET = "/foo?param=value&pet=dog"
C_BODY = b'{"hello": "world"}'
C_DATE = "Sun, 05 Jan 2014 21:31:40 GMT"
C_NOW = datetime(2014, 1, 5, 21, 31, 40, tzinfo=UTC)
C_HEADERS = {
    "Host": "example.com",
    "Date": C_DATE,
    "Content-Type": "application/json",
    "Digest": "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",
    "Content-Length": "18",
}
C2_STRING = f"(request-target): post {C_TARGET}\nhost: example.com\ndate: {C_DATE}"
C1 = (
    ["date"],
    f"date: {C_DATE}",
    "SjWJWbWN7i0wzBvtPl8rbASWz5xQW6mcJmn+ibttBqtifLN7Sazz6m79cNfwwb8DMJ5cou1s7uEGKKCs+FLEEaDV5lp7"
    "q25WqS+lavg7T8hc0GppauB6hbgEKTwblDHYGEtbGmtdHgVCk9SuS13F0hZ8FD0k/5OxEPXe5WozsbM=",
)
C2 = (
    ["(request-target)", "host", "date"],
    C2_STRING,
    "qdx+H7PHHDZgy4y/Ahn9Tny9V3GP6YgBPyUXMmoxWtLbHpUnXS2mg2+SbrQDMCJypxBLSPQR2aAjn7ndmw2iicw3HMbe"
    "8VfEdKFYRqzic+efkb3nndiv/x1xSHDJWeSWkx3ButlYSuBskLu6kd9Fswtemr3lgdDEmn04swr2Os0=",
)
C3 = (
    ["(request-target)", "host", "date", "content-type", "digest", "content-length"],
    C2_STRING + "\ncontent-type: application/json"
    "\ndigest: SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=\ncontent-length: 18",
    "vSdrb+dS3EceC9bcwHSo4MlyKS59iFIrhgYkz8+oVLEEzmYZZvRs8rgOp+63LEM3v+MFHB32NfpB2bEKBIvB1q52LaEU"
    "HFv120V01IL+TAD48XaERZFukWgHoBTLMhYS2Gb51gWxpeIq8knRmPnYePbF5MOkR0Zkly4zKH7s1dE=",
)


def test_appendix_c_digest() -> None:
    assert digest_header(C_BODY) == C_HEADERS["Digest"]


@pytest.mark.parametrize("vector", [C1, C2, C3], ids=["C.1", "C.2", "C.3"])
def test_appendix_c_signing_strings_and_signatures(vector: tuple[list[str], str, str]) -> None:
    signed, string, signature = vector
    assert build_signing_string(signed, "POST", C_TARGET, C_HEADERS) == string
    out = sign_request(
        "POST",
        C_URL,
        headers={"Content-Type": "application/json", "Content-Length": "18"},
        body=C_BODY,
        private_key_pem=CAVAGE_PRIVATE,
        key_id="Test",
        now=C_NOW,
        signed_headers=signed,
    )
    assert {k: out[k] for k in C_HEADERS} == C_HEADERS
    assert out["Signature"] == (
        f'keyId="Test",algorithm="rsa-sha256",headers="{" ".join(signed)}",signature="{signature}"'
    )
    # The published value also verifies with the published public key.
    load_public_key(CAVAGE_PUBLIC).verify(
        base64.b64decode(signature), string.encode(), padding.PKCS1v15(), hashes.SHA256()
    )


def test_appendix_c1_header_without_headers_param_defaults_to_date() -> None:
    parsed = parse_signature_header(f'keyId="Test",algorithm="rsa-sha256",signature="{C1[2]}"')
    assert parsed.headers == ("date",)
    assert build_signing_string(parsed.headers, "POST", C_TARGET, C_HEADERS) == C1[1]


def _c_request(vector: tuple[list[str], str, str]) -> dict[str, str]:
    signed, _, signature = vector
    header = f'keyId="Test",algorithm="rsa-sha256",headers="{" ".join(signed)}",'
    return {**C_HEADERS, "Signature": header + f'signature="{signature}"'}


def test_appendix_c3_verifies_near_2014_01_05() -> None:
    for now in (C_NOW, C_NOW + timedelta(minutes=64), C_NOW - timedelta(minutes=59)):
        result = verify_request(
            "POST", C_TARGET, _c_request(C3), C_BODY, public_key_pem=CAVAGE_PUBLIC, now=now
        )
        assert result == Verification.passed("Test")
    late = verify_request(
        "POST", C_TARGET, _c_request(C3), C_BODY, public_key_pem=CAVAGE_PUBLIC,
        now=C_NOW + timedelta(minutes=66),
    )
    assert late.failure is Failure.DATE_OUT_OF_WINDOW


def test_appendix_c1_c2_are_valid_but_too_weak_for_mastodon_rules() -> None:
    # C.1 signs only the date and C.2 has no digest on a POST: Mastodon refuses both.
    for vector in (C1, C2):
        result = verify_request(
            "POST", C_TARGET, _c_request(vector), C_BODY, public_key_pem=CAVAGE_PUBLIC, now=C_NOW
        )
        assert result.failure is Failure.MISSING_REQUIRED_HEADER
        assert result.key_id == "Test"


# --- our own requests --------------------------------------------------------------------

PRIVATE = (VECTORS / "test-key-rsa.key").read_text()
PUBLIC = (VECTORS / "test-key-rsa.pem").read_text()
OTHER_PUBLIC = public_pem_from_private(generate_private_key_pem())
KEY_ID = "https://m.example/users/alice#main-key"
NOW = datetime(2026, 7, 7, 10, 0, tzinfo=UTC)
INBOX = "https://hub.example/users/bob/inbox?x=1"
BODY = b'{"type": "Create"}'
AP = "application/activity+json"
ACCEPT = (
    "application/activity+json, "
    'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
)


def post(now: datetime = NOW, **kwargs: object) -> dict[str, str]:
    options: dict[str, object] = {
        "headers": {"Content-Type": AP, "User-Agent": "Voisins"},
        "body": BODY,
        "private_key_pem": PRIVATE,
        "key_id": KEY_ID,
        "now": now,
    }
    options.update(kwargs)
    return sign_request("POST", str(options.pop("url", INBOX)), **options)  # type: ignore[arg-type]


def get(now: datetime = NOW, **kwargs: object) -> dict[str, str]:
    options: dict[str, object] = {
        "headers": {"Accept": ACCEPT},
        "body": None,
        "private_key_pem": PRIVATE,
        "key_id": KEY_ID,
        "now": now,
    }
    options.update(kwargs)
    url = str(options.pop("url", "https://hub.example/users/bob?page=2"))
    return sign_request("GET", url, **options)  # type: ignore[arg-type]


def verify(
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: bytes = b"",
    *,
    key: str = PUBLIC,
    now: datetime = NOW,
) -> Verification:
    return verify_request(method, target, headers, body, public_key_pem=key, now=now)


def resign(headers: Mapping[str, str], method: str, target: str, params: str) -> dict[str, str]:
    """Sign ``headers`` by hand with a chosen Signature parameter string (no ``signature``)."""
    parsed = parse_signature_header(params + ',signature="AA=="')
    string = build_signing_string(
        parsed.headers, method, target, headers, created=parsed.created, expires=parsed.expires
    )
    raw = load_private_key(PRIVATE).sign(string.encode(), padding.PKCS1v15(), hashes.SHA256())
    out = {k: v for k, v in headers.items() if k != "Signature"}
    out["Signature"] = f'{params},signature="{base64.b64encode(raw).decode()}"'
    return out


def test_post_headers_and_signed_list() -> None:
    headers = post()
    assert headers["Host"] == "hub.example"
    assert headers["Date"] == "Tue, 07 Jul 2026 10:00:00 GMT"
    assert headers["Digest"] == digest_header(BODY)
    assert headers["User-Agent"] == "Voisins"
    parsed = parse_signature_header(headers["Signature"])
    assert parsed.algorithm == "rsa-sha256"
    assert parsed.headers == ("(request-target)", "host", "date", "digest", "content-type")
    assert verify("POST", "/users/bob/inbox?x=1", headers, BODY) == Verification.passed(KEY_ID)


def test_get_headers_and_signed_list() -> None:
    headers = get()
    assert "Digest" not in headers
    parsed = parse_signature_header(headers["Signature"])
    assert parsed.headers == ("(request-target)", "host", "date", "accept")
    assert verify("GET", "/users/bob?page=2", headers).ok


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://hub.example:8443/inbox", "hub.example:8443"),
        ("https://hub.example:443/inbox", "hub.example"),
        ("http://hub.example:80/inbox", "hub.example"),
        ("http://hub.example:443/inbox", "hub.example:443"),
        ("http://[::1]:8000/inbox", "[::1]:8000"),
    ],
)
def test_host_header_keeps_non_default_port(url: str, host: str) -> None:
    assert post(url=url)["Host"] == host


def test_request_target_includes_query() -> None:
    headers = post()
    # Signed with the query, so the same request without it does not verify as such.
    assert verify("POST", "/users/bob/inbox?x=1", headers, BODY).detail == ""


def test_old_mastodon_without_query_in_request_target_is_accepted() -> None:
    headers = post(url="https://hub.example/users/bob/inbox")
    result = verify("POST", "/users/bob/inbox?x=1", headers, BODY)
    assert result.ok and "without the query" in result.detail


def test_caller_cannot_override_host_date_digest_or_signature() -> None:
    headers = post(headers={"host": "evil", "DATE": "x", "digest": "y", "signature": "z"})
    assert [k for k in headers if k.lower() in {"host", "date", "digest", "signature"}] == [
        "Host", "Date", "Digest", "Signature"
    ]


def test_signing_refuses_our_own_mistakes() -> None:
    with pytest.raises(ValueError):
        post(now=datetime(2026, 7, 7, 10, 0))  # naive
    with pytest.raises(ValueError):
        post(key_id='https://m.example/"x')
    with pytest.raises(ValueError):
        post(url="/relative")


# --- tampering ---------------------------------------------------------------------------

POST_TARGET = "/users/bob/inbox?x=1"


def _replace(headers: Mapping[str, str], **changes: str) -> dict[str, str]:
    out = dict(headers)
    for name, value in changes.items():
        out[name.replace("_", "-").title()] = value
    return out


def test_tamper_method() -> None:
    assert verify("PUT", POST_TARGET, post(), BODY).failure is Failure.BAD_SIGNATURE


def test_tamper_path() -> None:
    result = verify("POST", "/users/eve/inbox?x=1", post(), BODY)
    assert result.failure is Failure.BAD_SIGNATURE


def test_tamper_query() -> None:
    result = verify("POST", "/users/bob/inbox?x=2", post(), BODY)
    assert result.failure is Failure.BAD_SIGNATURE


def test_tamper_host() -> None:
    headers = _replace(post(), host="other.example")
    assert verify("POST", POST_TARGET, headers, BODY).failure is Failure.BAD_SIGNATURE


def test_tamper_date() -> None:
    headers = _replace(post(), date="Tue, 07 Jul 2026 10:00:01 GMT")
    assert verify("POST", POST_TARGET, headers, BODY).failure is Failure.BAD_SIGNATURE


def test_tamper_digest_header() -> None:
    headers = _replace(post(), digest=digest_header(b"{}"))
    assert verify("POST", POST_TARGET, headers, BODY).failure is Failure.DIGEST_MISMATCH


def test_tamper_body() -> None:
    result = verify("POST", POST_TARGET, post(), b'{"type": "Delete"}')
    assert result.failure is Failure.DIGEST_MISMATCH
    assert result.key_id == KEY_ID


def test_tamper_body_and_digest_together() -> None:
    body = b'{"type": "Delete"}'
    headers = _replace(post(), digest=digest_header(body))
    assert verify("POST", POST_TARGET, headers, body).failure is Failure.BAD_SIGNATURE


def test_tamper_content_type() -> None:
    headers = _replace(post(), content_type="text/html")
    assert verify("POST", POST_TARGET, headers, BODY).failure is Failure.BAD_SIGNATURE


def test_remove_signed_content_type() -> None:
    headers = {k: v for k, v in post().items() if k != "Content-Type"}
    result = verify("POST", POST_TARGET, headers, BODY)
    assert result.failure is Failure.MISSING_REQUIRED_HEADER


def test_tamper_accept() -> None:
    headers = _replace(get(), accept="text/html")
    result = verify("GET", "/users/bob?page=2", headers)
    assert result.failure is Failure.BAD_SIGNATURE


def test_tamper_signature_bytes() -> None:
    headers = post()
    parsed = parse_signature_header(headers["Signature"])
    flipped = bytes([parsed.signature[0] ^ 1]) + parsed.signature[1:]
    headers["Signature"] = headers["Signature"].replace(
        base64.b64encode(parsed.signature).decode(), base64.b64encode(flipped).decode()
    )
    assert verify("POST", POST_TARGET, headers, BODY).failure is Failure.BAD_SIGNATURE


def test_other_key() -> None:
    result = verify("POST", POST_TARGET, post(), BODY, key=OTHER_PUBLIC)
    assert result.failure is Failure.BAD_SIGNATURE
    assert result.key_id == KEY_ID  # so the caller can refetch the key once


def test_signature_of_wrong_length_fails_cleanly() -> None:
    headers = post()
    headers["Signature"] = resign(headers, "POST", POST_TARGET, _params(headers))["Signature"]
    headers["Signature"] = headers["Signature"].rsplit("signature=", 1)[0] + 'signature="AAAA"'
    assert verify("POST", POST_TARGET, headers, BODY).failure is Failure.BAD_SIGNATURE


def _params(headers: Mapping[str, str]) -> str:
    return headers["Signature"].rsplit(",signature=", 1)[0]


# --- algorithms and Mastodon's strength rules --------------------------------------------


def test_hs2019_is_verified_as_rsa_sha256() -> None:
    headers = post()
    headers["Signature"] = headers["Signature"].replace('"rsa-sha256"', '"hs2019"')
    assert verify("POST", POST_TARGET, headers, BODY).ok


def test_missing_algorithm_means_hs2019() -> None:
    headers = post()
    headers["Signature"] = headers["Signature"].replace('algorithm="rsa-sha256",', "")
    assert parse_signature_header(headers["Signature"]).algorithm == "hs2019"
    assert verify("POST", POST_TARGET, headers, BODY).ok


@pytest.mark.parametrize(
    "algorithm", ["rsa-sha1", "rsa-sha512", "hmac-sha256", "ed25519", "RSA-SHA256"]
)
def test_other_algorithms_are_rejected(algorithm: str) -> None:
    headers = post()
    headers["Signature"] = headers["Signature"].replace('"rsa-sha256"', f'"{algorithm}"')
    result = verify("POST", POST_TARGET, headers, BODY)
    assert result.failure is Failure.UNSUPPORTED_ALGORITHM


@pytest.mark.parametrize(
    ("offset_minutes", "ok"),
    [(-66, False), (-65, True), (-64, True), (0, True), (59, True), (60, True), (61, False)],
)
def test_date_window_edges(offset_minutes: int, ok: bool) -> None:
    headers = post(now=NOW + timedelta(minutes=offset_minutes))
    result = verify("POST", POST_TARGET, headers, BODY)
    assert result.ok is ok
    if not ok:
        assert result.failure is Failure.DATE_OUT_OF_WINDOW


def test_window_is_checked_to_the_second() -> None:
    late = verify("POST", POST_TARGET, post(), BODY, now=NOW + timedelta(minutes=65, seconds=1))
    assert late.failure is Failure.DATE_OUT_OF_WINDOW


def test_post_without_signed_digest_fails() -> None:
    headers = post(signed_headers=["(request-target)", "host", "date", "content-type"])
    result = verify("POST", POST_TARGET, headers, BODY)
    assert result.failure is Failure.MISSING_REQUIRED_HEADER
    assert "digest" in result.detail


def test_get_without_signed_host_fails() -> None:
    headers = get(signed_headers=["(request-target)", "date", "accept"])
    result = verify("GET", "/users/bob?page=2", headers)
    assert result.failure is Failure.MISSING_REQUIRED_HEADER
    assert "host" in result.detail


def test_post_without_signed_host_fails_too() -> None:
    headers = post(signed_headers=["(request-target)", "date", "digest", "content-type"])
    result = verify("POST", POST_TARGET, headers, BODY)
    assert result.failure is Failure.MISSING_REQUIRED_HEADER


def test_neither_date_nor_created_signed_fails() -> None:
    headers = post(signed_headers=["(request-target)", "host", "digest"])
    assert verify("POST", POST_TARGET, headers, BODY).failure is Failure.MISSING_REQUIRED_HEADER


def test_neither_request_target_nor_digest_signed_fails() -> None:
    headers = get(signed_headers=["host", "date", "accept"])
    assert verify("GET", "/users/bob?page=2", headers).failure is Failure.MISSING_REQUIRED_HEADER


def test_digest_without_request_target_is_enough_for_mastodon() -> None:
    headers = post(signed_headers=["host", "date", "digest"])
    assert verify("POST", POST_TARGET, headers, BODY).ok


@pytest.mark.parametrize(
    "digest",
    [
        "SHA-512={sha512},SHA-256={sha256}",
        "sha-256={sha256}",
        "MD5=abc=, Sha-256={sha256}",
    ],
)
def test_digest_with_several_algorithms_and_any_case(digest: str) -> None:
    sha256 = base64.b64encode(hashlib.sha256(BODY).digest()).decode()
    sha512 = base64.b64encode(hashlib.sha512(BODY).digest()).decode()
    headers = _replace(post(), digest=digest.format(sha256=sha256, sha512=sha512))
    headers = resign(headers, "POST", POST_TARGET, _params(headers))
    assert verify("POST", POST_TARGET, headers, BODY).ok


@pytest.mark.parametrize(
    ("digest", "detail"),
    [
        ("SHA-512=" + base64.b64encode(hashlib.sha512(BODY).digest()).decode(), "no SHA-256"),
        ("SHA-256=not*base64", "not valid base64"),
        ("SHA-256=" + base64.b64encode(b"short").decode(), "wrong length"),
        ("SHA-256=" + base64.b64encode(hashlib.sha256(b"x").digest()).decode(), "computed"),
        ("garbage", "no SHA-256"),
        (
            "SHA-256=" + b"abc".hex(),  # the docs' wrong hex example
            "base64",
        ),
    ],
)
def test_bad_digests(digest: str, detail: str) -> None:
    headers = resign(_replace(post(), digest=digest), "POST", POST_TARGET, _params(post()))
    result = verify("POST", POST_TARGET, headers, BODY)
    assert result.failure is Failure.DIGEST_MISMATCH
    assert detail in result.detail


def test_hs2019_created_and_expires() -> None:
    created = int((NOW - timedelta(minutes=10)).timestamp())
    params = (
        f'keyId="{KEY_ID}",algorithm="hs2019",created={created},expires={created + 7200},'
        'headers="(request-target) (created) (expires) host digest"'
    )
    headers = resign(post(), "POST", POST_TARGET, params)
    assert verify("POST", POST_TARGET, headers, BODY).ok
    # Signed expiry (2 h) plus the one-hour margin, not the default 5 minutes.
    at_edge = NOW - timedelta(minutes=10) + timedelta(hours=3)
    assert verify("POST", POST_TARGET, headers, BODY, now=at_edge).ok
    too_late = verify("POST", POST_TARGET, headers, BODY, now=at_edge + timedelta(seconds=1))
    assert too_late.failure is Failure.DATE_OUT_OF_WINDOW


def test_hs2019_expires_is_capped_at_twelve_hours() -> None:
    created = int(NOW.timestamp())
    params = (
        f'keyId="{KEY_ID}",algorithm="hs2019",created={created},expires={created + 86400},'
        'headers="(request-target) (created) (expires) host digest"'
    )
    headers = resign(post(), "POST", POST_TARGET, params)
    assert verify("POST", POST_TARGET, headers, BODY, now=NOW + timedelta(hours=13)).ok
    late = verify("POST", POST_TARGET, headers, BODY, now=NOW + timedelta(hours=13, seconds=1))
    assert late.failure is Failure.DATE_OUT_OF_WINDOW


def test_hs2019_default_headers_is_created_only() -> None:
    value = 'keyId="k",created=1,signature="AA=="'
    assert parse_signature_header(value).headers == ("(created)",)
    result = verify("POST", POST_TARGET, {"Signature": value})
    assert result.failure is Failure.MISSING_REQUIRED_HEADER


def test_unsigned_created_does_not_move_the_window() -> None:
    stale = int((NOW - timedelta(days=1)).timestamp())
    headers = post(now=NOW - timedelta(days=1))
    params = _params(headers).replace('"rsa-sha256"', '"hs2019"')
    params += f",created={int(NOW.timestamp())}"
    headers = resign(headers, "POST", POST_TARGET, params)
    assert stale < int(NOW.timestamp())
    assert verify("POST", POST_TARGET, headers, BODY).failure is Failure.DATE_OUT_OF_WINDOW


def test_created_pseudo_header_needs_hs2019_and_its_parameter() -> None:
    base = f'keyId="{KEY_ID}",headers="(request-target) (created) host digest"'
    rsa = base + ',algorithm="rsa-sha256",created=1783418400,signature="AA=="'
    missing = base + ',algorithm="hs2019",signature="AA=="'
    for value in (rsa, missing):
        headers = {**post(), "Signature": value}
        assert verify("POST", POST_TARGET, headers, BODY).failure is Failure.BAD_FORMAT


# --- keyId, encodings and hostile input --------------------------------------------------


def test_percent_encoded_key_id() -> None:
    key_id = "https://m.example/users/%C3%A9lise%20b#main-key"
    headers = post(key_id=key_id)
    assert verify("POST", POST_TARGET, headers, BODY) == Verification.passed(key_id)


def test_quoted_pairs_and_whitespace_in_the_header() -> None:
    parsed = parse_signature_header(
        ' Signature keyId = "a\\"b" ,  algorithm=hs2019,headers="Host  DATE",signature="AA==" '
    )
    assert parsed == ParsedSignature(
        key_id='a"b', algorithm="hs2019", headers=("host", "date"), signature=b"\x00"
    )


def test_headers_in_any_case_and_joined_duplicates() -> None:
    headers = {k.upper(): v for k, v in post().items()}
    headers["signature"] = headers.pop("SIGNATURE")
    assert verify("POST", POST_TARGET, headers, BODY).ok

    class Repeated(dict[str, str]):
        def items(self):  # type: ignore[override]
            return [("Accept", "a"), ("accept", "b")]

    assert build_signing_string(["accept"], "GET", "/", Repeated()) == "accept: a, b"


@pytest.mark.parametrize(
    ("where", "value"),
    [
        ("Content-Type", "application/activity+json; é"),
        ("Host", "hüb.example"),
        ("Signature", 'keyId="https://m.example/é",signature="AA=="'),
    ],
)
def test_non_ascii_values_fail_without_raising(where: str, value: str) -> None:
    headers = {**post(), where: value}
    result = verify("POST", POST_TARGET, headers, BODY)
    assert result.failure is Failure.NON_ASCII


def test_non_ascii_target_fails_without_raising() -> None:
    assert verify("POST", "/users/bob/inbox?x=é", post(), BODY).failure is Failure.NON_ASCII


def test_non_ascii_unsigned_header_is_ignored() -> None:
    assert verify("POST", POST_TARGET, {**post(), "User-Agent": "Käfer"}, BODY).ok


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "garbage",
        ",,,",
        'keyId="unterminated',
        'keyId="x\\',
        'keyId="k",signature="AA==',
        'keyId="k",signature="!!not base64!!"',
        'keyId="k",signature="AAA"',
        'keyId="k",signature=""',
        'keyId="",signature="AA=="',
        'signature="AA=="',
        'keyId="k"',
        'keyId="k" signature="AA=="',
        'keyId="k",keyId="j",signature="AA=="',
        'keyId=,signature="AA=="',
        '="k",signature="AA=="',
        'keyId="k",created=soon,signature="AA=="',
        'keyId="k",expires=-1,signature="AA=="',
        'keyId="k\r\nX: y",signature="AA=="',
        'keyId="k",signature="AA=="' + "," + "a=b," * 3000,
    ],
)
def test_malformed_signature_headers_fail_without_raising(value: str) -> None:
    with pytest.raises(SignatureFormatError):
        parse_signature_header(value)
    result = verify("POST", POST_TARGET, {**post(), "Signature": value}, BODY)
    assert result.failure is Failure.BAD_FORMAT
    assert result.detail


def test_unknown_pseudo_header_and_bad_date_fail_as_format() -> None:
    weird_params = _params(post()).replace("host", "host (foo)")
    weird = {**post(), "Signature": weird_params + ',signature="AA=="'}
    assert verify("POST", POST_TARGET, weird, BODY).failure is Failure.BAD_FORMAT
    bad_date = resign(_replace(post(), date="yesterday"), "POST", POST_TARGET, _params(post()))
    assert verify("POST", POST_TARGET, bad_date, BODY).failure is Failure.BAD_FORMAT


def test_no_signature() -> None:
    headers = {k: v for k, v in post().items() if k != "Signature"}
    result = verify("POST", POST_TARGET, headers, BODY)
    assert result == Verification.failed(Failure.NO_SIGNATURE, "no Signature header")


@pytest.mark.parametrize(
    "pem", ["", "not a key", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"]
)
def test_bad_public_key_fails_without_raising(pem: str) -> None:
    assert verify("POST", POST_TARGET, post(), BODY, key=pem).failure is Failure.BAD_KEY


def test_parsed_signature_can_be_passed_in() -> None:
    headers = post()
    parsed = parse_signature_header(headers["Signature"])
    result = verify_request(
        "POST", POST_TARGET, headers, BODY, public_key_pem=PUBLIC, now=NOW, parsed=parsed
    )
    assert result.ok


def test_random_corruption_never_raises() -> None:
    rng = random.Random(9421)
    alphabet = 'abcAZ09 =,;:"\\()\té\x00\x7f'
    original = post()
    for _ in range(1000):
        headers = dict(original)
        name = rng.choice(list(headers))
        chars = list(headers[name])
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(chars) + 1)
            if rng.random() < 0.5:
                chars.insert(i, rng.choice(alphabet))
            elif chars:
                del chars[min(i, len(chars) - 1)]
        headers[name] = "".join(chars)
        result = verify("POST", POST_TARGET, headers, BODY)
        # User-Agent is not signed; nor is keyId, and the key here is fixed.
        unchanged = headers[name] == original[name]
        assert not result.ok or unchanged or name in ("User-Agent", "Signature")


# --- httpsig 1.3.0 as an independent oracle ----------------------------------------------


def test_httpsig_verifies_our_post_and_get() -> None:
    for method, target, headers in (
        ("POST", POST_TARGET, post()),
        ("GET", "/users/bob?page=2", get()),
    ):
        verifier = httpsig.HeaderVerifier(
            headers=headers, secret=PUBLIC, method=method, path=target, sign_header="signature"
        )
        assert verifier.verify() is True
        tampered = httpsig.HeaderVerifier(
            headers=headers, secret=PUBLIC, method=method, path=target + "&y=1",
            sign_header="signature",
        )
        assert tampered.verify() is False


def test_we_verify_what_httpsig_signs() -> None:
    headers = {
        "Host": "hub.example",
        "Date": "Tue, 07 Jul 2026 10:00:00 GMT",
        "Digest": digest_header(BODY),
        "Content-Type": AP,
    }
    signer = httpsig.HeaderSigner(
        KEY_ID,
        PRIVATE,
        algorithm="rsa-sha256",
        headers=["(request-target)", "host", "date", "digest", "content-type"],
        sign_header="signature",
    )
    signed = dict(signer.sign(headers, method="POST", path=POST_TARGET))
    assert verify("POST", POST_TARGET, signed, BODY) == Verification.passed(KEY_ID)
    assert verify("POST", POST_TARGET, signed, b"{}").failure is Failure.DIGEST_MISMATCH
