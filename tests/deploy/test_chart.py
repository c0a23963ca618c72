"""The Helm chart, rendered offline by helm-python-sdk: lint, values schema, every manifest valid."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import helm_python as helm
import pytest
import yaml
from deploy_helpers import CHART, CRDS, KUBE_VERSION, load_yaml, validate_manifest

from wbsupply.operator.builders import WORKER_UID
from wbsupply.operator.settings import OperatorConfig

PRODUCTION = load_yaml(CHART / "values-production.yaml")
VALUE_SETS = {"default": {}, "production": PRODUCTION}


@pytest.fixture(scope="module")
def chart() -> helm.Chart:
    return helm.Chart.load(CHART)


def render(chart: helm.Chart, values: dict[str, Any]) -> list[dict[str, Any]]:
    rendered = chart.render(values, name="wbsupply", namespace="wbsupply", is_install=True)
    return [
        doc
        for path, text in sorted(rendered.items())
        if not path.endswith("NOTES.txt")
        for doc in yaml.safe_load_all(text)
        if doc
    ]


def by_kind(manifests: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {m["metadata"]["name"]: m for m in manifests if m["kind"] == kind}


def pod_specs(manifests: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for manifest in manifests:
        if manifest["kind"] in ("Deployment", "StatefulSet"):
            yield manifest["metadata"]["name"], manifest["spec"]["template"]["spec"]


@pytest.mark.parametrize("values", VALUE_SETS.values(), ids=VALUE_SETS.keys())
def test_lint_is_clean(values: dict[str, Any]) -> None:
    report = helm.lint(CHART, values, strict=True, kube_version=f"v{KUBE_VERSION}.0")
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


@pytest.mark.parametrize("values", VALUE_SETS.values(), ids=VALUE_SETS.keys())
def test_every_rendered_manifest_is_valid(chart: helm.Chart, values: dict[str, Any]) -> None:
    manifests = render(chart, values)
    assert len(manifests) > 10
    for manifest in manifests:
        validate_manifest(manifest)


def test_schema_accepts_both_value_files_and_rejects_unknown_keys(chart: helm.Chart) -> None:
    chart.validate_schema({})
    chart.validate_schema(PRODUCTION)
    for wrong in ({"replicas": 2}, {"operator": {"replicas": 2}}, {"postgresql": {"persistence": {"sise": "1Gi"}}}):
        with pytest.raises(helm.HelmValuesError, match="additional properties"):
            chart.validate_schema(wrong)
    with pytest.raises(helm.HelmValuesError):
        chart.validate_schema({"operator": {"worker": {"memoryLimit": "a lot"}}})


def _leaves(values: Any, prefix: str = "") -> Iterator[str]:
    if isinstance(values, dict) and values:
        for key, value in values.items():
            yield from _leaves(value, f"{prefix}.{key}" if prefix else key)
    else:
        yield prefix


def test_every_value_is_documented() -> None:
    text = (CHART / "values.yaml").read_text()
    documented = set(re.findall(r"^\s*## @param ([\w.]+) \S", text, flags=re.MULTILINE))
    undocumented = [
        leaf
        for leaf in _leaves(yaml.safe_load(text))
        if not any(leaf == param or leaf.startswith(param + ".") for param in documented)
    ]
    assert undocumented == []


def test_default_install_brings_its_own_databases(chart: helm.Chart) -> None:
    manifests = render(chart, {})
    assert set(by_kind(manifests, "StatefulSet")) == {"wbsupply-postgresql", "wbsupply-redis"}
    secrets = by_kind(manifests, "Secret")
    password = secrets["wbsupply-postgresql"]["stringData"]["password"]
    assert len(password) == 32
    env = secrets["wbsupply-env"]["stringData"]
    assert env["WBSUPPLY_DATABASE_URL"] == f"postgresql+psycopg://wbsupply:{password}@wbsupply-postgresql:5432/wbsupply"
    assert env["WBSUPPLY_REDIS_URL"] == "redis://wbsupply-redis:6379/0"
    assert len(env["WBSUPPLY_SECRET_KEY"]) == 48


def test_production_uses_external_services_and_two_operators(chart: helm.Chart) -> None:
    manifests = render(chart, PRODUCTION)
    assert by_kind(manifests, "StatefulSet") == {}
    # Everything comes from the existing Secret, except the first admin's generated password.
    assert set(by_kind(manifests, "Secret")) == {"wbsupply-admin"}
    operator = by_kind(manifests, "Deployment")["wbsupply-operator"]
    assert operator["spec"]["replicas"] == 2
    env_from = operator["spec"]["template"]["spec"]["containers"][0]["envFrom"]
    assert {"secretRef": {"name": "wbsupply-env"}} in env_from


def test_external_urls_are_used_when_the_databases_are_off(chart: helm.Chart) -> None:
    values = {
        "postgresql": {"enabled": False},
        "redis": {"enabled": False},
        "externalDatabase": {"url": "postgresql+psycopg://u:p@db:5432/wb"},
        "externalRedis": {"url": "redis://cache:6379/1"},
    }
    env = by_kind(render(chart, values), "Secret")["wbsupply-env"]["stringData"]
    assert env["WBSUPPLY_DATABASE_URL"] == "postgresql+psycopg://u:p@db:5432/wb"
    assert env["WBSUPPLY_REDIS_URL"] == "redis://cache:6379/1"
    with pytest.raises(helm.HelmRenderError, match=r"externalDatabase\.url"):
        chart.render({"postgresql": {"enabled": False}}, name="wbsupply", namespace="wbsupply")


@pytest.mark.parametrize("values", VALUE_SETS.values(), ids=VALUE_SETS.keys())
def test_pods_are_locked_down(chart: helm.Chart, values: dict[str, Any]) -> None:
    for name, spec in pod_specs(render(chart, values)):
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["capabilities"]["drop"] == ["ALL"], name
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["allowPrivilegeEscalation"] is False, name
            assert container["resources"]["limits"]["memory"], name


def test_operator_is_configured_for_the_workers(chart: helm.Chart) -> None:
    manifests = render(chart, {"operator": {"watchNamespaces": ["sellers"]}})
    container = by_kind(manifests, "Deployment")["wbsupply-operator"]["spec"]["template"]["spec"]["containers"][0]
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert container["args"] == ["operator"]
    assert env["WBSUPPLY_OPERATOR_WORKER_IMAGE"] == "wbsupply/worker:0.1.0"
    assert env["WBSUPPLY_OPERATOR_WORKER_POD_CAPACITY"] == "10"
    assert (env["WBSUPPLY_OPERATOR_WORKER_MEMORY_BASE"], env["WBSUPPLY_OPERATOR_WORKER_MEMORY_PER_BOT"]) == (
        "448Mi", "40Mi")
    assert env["WBSUPPLY_OPERATOR_WORKER_MEMORY_LIMIT"] == ""  # computed per pod
    assert env["WBSUPPLY_OPERATOR_NAMESPACES"] == '["sellers"]'
    assert env["WBSUPPLY_OPERATOR_STANDALONE"] == "false"
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert env["WBSUPPLY_OPERATOR_PEERING_NAME"] == "wbsupply"  # the operator creates its ClusterKopfPeering
    assert by_kind(manifests, "ClusterKopfPeering") == {}  # a chart cannot ship a CR of its own CRD
    assert load_yaml(CHART / "values.yaml")["podSecurityContext"]["runAsUser"] == WORKER_UID


def test_operator_cluster_role_is_limited(chart: helm.Chart) -> None:
    role = by_kind(render(chart, {}), "ClusterRole")["wbsupply-operator"]
    granted = {
        (group, resource) for rule in role["rules"] for group in rule["apiGroups"] for resource in rule["resources"]
    }
    assert granted == {
        ("wbsupply.io", "sellerbots"),
        ("wbsupply.io", "supplytasks"),
        ("wbsupply.io", "sellerbots/status"),
        ("wbsupply.io", "supplytasks/status"),
        ("apps", "deployments"),
        ("", "serviceaccounts"),
        ("", "configmaps"),  # the bot lists of shared worker pods
        ("", "secrets"),
        ("rbac.authorization.k8s.io", "roles"),
        ("rbac.authorization.k8s.io", "rolebindings"),
        ("", "events"),
        ("events.k8s.io", "events"),
        ("apiextensions.k8s.io", "customresourcedefinitions"),
        ("", "namespaces"),
        ("kopf.dev", "clusterkopfpeerings"),
    }
    secrets = next(rule for rule in role["rules"] if rule["resources"] == ["secrets"])
    assert set(secrets["verbs"]) == {"get", "create", "update", "patch"}  # never list or delete
    assert all("*" not in rule["verbs"] for rule in role["rules"])


def test_components_have_their_own_service_accounts(chart: helm.Chart) -> None:
    manifests = render(chart, {})
    accounts = by_kind(manifests, "ServiceAccount")
    assert set(accounts) == {"wbsupply-operator", "wbsupply-api", "wbsupply-monitor", "wbsupply-notifier"}
    deployments = by_kind(manifests, "Deployment")
    for name, deployment in deployments.items():
        spec = deployment["spec"]["template"]["spec"]
        assert spec["serviceAccountName"] == name
        # Only the operator, the API and the notifier talk to the Kubernetes API.
        assert spec["automountServiceAccountToken"] is (  # the notifier: Telegram's /pause writes SupplyTasks
                name in {"wbsupply-operator", "wbsupply-api", "wbsupply-notifier"})
    assert set(by_kind(manifests, "Service")) >= {"wbsupply-api", "wbsupply-monitor"}


def test_api_and_monitor_are_probed_on_their_health_endpoints(chart: helm.Chart) -> None:
    deployments = by_kind(render(chart, {}), "Deployment")
    api = deployments["wbsupply-api"]["spec"]["template"]["spec"]["containers"][0]
    monitor = deployments["wbsupply-monitor"]["spec"]["template"]["spec"]["containers"][0]
    assert api["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    # Ready only while polls succeed (last good poll younger than 3 intervals); alive while the loop runs.
    assert monitor["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert monitor["livenessProbe"]["httpGet"] == {"path": "/healthz/live", "port": "metrics"}
    assert {"name": "WBSUPPLY_METRICS_PORT", "value": str(monitor["ports"][0]["containerPort"])} in monitor["env"]


def notes(chart: helm.Chart, values: dict[str, Any]) -> str:
    rendered = chart.render(values, name="wbsupply", namespace="shop", is_install=True)
    return next(text for path, text in rendered.items() if path.endswith("NOTES.txt"))


def test_crds_are_templates_kept_on_uninstall(chart: helm.Chart) -> None:
    crds = by_kind(render(chart, {}), "CustomResourceDefinition")
    assert set(crds) == {"sellerbots.wbsupply.io", "supplytasks.wbsupply.io", "clusterkopfpeerings.kopf.dev"}
    for crd in crds.values():
        assert crd["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
        assert crd["metadata"]["labels"]["app.kubernetes.io/part-of"] == "wbsupply"
    assert crds["sellerbots.wbsupply.io"]["spec"] == load_yaml(CRDS / "sellerbots.wbsupply.io.yaml")["spec"]
    loose = by_kind(render(chart, {"crds": {"keep": False}}), "CustomResourceDefinition")
    assert all("helm.sh/resource-policy" not in (c["metadata"].get("annotations") or {}) for c in loose.values())
    assert by_kind(render(chart, {"crds": {"enabled": False}}), "CustomResourceDefinition") == {}


def test_first_admin_password_is_generated_into_a_secret_the_api_reads(chart: helm.Chart) -> None:
    manifests = render(chart, {"admin": {"email": "boss@shop.example"}})
    secret = by_kind(manifests, "Secret")["wbsupply-admin"]["stringData"]
    assert secret["email"] == "boss@shop.example" and len(secret["password"]) == 24
    api = by_kind(manifests, "Deployment")["wbsupply-api"]["spec"]["template"]["spec"]["containers"][0]
    env = {item["name"]: item["valueFrom"]["secretKeyRef"] for item in api["env"]}
    assert env["WBSUPPLY_ADMIN_EMAIL"] == {"name": "wbsupply-admin", "key": "email"}
    assert env["WBSUPPLY_ADMIN_PASSWORD"] == {"name": "wbsupply-admin", "key": "password"}
    text = notes(chart, {})
    assert "kubectl -n shop get secret wbsupply-admin -o jsonpath='{.data.password}' | base64 -d" in text
    existing = render(chart, {"admin": {"existingSecret": "our-admin"}})
    assert "wbsupply-admin" not in by_kind(existing, "Secret")
    api = by_kind(existing, "Deployment")["wbsupply-api"]["spec"]["template"]["spec"]["containers"][0]
    assert {item["valueFrom"]["secretKeyRef"]["name"] for item in api["env"]} == {"our-admin"}


def test_notes_carry_the_example_sellerbot(chart: helm.Chart) -> None:
    text = notes(chart, {})
    assert "crds/examples" not in text
    example = text.split("<<'YAML'\n", 1)[1].split("\nYAML\n", 1)[0]
    bot = yaml.safe_load(example)
    assert bot["kind"] == "SellerBot" and bot["metadata"]["namespace"] == "shop"
    validate_manifest(bot)


def test_sandbox_is_deployed_and_used_when_enabled(chart: helm.Chart) -> None:
    assert "wbsupply-sandbox" not in by_kind(render(chart, {}), "Deployment")
    manifests = render(chart, {"config": {"sandboxEnabled": True}, "sandbox": {"seed": 7}})
    sandbox = by_kind(manifests, "Deployment")["wbsupply-sandbox"]["spec"]["template"]["spec"]["containers"][0]
    assert sandbox["args"][:5] == ["sandbox", "--host", "0.0.0.0", "--port", "8100"]
    assert sandbox["args"][5:7] == ["--seed", "7"]
    assert by_kind(manifests, "Service")["wbsupply-sandbox"]["spec"]["ports"][0]["port"] == 8100
    config = by_kind(manifests, "ConfigMap")["wbsupply-config"]["data"]
    assert config["WBSUPPLY_SANDBOX_HOST"] == "wbsupply-sandbox" and config["WBSUPPLY_SANDBOX_PORT"] == "8100"
    assert "WBSUPPLY_WB_API_URL" not in config  # with a URL set the components would skip the sandbox


def test_existing_service_accounts_are_used_when_not_created(chart: helm.Chart) -> None:
    values = {"serviceAccount": {"create": False, "names": {"operator": "ops", "api": "web"}}}
    manifests = render(chart, values)
    assert by_kind(manifests, "ServiceAccount") == {}
    accounts = {name: d["spec"]["template"]["spec"]["serviceAccountName"]
                for name, d in by_kind(manifests, "Deployment").items()}
    assert accounts == {"wbsupply-operator": "ops", "wbsupply-api": "web", "wbsupply-monitor": "default",
                        "wbsupply-notifier": "default"}
    subjects = [b["subjects"][0]["name"] for kind in ("ClusterRoleBinding", "RoleBinding")
                for b in by_kind(manifests, kind).values()]
    assert sorted(subjects) == ["default", "ops", "web"]  # default: the notifier's


def test_worker_scheduling_reaches_the_operator(chart: helm.Chart) -> None:
    toleration = {"key": "kwok.x-k8s.io/node", "operator": "Exists", "effect": "NoSchedule"}
    values = {
        "imagePullSecrets": [{"name": "regcred"}],
        "operator": {"worker": {"nodeSelector": {"type": "kwok"}, "tolerations": [toleration],
                                "priorityClassName": "bots"}},
    }
    operator = by_kind(render(chart, values), "Deployment")["wbsupply-operator"]["spec"]["template"]["spec"]
    env = {item["name"]: item.get("value") for item in operator["containers"][0]["env"]}
    assert operator["imagePullSecrets"] == [{"name": "regcred"}]
    config = OperatorConfig(**{
        key.removeprefix("WBSUPPLY_OPERATOR_").lower(): json.loads(value) if value[:1] and value[:1] in "[{" else value
        for key, value in env.items() if key.startswith("WBSUPPLY_OPERATOR_WORKER_")
    })
    assert config.worker_image_pull_secrets == [{"name": "regcred"}]
    assert config.worker_node_selector == {"type": "kwok"}
    assert config.worker_tolerations == [toleration]
    assert config.worker_priority_class_name == "bots"
