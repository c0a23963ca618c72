"""The booking captcha: a hashcash-style proof of work.

The cabinet hands out a random ``challenge`` and a ``difficulty``; the page searches a ``nonce`` such that
``sha256(challenge + str(nonce))`` starts with ``difficulty`` zero bits and sends ``"<challenge>:<nonce>"``
in the captcha header. The page's JS (``cabinet.js``: ``solvePow``) implements the same algorithm with
``crypto.subtle.digest``; this module is the server-side verifier and a Python solver for tests and tools.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass, field


def leading_zero_bits(digest: bytes) -> int:
    bits = 0
    for byte in digest:
        if byte == 0:
            bits += 8
            continue
        return bits + 8 - byte.bit_length()
    return bits


def digest(challenge: str, nonce: int | str) -> bytes:
    return hashlib.sha256(f"{challenge}{nonce}".encode()).digest()


def check(challenge: str, nonce: int | str, difficulty: int) -> bool:
    return leading_zero_bits(digest(challenge, nonce)) >= difficulty


def solve(challenge: str, difficulty: int, max_tries: int = 1 << 26) -> int:
    """The smallest nonce that satisfies ``difficulty`` (same search order as the page's JS)."""
    for nonce in range(max_tries):
        if check(challenge, nonce, difficulty):
            return nonce
    raise RuntimeError(f"no nonce below {max_tries} for difficulty {difficulty}")


def make_token(challenge: str, nonce: int) -> str:
    return f"{challenge}:{nonce}"


def parse_token(token: str) -> tuple[str, str] | None:
    challenge, sep, nonce = token.strip().rpartition(":")
    if not sep or not challenge or not nonce.isdigit() or len(nonce) > 12:
        return None
    return challenge, nonce


@dataclass
class ChallengeBook:
    """Challenges issued by one cabinet: each is single-use and short-lived, so a solved token cannot be
    replayed for a second booking."""

    ttl_seconds: float = 300.0
    _issued: dict[str, tuple[float, int]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def issue(self, difficulty: int) -> str:
        challenge = secrets.token_hex(16)
        now = time.monotonic()
        with self._lock:
            # Drop stale ones here rather than in a background task: the book stays small either way.
            for stale in [c for c, (t, _) in self._issued.items() if now - t > self.ttl_seconds]:
                del self._issued[stale]
            self._issued[challenge] = (now, difficulty)
        return challenge

    def redeem(self, token: str | None) -> bool:
        """Whether ``token`` solves a live challenge of this book; the challenge is spent either way."""
        parsed = parse_token(token or "")
        if parsed is None:
            return False
        challenge, nonce = parsed
        with self._lock:
            issued = self._issued.pop(challenge, None)
        if issued is None:
            return False
        issued_at, difficulty = issued
        if time.monotonic() - issued_at > self.ttl_seconds:
            return False
        return check(challenge, nonce, difficulty)
