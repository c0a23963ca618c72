"""Fixtures for the operator tests: kmock's Kubernetes emulator and an in-process operator against it.

Tests against a real API server use the session's ``kube_cluster`` and live in tests/k8s (tests/k8s/conftest.py).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import kmock
import pytest
import pytest_asyncio
import yaml
from operator_helpers import NAMESPACE, START, FakeClock, register_crds

from wbsupply.operator.main import operate
from wbsupply.operator.notifications import BotNotification
from wbsupply.operator.settings import OperatorConfig


# One emulator and one operator per test module: stopping kopf costs ~5 s (it waits for timers that
# late watch events respawn), so the tests share them and use their own object names instead.
@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cluster() -> AsyncIterator[kmock.KubernetesEmulator]:
    async with kmock.KubernetesEmulator() as emulator, kmock.Server(emulator):
        register_crds(emulator)
        yield emulator


@pytest.fixture(scope="module")
def kubeconfig(cluster: kmock.KubernetesEmulator, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("kube") / "kubeconfig"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "kmock",
                "clusters": [{"name": "kmock", "cluster": {"server": str(cluster.url).rstrip("/")}}],
                "contexts": [{"name": "kmock", "context": {"cluster": "kmock", "namespace": NAMESPACE}}],
                "users": [{"name": "kmock", "user": {"token": "test-token"}}],
            }
        )
    )
    return path


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture(scope="module")
def notifications() -> list[BotNotification]:
    return []


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def operator(
    kubeconfig: Path, clock: FakeClock, notifications: list[BotNotification]
) -> AsyncIterator[OperatorConfig]:
    """The real operator (all handlers, kopf machinery) with short timer intervals.

    It runs in a thread with its own event loop, as kopf's KopfRunner does: on exit kopf waits for
    every task of its loop that it did not start, which in the test's loop would include this very
    fixture's teardown.
    """
    config = OperatorConfig(
        kubeconfig=str(kubeconfig),
        standalone=True,
        liveness_endpoint=None,
        # Short, but not so short that a dozen bots' timers swamp two shared cores.
        restart_check_interval=0.5,
        status_interval=0.5,
        memory_interval=1.0,
        auth_interval=1.0,
        task_check_interval=0.5,
        worker_image="wbsupply/worker:test",
    )

    async def notify(record: BotNotification) -> None:
        notifications.append(record)

    stop, ready = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(operate(config, stop_flag=stop, ready_flag=ready, notify=notify, clock=clock))
        except BaseException as exc:  # reported by the fixture, not lost in the thread
            errors.append(exc)
            ready.set()

    thread = threading.Thread(target=target, name="operator", daemon=True)
    thread.start()
    await asyncio.to_thread(ready.wait, 10)
    assert not errors, errors
    yield config
    stop.set()
    await asyncio.to_thread(thread.join, 15)
    assert not thread.is_alive(), "the operator did not stop"
    assert not errors, errors
