"""Helpers of the end-to-end tests (see conftest): the installed release and the local component processes."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from kubecluster import FAKE_NODE_LABEL, FAKE_NODE_TAINT, ROOT, KubeCluster

from wbsupply.testkit import wait_until

CHART = ROOT / "charts" / "wbsupply"
RELEASE = "wbsupply"
TOLERATIONS = [{"key": FAKE_NODE_TAINT["key"], "operator": "Exists", "effect": FAKE_NODE_TAINT["effect"]}]


@dataclass
class LocalProcess:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Release:
    """The installed chart and what the tests need to talk to it."""

    cluster: KubeCluster
    namespace: str
    folder: Path
    kubeconfigs: dict[str, Path] = field(default_factory=dict)  # component -> its ServiceAccount's token
    processes: dict[str, LocalProcess] = field(default_factory=dict)
    api_url: str = ""
    notes: str = ""  # what `helm install` printed (NOTES.txt)
    monitor_url: str = ""
    installed: bool = True
    database_url: str = ""  # the release's database (the tests read and, for drift, change it directly)
    operator_metrics_url: str = ""

    def kubectl(self, *args: str, check: bool = True, stdin: str | None = None,
                as_: str | None = None) -> subprocess.CompletedProcess[str]:
        kubeconfig = self.kubeconfigs[as_] if as_ else None
        return self.cluster.kubectl_run("-n", self.namespace, *args, check=check, stdin=stdin, kubeconfig=kubeconfig)

    def get(self, kind: str, name: str | None = None, selector: str | None = None) -> Any:
        args = ["get", kind, *([name] if name else []), *(["-l", selector] if selector else []), "-o", "json"]
        done = self.kubectl(*args, check=False)
        if done.returncode:
            if "NotFound" in done.stderr:
                return None
            raise AssertionError(done.stderr)
        return json.loads(done.stdout)

    def apply(self, body: dict[str, Any], *, as_: str | None = None, check: bool = True
              ) -> subprocess.CompletedProcess[str]:
        return self.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(body), as_=as_, check=check)

    def secret_data(self, name: str) -> dict[str, str]:
        data = self.get("secret", name)["data"] or {}
        return {key: base64.b64decode(value).decode() for key, value in data.items()}

    def chart_env(self, component: str) -> dict[str, str]:
        """The environment the chart gives one component, resolved from the cluster like the kubelet would."""
        deployment = self.get("deployment", f"{RELEASE}-{component}")
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        env: dict[str, str] = {}
        for source in container.get("envFrom") or []:
            if "configMapRef" in source:
                env |= self.get("configmap", source["configMapRef"]["name"])["data"]
            else:
                env |= self.secret_data(source["secretRef"]["name"])
        for item in container.get("env") or []:
            if "valueFrom" not in item:
                env[item["name"]] = item.get("value", "")  # the API server drops empty values
            elif "secretKeyRef" in item["valueFrom"]:
                ref = item["valueFrom"]["secretKeyRef"]
                env[item["name"]] = self.secret_data(ref["name"])[ref["key"]]
            elif "fieldRef" in item["valueFrom"]:
                env[item["name"]] = f"local-{component}"
        return env

    def token_kubeconfig(self, service_account: str) -> Path:
        token = self.kubectl("create", "token", service_account, "--duration", "2h").stdout.strip()
        path = self.folder / f"{service_account}.kubeconfig"
        return self.cluster.token_kubeconfig(path, token, self.namespace)

    def start(self, component: str, args: list[str], env: dict[str, str], *, env_of: str | None = None
              ) -> LocalProcess:
        """A component as a local process with the chart's environment (of ``env_of``, default the component's
        own) plus ``env``; stdout to a log file."""
        base = {key: value for key, value in os.environ.items() if not key.startswith(("WBSUPPLY_", "KUBECONFIG"))}
        data = self.folder / component
        data.mkdir(exist_ok=True)
        full = base | self.chart_env(env_of or component) | {"WBSUPPLY_DATA_DIR": str(data)} | env
        log = self.folder / f"{component}.log"
        with log.open("wb") as out:
            process = subprocess.Popen([sys.executable, "-m", "wbsupply.cli", *args], env=full, cwd=data,
                                       stdout=out, stderr=subprocess.STDOUT)
        started = LocalProcess(component, process, log)
        self.processes[component] = started
        return started


EXAMPLES = CHART / "files" / "examples"


def example(kind: str, namespace: str, name: str | None = None, **spec: Any) -> dict[str, Any]:
    """The chart's example resource in ``namespace``, renamed and with ``spec`` fields changed."""
    body = yaml.safe_load((EXAMPLES / f"{kind}.yaml").read_text())
    body["metadata"]["namespace"] = namespace
    if name:
        body["metadata"]["name"] = name
    body["spec"] |= spec
    return body


def events_of(release: Release, name: str) -> list[dict[str, Any]]:
    done = release.kubectl("get", "events", "--field-selector", f"involvedObject.name={name}", "-o", "json")
    return list(json.loads(done.stdout)["items"])


EXAMPLE_SELLER = ("ivanov@shop.example", "ivanov-pass-1")  # spec.seller of the chart's examples


@contextlib.contextmanager
def api_client(release: Release, email: str, password: str) -> Iterator[httpx.Client]:
    """The JSON API as this user (a bearer token, as scripts and the Telegram side use it)."""
    with httpx.Client(base_url=f"{release.api_url}/api/v1", timeout=30) as client:
        token = client.post("/auth/token", json={"email": email, "password": password, "name": "e2e"})
        assert token.status_code == 200, token.text
        client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        yield client


@contextlib.contextmanager
def admin_client(release: Release) -> Iterator[httpx.Client]:
    admin = release.secret_data(f"{RELEASE}-admin")
    with api_client(release, admin["email"], admin["password"]) as client:
        yield client


def create_seller(release: Release, email: str, password: str, plan_limit: int = 25) -> int:
    """What an admin does in the admin panel before a SellerBot may name the seller."""
    with admin_client(release) as admin:
        created = admin.post("/admin/users", json={"email": email, "password": password, "plan_limit": plan_limit})
        assert created.status_code == 201, created.text
        return int(created.json()["id"])


def chart_values(cluster: KubeCluster, database_url: str, redis_url: str) -> dict[str, Any]:
    # On kwok's nodes every pod must tolerate their taint and select them; elsewhere the scheduler decides.
    placement: dict[str, Any] = (
        {"tolerations": TOLERATIONS, "nodeSelector": FAKE_NODE_LABEL} if cluster.fake_nodes else {}
    )
    # On a real cluster the chart's pods would run for real; the local processes stand in for them.
    replicas = {} if cluster.fake_nodes else {"replicaCount": 0}
    return {
        "postgresql": {"enabled": False},
        "redis": {"enabled": False},
        "externalDatabase": {"url": database_url},
        "externalRedis": {"url": redis_url},
        "imagePullSecrets": [{"name": "regcred"}],
        "operator": placement | replicas | {"worker": placement},
        "api": placement | {"replicaCount": 1} | replicas,
        "monitor": placement | replicas,
        "notifier": placement | replicas,
        "sandbox": placement | replicas,  # deployed by the upgrade test
    }


def wait_http(url: str, process: LocalProcess, within: float = 60) -> httpx.Response:
    def answer() -> httpx.Response:
        assert process.alive(), process.output()[-3000:]
        return httpx.get(url, timeout=2)

    return wait_until(answer, within, f"{process.name} at {url}")
