"""The operator against a real cluster (kind, k3d, ...): only with WBSUPPLY_TEST_KUBECONFIG, see conftest.

Applies the CRDs, runs the operator in-process, creates a SellerBot in a fresh namespace and waits for
its worker Deployment. The worker image need not exist: only the objects are checked, not the pod.
"""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import AsyncIterator

import pytest
import yaml
from operator_helpers import K8S_ENV, ROOT, eventually

from wbsupply.control.kube import KubeApiError, KubeClient, resource_path
from wbsupply.operator.main import operate
from wbsupply.operator.names import worker_name
from wbsupply.operator.settings import OperatorConfig

pytestmark = [pytest.mark.k8s, pytest.mark.timeout(180)]


@pytest.fixture
def real_kubeconfig() -> str:
    return os.path.expanduser(os.environ[K8S_ENV])


@pytest.fixture
async def kube(real_kubeconfig: str) -> AsyncIterator[KubeClient]:
    client = KubeClient.from_environment(real_kubeconfig)
    for path in sorted((ROOT / "crds").glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        crds = resource_path("apiextensions.k8s.io/v1", "customresourcedefinitions", None)
        try:
            await client.create(crds, crd)
        except KubeApiError as exc:
            if exc.status != 409:
                raise
            await client.merge_patch(f"{crds}/{crd['metadata']['name']}", crd)
    yield client
    await client.close()


@pytest.fixture
async def namespace(kube: KubeClient) -> AsyncIterator[str]:
    name = f"wbsupply-test-{uuid.uuid4().hex[:8]}"
    await kube.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    yield name
    await kube.delete(f"/api/v1/namespaces/{name}")


async def test_sellerbot_gets_a_worker_deployment_in_a_real_cluster(
    kube: KubeClient, namespace: str, real_kubeconfig: str
) -> None:
    config = OperatorConfig(kubeconfig=real_kubeconfig, standalone=True, liveness_endpoint=None, namespaces=[namespace])
    stop, ready = threading.Event(), threading.Event()
    thread = threading.Thread(target=lambda: asyncio.run(operate(config, stop_flag=stop, ready_flag=ready)))
    thread.start()
    try:
        await asyncio.to_thread(ready.wait, 30)
        bot = yaml.safe_load((ROOT / "crds" / "examples" / "sellerbot.yaml").read_text())
        bot["metadata"]["namespace"] = namespace
        await kube.create(resource_path("wbsupply.io/v1alpha1", "sellerbots", namespace), bot)

        path = resource_path("apps/v1", "deployments", namespace, worker_name(bot["metadata"]["name"]))
        deployment = await eventually(lambda: kube.get(path), within=60)
        assert deployment["metadata"]["ownerReferences"][0]["kind"] == "SellerBot"
        assert deployment["spec"]["strategy"]["type"] == "Recreate"
    finally:
        stop.set()
        await asyncio.to_thread(thread.join, 30)
