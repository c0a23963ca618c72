"""Passwords (argon2id), signed session cookies, bearer tokens and CSRF tokens.

Sessions are stateless signed cookies; they carry a fingerprint of the password hash, so changing a
password (or an admin deactivating the user) ends every session of that user at once.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer

SESSION_COOKIE = "wbsupply_session"
CSRF_COOKIE = "wbsupply_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SESSION_MAX_AGE = 14 * 24 * 3600
TOKEN_PREFIX = "wbs_"

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verifying against this keeps unknown e-mails as slow as wrong passwords (no account probing by timing).
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def new_password() -> str:
    return secrets.token_urlsafe(12)


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_api_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(24)


def same_token(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and secrets.compare_digest(str(a), str(b))


class SessionSigner:
    def __init__(self, secret_key: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt="wbsupply.session")
        # Verifying a signature derives a key and runs HMACs: remember cookies already verified.
        self._verified = lru_cache(maxsize=10_000)(self._verify)

    @staticmethod
    def fingerprint(password_hash: str) -> str:
        return sha256(password_hash)[:16]

    def dumps(self, user_id: int, password_hash: str) -> str:
        return self._serializer.dumps({"u": user_id, "p": self.fingerprint(password_hash)})

    def loads(self, cookie: str) -> tuple[int, str] | None:
        verified = self._verified(cookie)
        if verified is None or time.time() - verified[2] > SESSION_MAX_AGE:
            return None
        return verified[0], verified[1]

    def _verify(self, cookie: str) -> tuple[int, str, float] | None:
        try:
            data, signed_at = self._serializer.loads(cookie, return_timestamp=True)
        except BadSignature:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("u"), int) or not isinstance(data.get("p"), str):
            return None
        return data["u"], data["p"], signed_at.timestamp()
