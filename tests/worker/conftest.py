"""Fixtures of the worker tests: one sandbox and one Chromium per module, a real database per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from sqlalchemy import Engine

from wbsupply.config import Settings
from wbsupply.feed.memory import MemoryFeed
from wbsupply.sandbox.app import SandboxConfig
from wbsupply.sandbox.simulation import SimulationConfig
from wbsupply.sandbox.testing import RunningSandbox, run_sandbox_in_thread
from wbsupply.store import make_engine
from wbsupply.worker.browser import BrowserHost, BrowserOptions


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    """A frozen market (tests open slots themselves) on real time, so Moscow dates agree with the bot's."""
    config = SandboxConfig(seed=7, pow_difficulty=8, simulation=SimulationConfig.frozen(), background_steps=False)
    running = run_sandbox_in_thread(config)
    try:
        yield running
    finally:
        running.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def host() -> AsyncIterator[BrowserHost]:
    browser = BrowserHost(BrowserOptions(executable=Settings().resolved_browser_executable()))
    await browser.start()
    try:
        yield browser
    finally:
        await browser.stop()


@pytest.fixture
def feed() -> MemoryFeed:
    return MemoryFeed()


@pytest.fixture
def db(sqlite_database_url: str) -> Iterator[Engine]:
    engine = make_engine(sqlite_database_url)
    yield engine
    engine.dispose()
