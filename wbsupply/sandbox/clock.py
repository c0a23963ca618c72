"""The sandbox clock: real time scaled by ``speed``, plus manual jumps for tests."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

MSK = ZoneInfo("Europe/Moscow")


class SandboxClock:
    """Aware-UTC time that runs ``speed`` times faster than the wall clock.

    Everything time-dependent in the sandbox (slot lifetimes, code and session expiry, rate-limit buckets)
    reads this clock, so a demo can run a market day in minutes and tests can jump with :meth:`advance`.
    ``speed=0`` stops the clock: only :meth:`advance` moves it (exact times for determinism tests).
    """

    def __init__(self, speed: float = 1.0, start: datetime | None = None) -> None:
        if speed < 0:
            raise ValueError("speed must not be negative")
        self.speed = speed
        self._start = (start or datetime.now(UTC)).astimezone(UTC)
        self._t0 = time.monotonic()
        self._offset = 0.0  # sandbox seconds added by advance()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            elapsed = (time.monotonic() - self._t0) * self.speed + self._offset
        return self._start + timedelta(seconds=elapsed)

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("the sandbox clock never goes back")
        with self._lock:
            self._offset += seconds
        return self.now()

    def today_msk(self) -> date:
        return self.now().astimezone(MSK).date()

    def real_seconds(self, sandbox_seconds: float) -> float:
        """How long a sandbox interval takes on the wall clock."""
        return sandbox_seconds / self.speed if self.speed else float("inf")
