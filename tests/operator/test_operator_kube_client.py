"""The small Kubernetes client: paths and credentials (requests themselves run against kmock elsewhere)."""

from __future__ import annotations

from pathlib import Path

import yaml

from wbsupply.kube.client import KubeClient, object_path, resource_path


def test_paths() -> None:
    assert resource_path("v1", "secrets", "ns", "s") == "/api/v1/namespaces/ns/secrets/s"
    assert resource_path("apps/v1", "deployments", "ns") == "/apis/apps/v1/namespaces/ns/deployments"
    assert (
        resource_path("wbsupply.io/v1alpha1", "sellerbots", "ns", "b", "status")
        == "/apis/wbsupply.io/v1alpha1/namespaces/ns/sellerbots/b/status"
    )
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "r", "namespace": "n"}}
    assert object_path(role) == "/apis/rbac.authorization.k8s.io/v1/namespaces/n/roles/r"
    assert object_path(role, collection=True) == "/apis/rbac.authorization.k8s.io/v1/namespaces/n/roles"


def test_kubeconfig_token_reaches_kopf_and_our_requests(tmp_path: Path) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    path = tmp_path / "kubeconfig"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "c",
                "clusters": [
                    {"name": "k", "cluster": {"server": "https://10.0.0.1:6443/", "certificate-authority": str(ca)}}
                ],
                "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
                "users": [{"name": "u", "user": {"token": "secret-token"}}],
            }
        )
    )
    client = KubeClient.from_environment(str(path))
    info = client.connection_info()
    assert info["server"] == "https://10.0.0.1:6443"
    assert (info["scheme"], info["token"], info["insecure"]) == ("Bearer", "secret-token", False)
    assert info["ca_path"] == str(ca)
