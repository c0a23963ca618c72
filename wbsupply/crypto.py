"""Encryption of secrets at rest (WB browser sessions, seller API tokens) with a key derived from the
service secret.

AES-256-GCM with a per-purpose key from HKDF-SHA256 over the settings secret (``process.ensure_secret_key``):
a session blob cannot be decrypted as an API token or vice versa (different ``purpose`` → different key
and associated data). Blob layout: version byte, 12-byte nonce, ciphertext with tag.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = b"\x01"
NONCE_BYTES = 12
_SALT = b"wbsupply/crypto/v1"

PURPOSE_SESSION = "wb-session"
PURPOSE_API_TOKEN = "wb-api-token"


class DecryptionError(ValueError):
    """Wrong secret, another purpose, or a damaged blob (never says which: no oracle)."""


class SecretBox:
    def __init__(self, secret: str | bytes, purpose: str) -> None:
        if not secret:
            raise ValueError("an empty secret encrypts nothing")
        material = secret.encode() if isinstance(secret, str) else secret
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=purpose.encode()).derive(material)
        self._aead = AESGCM(key)
        self._aad = purpose.encode()

    def encrypt(self, plaintext: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return VERSION + nonce + self._aead.encrypt(nonce, plaintext, self._aad)

    def decrypt(self, blob: bytes) -> bytes:
        if len(blob) < 1 + NONCE_BYTES + 16 or blob[:1] != VERSION:
            raise DecryptionError("not an encrypted blob of this service")
        nonce, sealed = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, sealed, self._aad)
        except InvalidTag:
            raise DecryptionError("cannot decrypt: wrong secret or damaged data") from None


def session_box(secret: str) -> SecretBox:
    return SecretBox(secret, PURPOSE_SESSION)


def api_token_box(secret: str) -> SecretBox:
    return SecretBox(secret, PURPOSE_API_TOKEN)
