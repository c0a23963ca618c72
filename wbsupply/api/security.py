"""Passwords (argon2id), signed session cookies, bearer tokens and CSRF tokens.

Sessions are signed cookies that carry the user's session version and a fingerprint of the password hash:
signing out or changing the password bumps the version on the server, which ends every cookie of that user
at once (an admin deactivating the user does too).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
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

# argon2id, 64 MiB and 3 passes as the library recommends, but one lane: a hash takes one core, not all of
# them (older hashes with four lanes are rehashed at the next sign-in).
_hasher = PasswordHasher(parallelism=1)
# One hash at a time per process: a flood of sign-ins queues here instead of taking every core from the
# cabinet, the bots and the monitor (each hash is a quarter of a second of CPU and 64 MiB).
_HASHING = threading.BoundedSemaphore(1)
# Verifying against this keeps unknown e-mails as slow as wrong passwords (no account probing by timing).
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    with _HASHING:
        return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        with _HASHING:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def new_password() -> str:
    return secrets.token_urlsafe(12)


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def keyed_hash(secret: str, value: str) -> str:
    """HMAC-SHA256: for values (tried passwords) a plain hash would leave crackable in the database."""
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()


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

    def dumps(self, user_id: int, password_hash: str, version: int) -> str:
        return self._serializer.dumps({"u": user_id, "p": self.fingerprint(password_hash), "v": version})

    def loads(self, cookie: str) -> tuple[int, str, int] | None:
        """User id, password fingerprint and session version of a valid, unexpired cookie."""
        verified = self._verified(cookie)
        if verified is None or time.time() - verified[3] > SESSION_MAX_AGE:
            return None
        return verified[0], verified[1], verified[2]

    def _verify(self, cookie: str) -> tuple[int, str, int, float] | None:
        try:
            data, signed_at = self._serializer.loads(cookie, return_timestamp=True)
        except BadSignature:
            return None
        if not isinstance(data, dict):
            return None
        user_id, fingerprint, version = data.get("u"), data.get("p"), data.get("v")
        if not isinstance(user_id, int) or not isinstance(fingerprint, str) or not isinstance(version, int):
            return None
        return user_id, fingerprint, version, signed_at.timestamp()
