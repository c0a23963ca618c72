"""End-to-end fixtures: ``kube_cluster`` (session), a real Kubernetes control plane on loopback (:mod:`kubecluster`)
or the cluster ``WBSUPPLY_TEST_KUBECONFIG`` names; the Helm chart installed into it, its components as local
processes.

The operator, the API and the monitor run on this machine (no images are built), each authenticated with a
token of **its own ServiceAccount created by the chart**, so the chart's RBAC is exactly what they get; their
environment is read back from the chart's Deployments, ConfigMap and Secrets in the cluster. On the built
control plane the chart's own pods (and the worker pods) run on kwok's fake nodes; on an external cluster
(``WBSUPPLY_TEST_KUBECONFIG``) the chart's components are scaled to zero, the local processes replace them.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator

import pytest
import yaml
from e2e_helpers import CHART, EXAMPLE_SELLER, RELEASE, Release, chart_values, create_seller, wait_http
from kubecluster import KubeCluster, kube_cluster_context
from servers import PostgresServer, redis_executor

from wbsupply.testkit import free_port


@pytest.fixture(scope="session")
def kube_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeCluster]:
    with kube_cluster_context(tmp_path_factory.mktemp("kube")) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def release(kube_cluster: KubeCluster, postgres_server: PostgresServer,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Release]:
    folder = tmp_path_factory.mktemp("e2e")
    (folder / "redis").mkdir()
    redis = redis_executor(folder / "redis")
    redis.start()
    namespace = f"wbsupply-e2e-{uuid.uuid4().hex[:6]}"
    installed = Release(kube_cluster, namespace, folder)
    try:
        values = folder / "values.yaml"
        database = postgres_server.create_database(f"e2e_{uuid.uuid4().hex[:8]}")
        installed.database_url = database
        values.write_text(yaml.safe_dump(chart_values(kube_cluster, database, f"redis://127.0.0.1:{redis.port}/0")))
        # The packaged chart, as users get it: CRD templates and examples must be inside the package.
        kube_cluster.helm_run("package", str(CHART), "-d", str(folder))
        package = next(folder.glob("wbsupply-*.tgz"))
        # The chart's CRDs outlive an uninstall (resource-policy keep), so an earlier module's release left them
        # annotated with its namespace; Helm adopts them into this release once they name this one.
        kube_cluster.kubectl_run("annotate", "crd", "-l", "app.kubernetes.io/managed-by=Helm", "--overwrite",
                                 f"meta.helm.sh/release-namespace={namespace}", f"meta.helm.sh/release-name={RELEASE}")
        installed.notes = kube_cluster.helm_run("install", RELEASE, str(package), "-n", namespace,
                                                "--create-namespace", "-f", str(values), "--wait", "--timeout", "120s")
        for component in ("operator", "api", "monitor"):
            installed.kubeconfigs[component] = installed.token_kubeconfig(f"{RELEASE}-{component}")

        metrics_port = free_port()
        installed.start("operator", ["operator"], {
            "WBSUPPLY_OPERATOR_KUBECONFIG": str(installed.kubeconfigs["operator"]),
            "WBSUPPLY_OPERATOR_LIVENESS_ENDPOINT": f"http://127.0.0.1:{free_port()}/healthz",
            "WBSUPPLY_OPERATOR_METRICS_PORT": str(metrics_port),
            "WBSUPPLY_OPERATOR_METRICS_HOST": "127.0.0.1",
            # Short periods, so that a test waits seconds for a deadline check or a resync, not minutes.
            "WBSUPPLY_OPERATOR_TASK_CHECK_INTERVAL": "2",
            "WBSUPPLY_OPERATOR_RESYNC_INTERVAL": "3",
        })
        installed.operator_metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        api_port = free_port()
        api = installed.start("api", ["api"], {
            "WBSUPPLY_KUBECONFIG": str(installed.kubeconfigs["api"]),
            "WBSUPPLY_KUBE_NAMESPACE": namespace,
            "WBSUPPLY_API_HOST": "127.0.0.1",
            "WBSUPPLY_API_PORT": str(api_port),
        })
        monitor_port = free_port()
        monitor = installed.start("monitor", ["monitor"], {"WBSUPPLY_METRICS_PORT": str(monitor_port)})
        installed.api_url = f"http://127.0.0.1:{api_port}"
        installed.monitor_url = f"http://127.0.0.1:{monitor_port}"
        wait_http(f"{installed.api_url}/healthz", api)
        wait_http(f"{installed.monitor_url}/healthz/live", monitor)
        create_seller(installed, *EXAMPLE_SELLER)  # the examples' SellerBot and SupplyTask name this seller
        yield installed
    finally:
        # The custom resources go before the next module: left behind, they would be adopted by the next
        # module's operator, which watches every namespace. A running operator lifts its finalizers; once it
        # is gone (the uninstall test stops it) nobody would, so they are lifted here.
        operator = installed.processes.get("operator")
        wait = "--timeout=60s" if operator is not None and operator.alive() else "--wait=false"
        installed.kubectl("delete", "supplytasks,sellerbots", "--all", wait, check=False)
        for kind in ("supplytasks", "sellerbots"):
            left = installed.kubectl("get", kind, "-o", "name", check=False).stdout.split()
            for name in left:
                installed.kubectl("patch", name, "--type", "merge", "-p", '{"metadata": {"finalizers": null}}',
                                  check=False)
        for process in installed.processes.values():
            process.stop()
        if installed.installed:
            subprocess.run([kube_cluster.helm, "uninstall", RELEASE, "-n", namespace], env=kube_cluster.env(),
                           capture_output=True, timeout=120)
        kube_cluster.kubectl_run("delete", "namespace", namespace, "--wait=false", check=False)
        redis.stop()
        shutil.rmtree(folder / "redis", ignore_errors=True)
