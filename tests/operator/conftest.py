"""Fixtures for the operator tests: kmock's Kubernetes emulator and an in-process operator against it.

Tests marked ``k8s`` need a real cluster. They are deselected (reported, not skipped) unless
``WBSUPPLY_TEST_KUBECONFIG`` names a kubeconfig; asking for them with ``-m k8s`` without it is an error.
Run them with: ``WBSUPPLY_TEST_KUBECONFIG=~/.kube/config pytest -m k8s tests/operator``.
"""

from __future__ import annotations

import asyncio
import datetime
import os
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import kmock
import pytest
import yaml

from wbsupply.operator.main import operate
from wbsupply.operator.notifications import BotNotification
from wbsupply.operator.settings import OperatorConfig

K8S_ENV = "WBSUPPLY_TEST_KUBECONFIG"
ROOT = Path(__file__).resolve().parents[2]
NAMESPACE = "sellers"


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


class FakeClock:
    """Wall clock of the operator under test; the test moves it (restart windows, deadlines)."""

    def __init__(self, now: datetime.datetime) -> None:
        self.now = now

    def __call__(self) -> datetime.datetime:
        return self.now


@pytest.fixture
def cluster(kmock: kmock.KubernetesEmulator, tmp_path: Path) -> kmock.KubernetesEmulator:
    """The emulator with built-in resources and our CRDs registered (it serves no CRD objects itself)."""
    kmock.resources.load_bundled()
    for path in sorted((ROOT / "crds").glob("*.wbsupply.io.yaml")):
        crd = yaml.safe_load(path.read_text())
        names = crd["spec"]["names"]
        kmock.resources[f"{crd['spec']['group']}/v1alpha1/{names['plural']}"] = kmock.ResourceInfo(
            kind=names["kind"],
            singular=names["singular"],
            namespaced=True,
            shortnames=set(names["shortNames"]),
            verbs={"get", "list", "watch", "create", "patch", "update", "delete"},
            subresources={"status"},
        )
    return kmock


@pytest.fixture
def kubeconfig(cluster: kmock.KubernetesEmulator, tmp_path: Path) -> Path:
    path = tmp_path / "kubeconfig"
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


@pytest.fixture
def clock() -> FakeClock:
    # 12:00 Moscow: outside every bot's restart window.
    return FakeClock(datetime.datetime(2026, 11, 26, 9, 0, tzinfo=datetime.UTC))


@pytest.fixture
def notifications() -> list[BotNotification]:
    return []


@pytest.fixture
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
        restart_check_interval=0.3,
        status_interval=0.3,
        memory_interval=0.3,
        auth_interval=0.3,
        task_check_interval=0.3,
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


async def eventually(check: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Poll ``check`` until it returns a truthy value without raising (the operator works asynchronously)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            result = check()
            if isinstance(result, Awaitable):
                result = await result
            if result:
                return result
        except (KeyError, AssertionError, TypeError):
            if asyncio.get_running_loop().time() > deadline:
                raise
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s: {check}")
        await asyncio.sleep(0.05)
