"""The pure TOTP module: RFC 6238 codes, the drift allowed, code clean-up, the address
authenticator apps read."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest

from fedi import totp

# RFC 6238 appendix B, SHA-1, truncated to six digits: the secret "12345678901234567890".
RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"


@pytest.mark.parametrize(("timestamp", "code"), [
    (59, "287082"), (1111111109, "081804"), (1111111111, "050471"),
    (1234567890, "005924"), (2000000000, "279037"), (20000000000, "353130"),
])
def test_rfc_6238_vectors(timestamp: int, code: str) -> None:
    assert totp.code_at(RFC_SECRET, totp.step_of(timestamp)) == code
    assert totp.matching_step(RFC_SECRET, code, timestamp) == totp.step_of(timestamp)


@pytest.mark.parametrize(("offset", "accepted"), [
    (-60, False), (-30, True), (0, True), (30, True), (60, False),
])
def test_one_step_of_drift_either_side(offset: int, accepted: bool) -> None:
    secret = totp.new_secret()
    now = 1_800_000_015.0
    code = pyotp.TOTP(secret).at(now + offset)
    found = totp.matching_step(secret, code, now)
    assert (found is not None) is accepted
    if accepted:
        assert found == totp.step_of(now + offset)


@pytest.mark.parametrize(("typed", "clean"), [
    ("123456", "123456"), (" 123 456 ", "123456"), ("123-456", "123456"),
    ("12345", None), ("1234567", None), ("12345a", None), ("١٢٣٤٥٦", None), ("", None),
    (None, None),
])
def test_codes_are_cleaned_or_refused(typed: str | None, clean: str | None) -> None:
    assert totp.clean_code(typed) == clean


def test_secret_and_provisioning_uri() -> None:
    secret = totp.new_secret()
    assert len(secret) == 32 and set(secret) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    assert totp.grouped(secret).replace(" ", "") == secret
    uri = totp.provisioning_uri(secret, "claire@onze.test", "Onze")
    parts = urlsplit(uri)
    assert (parts.scheme, parts.netloc) == ("otpauth", "totp")
    query = parse_qs(parts.query)
    assert query["secret"] == [secret] and query["issuer"] == ["Onze"]
    assert totp.matching_step(secret, "000000" if pyotp.TOTP(secret).at(1e9) != "000000"
                              else "111111", 1e9) is None
