"""Token pool of the public coefficients API (pure): staggered polls, each token inside its bucket.

With N tokens the monitor polls every ``interval / N`` seconds and every token is used once per
``interval``, so a 12 s interval with one token is 5 requests a minute, under WB's 6. An interval shorter
than the bucket's refill (10 s) would drain it, so each token's own interval is never below that.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from wbsupply.wb.ratelimit import COEFFICIENTS_LIMIT, TokenBucket

MAX_FORGIVEN_LATENESS_S = 2.0  # a poll this late still counts as on schedule (see mark_used)


@dataclass
class PooledToken:
    name: str  # what logs and alerts show: never the secret itself
    secret: str = field(repr=False)
    bucket: TokenBucket
    last_used_at: float | None = None


@dataclass
class TokenPool:
    interval_s: float
    tokens: list[PooledToken] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    floor_s: float = COEFFICIENTS_LIMIT[1]  # no token is used more often than this (its bucket's refill)
    _cursor: int = 0
    _last_poll_at: float | None = None

    @classmethod
    def of(cls, secrets: list[str], interval_s: float) -> TokenPool:
        burst, refill = COEFFICIENTS_LIMIT
        return cls(
            interval_s=interval_s,
            tokens=[PooledToken(f"token#{i + 1}", s, TokenBucket(burst, refill)) for i, s in enumerate(secrets)],
        )

    @property
    def per_token_interval_s(self) -> float:
        return max(self.interval_s, self.floor_s)

    @property
    def effective_interval_s(self) -> float:
        return self.per_token_interval_s / max(1, len(self.tokens))

    def next_poll(self, now: float) -> tuple[PooledToken, float]:
        """The token for the next poll and the moment to send it (never earlier than its bucket allows)."""
        if not self.tokens:
            raise LookupError("no usable WB API token left")
        token = self.tokens[self._cursor % len(self.tokens)]
        at = now if self._last_poll_at is None else max(now, self._last_poll_at + self.effective_interval_s)
        if token.last_used_at is not None:
            at = max(at, token.last_used_at + self.per_token_interval_s)
        at = max(at, now + token.bucket.wait_time(now))
        return token, at

    def mark_used(self, token: PooledToken, at: float, now: float | None = None) -> None:
        """The poll planned for ``at`` went out at ``now`` (default: on time).

        A little lateness (a busy event loop) is forgiven, so polls stay on their grid instead of drifting
        later every cycle; after a long stall the grid restarts from ``now`` rather than catching up in a burst.
        """
        if now is not None and now - at > min(self.effective_interval_s / 2, MAX_FORGIVEN_LATENESS_S):
            at = now
        token.bucket.take(at)
        token.last_used_at = at
        self._last_poll_at = at
        self._cursor += 1

    def drop(self, token: PooledToken) -> None:
        """WB said 401: the token is no good; keep polling with the rest."""
        if token in self.tokens:
            self.tokens.remove(token)
            self.dropped.append(token.name)
