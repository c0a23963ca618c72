"""Fixtures of the monitor tests: a fast sandbox (its clock runs SPEED× real time), sellers, a real Redis.

The monitor follows the sandbox's clock (``FollowClock``), so "12 s" intervals and WB's 10 s token bucket
are sandbox seconds and a test that spans minutes of WB time takes seconds of real time. Helpers live in
``monitor_helpers``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from monitor_helpers import SPEED, Bot, Harness

from wbsupply.sandbox.app import SandboxConfig
from wbsupply.sandbox.simulation import SimulationConfig
from wbsupply.sandbox.testing import RunningSandbox, run_sandbox_in_thread


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    """The whole sandbox on a free port, clock at SPEED× real time, no random market activity."""
    config = SandboxConfig(seed=7, speed=SPEED, pow_difficulty=4, simulation=SimulationConfig.frozen(),
                           background_steps=False)
    running = run_sandbox_in_thread(config)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def make_bot(sandbox: RunningSandbox) -> Callable[[], Bot]:
    def make() -> Bot:
        seller = sandbox.market.create_seller(name="monitor bot")
        return Bot(seller.api_token, seller.phone)

    return make


@pytest.fixture
def harness(sandbox: RunningSandbox) -> Harness:
    return Harness(sandbox)
