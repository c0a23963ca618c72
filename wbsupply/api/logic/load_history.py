"""Server load over the last hours, sampled by the API process once a minute and kept in memory.

Enough for the admin's «what happened this morning» chart; long-term history belongs to Prometheus.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from wbsupply.api.logic.admin import meminfo
from wbsupply.domain.schedule import MOSCOW

SAMPLE_EVERY_S = 60.0
KEEP = 12 * 60  # twelve hours of minutes


@dataclass
class LoadHistory:
    samples: deque[tuple[dt.datetime, float, float | None]] = field(default_factory=lambda: deque(maxlen=KEEP))

    def sample(self, now: dt.datetime | None = None) -> None:
        info = meminfo()
        total, available = info.get("MemTotal", 0), info.get("MemAvailable", 0)
        memory = round(100 * (total - available) / total, 1) if total else None
        self.samples.append((now or dt.datetime.now(dt.UTC), round(os.getloadavg()[0], 2), memory))

    async def run(self, every: float = SAMPLE_EVERY_S) -> None:
        while True:
            self.sample()
            await asyncio.sleep(every)

    def hourly(self) -> list[tuple[str, float]]:
        """The highest 1-minute load average of each hour (Moscow time), oldest first."""
        peaks: dict[str, float] = {}
        for at, load, _ in self.samples:
            hour = f"{at.astimezone(MOSCOW):%H}:00"
            peaks[hour] = max(peaks.get(hour, 0.0), load)
        return list(peaks.items())


@contextlib.asynccontextmanager
async def sampling(history: LoadHistory) -> AsyncIterator[None]:
    task = asyncio.create_task(history.run())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
