"""Token buckets per seller account and method, as WB describes its limits (period, limit, interval, burst).

A bucket holds up to ``burst`` tokens and gains one every ``interval`` seconds of *sandbox* time, so a
sandbox running 10× faster also refills 10× faster.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import datetime

from wbsupply.sandbox.clock import SandboxClock


@dataclass(frozen=True)
class Limit:
    name: str
    interval_s: float  # one token per interval
    burst: int


# Numbers from the "Персональный / Сервисный" rows of the official specs (2026-07-22).
PING = Limit("ping", 10, 3)  # 3 requests per 30 s
COEFFICIENTS = Limit("acceptance-coefficients", 10, 6)  # 6/min
OPTIONS = Limit("acceptance-options", 10, 6)  # 6/min
WAREHOUSES = Limit("warehouses", 10, 6)  # 6/min
SUPPLIES = Limit("supplies", 2, 10)  # 30/min
SUPPLY_DETAILS = Limit("supply-details", 2, 10)  # 30/min


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int  # X-Ratelimit-Limit: the burst
    remaining: int  # X-Ratelimit-Remaining: requests possible right now
    retry_s: int  # X-Ratelimit-Retry: seconds until the next request is possible (0 when allowed)
    reset_s: int  # X-Ratelimit-Reset: seconds until the bucket is full again

    def headers(self) -> dict[str, str]:
        headers = {"X-Ratelimit-Limit": str(self.limit), "X-Ratelimit-Remaining": str(self.remaining),
                   "X-Ratelimit-Reset": str(self.reset_s)}
        if not self.allowed:
            headers["X-Ratelimit-Retry"] = str(self.retry_s)
        return headers


class RateLimiter:
    def __init__(self, clock: SandboxClock) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[tuple[object, str], tuple[float, datetime]] = {}  # → (tokens, as of)

    def acquire(self, account: object, limit: Limit) -> Decision:
        now = self.clock.now()
        with self._lock:
            tokens, as_of = self._buckets.get((account, limit.name), (float(limit.burst), now))
            tokens = min(limit.burst, tokens + (now - as_of).total_seconds() / limit.interval_s)
            allowed = tokens >= 1
            if allowed:
                tokens -= 1
            self._buckets[(account, limit.name)] = (tokens, now)
        retry = 0 if allowed else math.ceil((1 - tokens) * limit.interval_s)
        reset = math.ceil((limit.burst - tokens) * limit.interval_s)
        return Decision(allowed, limit.burst, math.floor(tokens), retry, reset)

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()
