"""Fixtures for the operator tests: kmock's Kubernetes emulator and an in-process operator against it.

Tests marked ``k8s`` need a real cluster. They are deselected (reported, not skipped) unless
``WBSUPPLY_TEST_KUBECONFIG`` names a kubeconfig; asking for them with ``-m k8s`` without it is an error.
Run them with: ``WBSUPPLY_TEST_KUBECONFIG=~/.kube/config pytest -m k8s tests/operator``.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import kmock
import pytest
import pytest_asyncio
import yaml
from operator_helpers import K8S_ENV, NAMESPACE, START, FakeClock, register_crds

from wbsupply.operator.main import operate
from wbsupply.operator.notifications import BotNotification
from wbsupply.operator.settings import OperatorConfig


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get(K8S_ENV):
        return
    cluster_tests = [item for item in items if item.get_closest_marker("k8s")]
    if not cluster_tests:
        return
    if "k8s" in (config.option.markexpr or "") and "not k8s" not in config.option.markexpr:
        raise pytest.UsageError(f"-m k8s needs a real cluster: set {K8S_ENV} to a kubeconfig path")
    config.hook.pytest_deselected(items=cluster_tests)
    items[:] = [item for item in items if not item.get_closest_marker("k8s")]
    config.stash[_DESELECTED] = len(cluster_tests)


_DESELECTED = pytest.StashKey[int]()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    count = config.stash.get(_DESELECTED, 0)
    if count:
        terminalreporter.write_line(f"{count} k8s test(s) deselected: set {K8S_ENV} to run them against a cluster")


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
