"""WB's per-account token bucket (pure): the client keeps itself inside it so WB never answers 429."""

from __future__ import annotations

from dataclasses import dataclass, field

# Coefficients / options / warehouses: 6 per minute, one every 10 s, burst 6 (10-rates spec table).
COEFFICIENTS_LIMIT = (6, 10.0)
# Supplies methods: 30 per minute, one every 2 s, burst 10 (07-orders-fbw spec table).
SUPPLIES_LIMIT = (10, 2.0)


@dataclass
class TokenBucket:
    burst: int
    interval_s: float
    tokens: float = field(default=-1.0)
    updated_at: float = 0.0
    blocked_until: float = 0.0  # set from X-Ratelimit-Retry when WB says 429 anyway

    def __post_init__(self) -> None:
        if self.tokens < 0:
            self.tokens = float(self.burst)

    def _refill(self, now: float) -> None:
        if now > self.updated_at:
            self.tokens = min(float(self.burst), self.tokens + (now - self.updated_at) / self.interval_s)
            self.updated_at = now

    def wait_time(self, now: float) -> float:
        """Seconds until one request may be sent (0: now)."""
        self._refill(now)
        if now < self.blocked_until:
            return self.blocked_until - now
        if self.tokens >= 1.0:
            return 0.0
        return (1.0 - self.tokens) * self.interval_s

    def take(self, now: float) -> bool:
        if self.wait_time(now) > 0:
            return False
        self.tokens -= 1.0
        return True

    def penalise(self, now: float, retry_after_s: float) -> None:
        """WB answered 429: nothing goes out before its ``X-Ratelimit-Retry`` has passed."""
        self._refill(now)
        self.tokens = 0.0
        self.blocked_until = max(self.blocked_until, now + max(retry_after_s, self.interval_s))
