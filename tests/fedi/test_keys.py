"""RSA keys as PEM text: generation, the public half, cached loading, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from fedi.keys import (
    KeyFormatError,
    generate_private_key_pem,
    load_private_key,
    load_public_key,
    public_pem_from_private,
)

VECTORS = Path(__file__).resolve().parent.parent / "vectors"


@pytest.fixture(scope="module")
def private_pem() -> str:
    return generate_private_key_pem()


def test_generated_key_is_rsa_2048_pkcs8(private_pem: str) -> None:
    assert private_pem.startswith("-----BEGIN PRIVATE KEY-----\n")
    key = load_private_key(private_pem)
    assert key.key_size == 2048
    assert key.public_key().public_numbers().e == 65537


def test_generated_keys_differ() -> None:
    assert generate_private_key_pem() != generate_private_key_pem()


def test_public_pem_matches_private(private_pem: str) -> None:
    public_pem = public_pem_from_private(private_pem)
    assert public_pem.startswith("-----BEGIN PUBLIC KEY-----\n")
    signature = load_private_key(private_pem).sign(b"x", padding.PKCS1v15(), hashes.SHA256())
    load_public_key(public_pem).verify(signature, b"x", padding.PKCS1v15(), hashes.SHA256())


def test_loading_is_cached_by_pem_text(private_pem: str) -> None:
    public_pem = public_pem_from_private(private_pem)
    assert load_public_key(public_pem) is load_public_key(public_pem)
    assert load_private_key(private_pem) is load_private_key(private_pem)
    hits = load_public_key.cache_info().hits
    load_public_key(public_pem)
    assert load_public_key.cache_info().hits == hits + 1


def test_pkcs1_pems_load() -> None:
    # RFC 9421's test-key-rsa is "RSA PUBLIC KEY" / "RSA PRIVATE KEY" (PKCS#1).
    public = load_public_key((VECTORS / "test-key-rsa.pem").read_text())
    private = load_private_key((VECTORS / "test-key-rsa.key").read_text())
    assert public.public_numbers() == private.public_key().public_numbers()


@pytest.mark.parametrize(
    "pem",
    [
        "",
        "not a key",
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        "-----BEGIN PUBLIC KEY-----\nAAAé\n-----END PUBLIC KEY-----\n",
        "A" * 20_000,
    ],
)
def test_bad_public_pem(pem: str) -> None:
    with pytest.raises(KeyFormatError):
        load_public_key(pem)


def test_non_rsa_keys_are_refused() -> None:
    with pytest.raises(KeyFormatError, match="RSA"):
        load_public_key((VECTORS / "test-key-ed25519.pem").read_text())
    with pytest.raises(KeyFormatError, match="RSA"):
        load_private_key((VECTORS / "test-key-ed25519.key").read_text())


def test_bad_private_pem() -> None:
    with pytest.raises(KeyFormatError):
        load_private_key("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    with pytest.raises(KeyFormatError):
        public_pem_from_private((VECTORS / "test-key-rsa.pem").read_text())  # a public key


def test_key_format_error_is_a_value_error() -> None:
    assert issubclass(KeyFormatError, ValueError)
