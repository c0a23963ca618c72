"""Fixtures of the monitor tests: a fast sandbox (its clock runs SPEED× real time), sellers, a real Redis.

The monitor follows the sandbox's clock (``FollowClock``), so "12 s" intervals and WB's 10 s token bucket
are sandbox seconds and a test that spans minutes of WB time takes seconds of real time. Helpers live in
``monitor_helpers``.
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from monitor_helpers import SPEED, Bot, Harness
from pytest_redis.executor.process import RedisExecutor

from wbsupply.sandbox.app import RunningSandbox, SandboxConfig, run_sandbox_in_thread
from wbsupply.sandbox.simulation import SimulationConfig


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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisExecutor]:
    """A real redis-server with an append-only file, so a restart keeps the stream (as in tests/feed)."""
    executable = shutil.which("redis-server")
    assert executable, "redis-server is not installed: run `make test` (it installs Debian's redis-server)"
    executor = RedisExecutor(
        executable, databases=4, redis_timeout=30, loglevel="warning", host="127.0.0.1", port=_free_port(),
        startup_timeout=30, save="", daemonize="no", rdbcompression=True, rdbchecksum=False,
        syslog_enabled=False, appendonly="yes", datadir=Path(tmp_path_factory.mktemp("redis")),
    )
    executor.start()
    yield executor
    executor.stop()
