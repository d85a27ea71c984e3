"""RSA key pairs for actors, as PEM text, with cached parsing.

ActivityPub actors publish ``publicKey.publicKeyPem`` and Mastodon only verifies RSA
PKCS#1 v1.5 SHA-256 (protocol.md §3.1–3.2), so every key here is RSA. Parsing a PEM
costs tens of milliseconds, and the same few keys sign most requests, so the loaders
keep a bounded LRU cache keyed by the PEM text itself: a rotated key has a new text and
therefore a new entry, and nothing has to be invalidated.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

#: Size of newly generated keys; what Mastodon generates too.
KEY_BITS = 2048
#: Parsed keys kept in memory per loader.
CACHE_SIZE = 1024
#: PEM text longer than this is refused before parsing (an RSA-8192 PEM is ~1.5 kB).
MAX_PEM_CHARS = 16_384


class KeyFormatError(ValueError):
    """The PEM text is not a usable RSA key."""


def generate_private_key_pem() -> str:
    """A fresh RSA-2048 private key as unencrypted PKCS#8 PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    return key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    ).decode("ascii")


def public_pem_from_private(private_key_pem: str) -> str:
    """The SubjectPublicKeyInfo PEM (``BEGIN PUBLIC KEY``) actors publish as ``publicKeyPem``."""
    public = load_private_key(private_key_pem).public_key()
    return public_pem(public)


def public_pem(public_key: rsa.RSAPublicKey) -> str:
    """Serialise a public key as SubjectPublicKeyInfo PEM."""
    return public_key.public_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PublicFormat.SubjectPublicKeyInfo,
    ).decode("ascii")


def _pem_bytes(pem: str) -> bytes:
    if not isinstance(pem, str):
        raise KeyFormatError("PEM must be text")
    if len(pem) > MAX_PEM_CHARS:
        raise KeyFormatError("PEM text is too long")
    try:
        return pem.strip().encode("ascii")
    except UnicodeEncodeError as e:
        raise KeyFormatError("PEM text is not ASCII") from e


@lru_cache(maxsize=CACHE_SIZE)
def load_private_key(pem: str) -> rsa.RSAPrivateKey:
    """Parse an unencrypted RSA private key (PKCS#8 or PKCS#1 PEM); cached by text.

    Raises :class:`KeyFormatError` for anything else. Failures are not cached.
    """
    data = _pem_bytes(pem)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as e:
        raise KeyFormatError(f"not a PEM private key: {e}") from e
    if not isinstance(key, rsa.RSAPrivateKey):
        raise KeyFormatError(f"expected an RSA private key, got {type(key).__name__}")
    return key


@lru_cache(maxsize=CACHE_SIZE)
def load_public_key(pem: str) -> rsa.RSAPublicKey:
    """Parse an RSA public key (SubjectPublicKeyInfo or PKCS#1 PEM); cached by text.

    Both forms occur: actors publish ``BEGIN PUBLIC KEY``, while RFC 9421's
    ``test-key-rsa`` is ``BEGIN RSA PUBLIC KEY``. Non-RSA keys (Ed25519, EC) raise
    :class:`KeyFormatError`: nothing we verify accepts them yet. Failures are not cached.
    """
    data = _pem_bytes(pem)
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm) as e:
        raise KeyFormatError(f"not a PEM public key: {e}") from e
    if not isinstance(key, rsa.RSAPublicKey):
        raise KeyFormatError(f"expected an RSA public key, got {type(key).__name__}")
    return key
