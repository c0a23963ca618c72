"""Helpers of the monitor tests (a module of its own: every test folder has a ``conftest``)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from wbsupply.feed.base import SlotFeed
from wbsupply.monitor.clock import FollowClock
from wbsupply.monitor.history import HistoryWriter
from wbsupply.monitor.pool import TokenPool
from wbsupply.monitor.service import Monitor
from wbsupply.monitor.sources import CabinetSource, PublicApiSource, SlotSource, SourceSwitch
from wbsupply.sandbox.sessions import SandboxSessionProvider
from wbsupply.sandbox.testing import RunningSandbox
from wbsupply.wb.api_client import WbApiClient

SPEED = 30.0  # sandbox seconds per real second
WAREHOUSES = frozenset({507, 117501, 120762})  # a few real warehouse ids of the sandbox: small answers


@dataclass
class Bot:
    api_token: str
    phone: str


@dataclass
class Harness:
    """Builds monitors against the fast sandbox and runs them as background tasks."""

    sandbox: RunningSandbox

    @property
    def clock(self) -> FollowClock:
        return FollowClock(self.sandbox.market.clock.now, SPEED)

    def api_source(self, tokens: list[str], clock: FollowClock, interval_s: float = 12.0,
                   on_request: Callable[[httpx.Request], Any] | None = None) -> PublicApiSource:
        hooks = {"request": [on_request]} if on_request else {}
        http = httpx.AsyncClient(base_url=self.sandbox.url, timeout=10.0, event_hooks=hooks)
        return PublicApiSource(WbApiClient(self.sandbox.url, http=http), TokenPool.of(tokens, interval_s), clock)

    def cabinet_source(self, phone: str, interval_s: float = 12.0) -> CabinetSource:
        return CabinetSource(SandboxSessionProvider(self.sandbox.url, phone), interval_s)

    def monitor(self, feed: SlotFeed, primary: SlotSource, fallback: SlotSource | None = None, *,
                clock: FollowClock, probe_interval_s: float = 600.0, history: HistoryWriter | None = None,
                **kwargs: Any) -> Monitor:
        kwargs.setdefault("warehouses", WAREHOUSES)
        return Monitor(SourceSwitch(primary, fallback, probe_interval_s), feed, clock=clock, history=history,
                       **kwargs)

    def sandbox_seconds(self) -> float:
        return self.sandbox.market.clock.now().timestamp()


@contextlib.asynccontextmanager
async def running(monitor: Monitor) -> AsyncIterator[asyncio.Event]:
    """Run ``monitor`` in the background; stop it (and re-raise its failure) on exit."""
    stop = asyncio.Event()
    task = asyncio.create_task(monitor.run(stop))
    try:
        yield stop
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        for source in (monitor.switch.primary, monitor.switch.fallback):
            if source is not None:
                await source.aclose()


def sample(monitor: Monitor, name: str, **labels: str) -> float:
    """A metric's current value from the monitor's own registry (0 when never touched)."""
    return monitor.metrics.registry.get_sample_value(name, labels or None) or 0.0
