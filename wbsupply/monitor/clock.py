"""Time as the monitor sees it: a monotonic reading for schedules, wall time for dates, and sleeping.

Production uses :class:`RealClock`. :class:`FollowClock` follows another time source that may run faster
than real time (the sandbox's clock), so a demo or benchmark can poll at "12 s" while 12 sandbox seconds
pass in a fraction of a real second; token buckets then stay in step with the sandbox's own limits.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds on a steady scale (schedules, token buckets)."""
        ...

    def wall(self) -> datetime:
        """Aware current time (event timestamps, the Moscow calendar day)."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class RealClock:
    def monotonic(self) -> float:
        # The event loop's clock where there is one: the same time asyncio.sleep counts (and looptime fakes).
        try:
            return asyncio.get_running_loop().time()
        except RuntimeError:
            return time.monotonic()

    def wall(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class FollowClock:
    """Time read from ``now`` (aware datetimes) that runs ``speed`` times faster than the wall clock."""

    def __init__(self, now: Callable[[], datetime], speed: float) -> None:
        if speed <= 0:
            raise ValueError("a followed clock must run (speed > 0)")
        self._now = now
        self._epoch = now()
        self.speed = speed

    def monotonic(self) -> float:
        return (self._now() - self._epoch).total_seconds()

    def wall(self) -> datetime:
        return self._now()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.speed)
