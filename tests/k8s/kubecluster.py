"""A real Kubernetes control plane on loopback for the ``k8s`` tests, started and stopped by the tests.

etcd, kube-apiserver (client certificates, RBAC, service-account tokens), kube-controller-manager,
kube-scheduler and kwok with a few fake nodes on which pods become Running. The binaries come from
``scripts/build-controlplane.sh`` (pinned Go modules, built once into a cache outside the repository).

``WBSUPPLY_TEST_KUBECONFIG=path`` runs the same tests against any cluster instead (kind, k3d, ...):
nothing is built or started then, and ``helm``/``kubectl`` come from PATH.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime
import ipaddress
import os
import shutil
import signal
import ssl
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from wbsupply.testkit import free_port

ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = ROOT / "scripts" / "build-controlplane.sh"
K8S_ENV = "WBSUPPLY_TEST_KUBECONFIG"
FAKE_NODES = 3
NODE_MEMORY = "8Gi"
# kwok's fake nodes carry this taint and label: only pods that tolerate it (and select it) land there.
FAKE_NODE_TAINT = {"key": "kwok.x-k8s.io/node", "value": "fake", "effect": "NoSchedule"}
FAKE_NODE_LABEL = {"type": "kwok"}
SERVICE_CIDR = "10.96.0.0/16"
SA_ISSUER = "https://kubernetes.default.svc.cluster.local"
PR_SET_PDEATHSIG = 1


def build_controlplane() -> Path:
    """The folder with the binaries; builds them the first time (~15-25 min on 2 cores), then ~0 s."""
    done = subprocess.run([str(BUILD_SCRIPT)], check=True, capture_output=True, text=True)
    return Path(done.stdout.strip().splitlines()[-1])


def tools(bin_dir: Path | None) -> dict[str, str]:
    """helm and kubectl: the built ones, or PATH's when testing against an external cluster."""
    found = {}
    for name in ("helm", "kubectl"):
        path = str(bin_dir / name) if bin_dir else shutil.which(name)
        if not path:
            raise RuntimeError(f"{name} not found on PATH (needed with {K8S_ENV})")
        found[name] = path
    return found


# --- certificates ---------------------------------------------------------------------------------------


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem_key(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@dataclass
class Pki:
    """A throwaway CA and the certificates of one control plane, written to ``folder``."""

    folder: Path
    ca_key: rsa.RSAPrivateKey = field(default_factory=_key)

    def __post_init__(self) -> None:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "wbsupply-test-ca")])
        self.ca_cert = (
            self._builder(name, name, self.ca_key)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
            )
            .sign(self.ca_key, hashes.SHA256())
        )
        self.ca_path = self._write("ca.crt", self.ca_cert.public_bytes(serialization.Encoding.PEM))

    @staticmethod
    def _builder(subject: x509.Name, issuer: x509.Name, key: rsa.RSAPrivateKey) -> x509.CertificateBuilder:
        now = datetime.datetime.now(datetime.UTC)
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=2))
        )

    def _write(self, name: str, data: bytes) -> Path:
        path = self.folder / name
        path.write_bytes(data)
        path.chmod(0o600)
        return path

    def issue(
        self, name: str, common_name: str, *, groups: tuple[str, ...] = (), server: bool = False
    ) -> tuple[Path, Path]:
        """A certificate signed by the CA: a client's (CN = user, O = groups) or the API server's."""
        key = _key()
        subject = x509.Name(
            [x509.NameAttribute(NameOID.ORGANIZATION_NAME, group) for group in groups]
            + [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
        )
        usage = x509.ExtendedKeyUsageOID.SERVER_AUTH if server else x509.ExtendedKeyUsageOID.CLIENT_AUTH
        builder = self._builder(subject, self.ca_cert.subject, key).add_extension(
            x509.ExtendedKeyUsage([usage]), critical=False
        )
        if server:
            service_ip = next(ipaddress.ip_network(SERVICE_CIDR).hosts())
            names: list[x509.GeneralName] = [
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                x509.IPAddress(service_ip),
                x509.DNSName("localhost"),
            ] + [x509.DNSName(n) for n in ("kubernetes", "kubernetes.default", "kubernetes.default.svc")]
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        cert = builder.sign(self.ca_key, hashes.SHA256())
        return (
            self._write(f"{name}.crt", cert.public_bytes(serialization.Encoding.PEM)),
            self._write(f"{name}.key", _pem_key(key)),
        )

    def service_account_keys(self) -> tuple[Path, Path]:
        key = _key()
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return self._write("sa.key", _pem_key(key)), self._write("sa.pub", public)


def write_kubeconfig(path: Path, cluster: dict[str, Any], user: dict[str, Any], namespace: str = "default") -> Path:
    """A kubeconfig with one context: ``cluster`` (server, CA) and ``user`` (certificate or token)."""
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "test",
                "clusters": [{"name": "test", "cluster": cluster}],
                "contexts": [{"name": "test", "context": {"cluster": "test", "user": "test", "namespace": namespace}}],
                "users": [{"name": "test", "user": user}],
            }
        )
    )
    path.chmod(0o600)
    return path


# --- the cluster ----------------------------------------------------------------------------------------


@dataclass
class KubeCluster:
    """What the tests get: an admin kubeconfig and the tools; ``fake_nodes`` is empty on external clusters."""

    kubeconfig: Path
    helm: str
    kubectl: str
    folder: Path
    fake_nodes: list[str]

    def env(self) -> dict[str, str]:
        return os.environ | {"KUBECONFIG": str(self.kubeconfig), "HELM_CACHE_HOME": str(self.folder / "helm"),
                             "HELM_CONFIG_HOME": str(self.folder / "helm"), "HELM_DATA_HOME": str(self.folder / "helm")}

    def kubectl_run(self, *args: str, check: bool = True, stdin: str | None = None,
                    kubeconfig: Path | None = None) -> subprocess.CompletedProcess[str]:
        env = self.env() | ({"KUBECONFIG": str(kubeconfig)} if kubeconfig else {})
        done = subprocess.run([self.kubectl, *args], env=env, input=stdin, capture_output=True, text=True,
                              timeout=120)
        if check and done.returncode:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {done.stderr}")
        return done

    def helm_run(self, *args: str) -> str:
        done = subprocess.run([self.helm, *args], env=self.env(), capture_output=True, text=True, timeout=300)
        if done.returncode:
            raise AssertionError(f"helm {' '.join(args)} failed: {done.stderr}")
        return done.stdout

    def token_kubeconfig(self, path: Path, token: str, namespace: str) -> Path:
        """A kubeconfig that authenticates with ``token`` (a ServiceAccount's), for local processes."""
        admin = yaml.safe_load(self.kubeconfig.read_text())
        context = next(c for c in admin["contexts"] if c["name"] == admin["current-context"])["context"]
        cluster = next(c for c in admin["clusters"] if c["name"] == context["cluster"])["cluster"]
        return write_kubeconfig(path, cluster, {"token": token}, namespace)


class ControlPlane:
    """Starts the processes in order, each on free loopback ports, logs in ``folder/logs``."""

    def __init__(self, bin_dir: Path, folder: Path) -> None:
        self.bin = bin_dir
        self.folder = folder
        self.logs = folder / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.processes: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.pki = Pki(folder)

    def _start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        with (self.logs / f"{name}.log").open("wb") as log:
            process = subprocess.Popen([str(self.bin / name), *args], stdout=log, stderr=subprocess.STDOUT,
                                       cwd=self.folder, preexec_fn=_die_with_parent)
        self.processes.append((name, process))
        return process

    def _wait(self, name: str, ready: Any, timeout: float = 60) -> None:
        process = dict(self.processes)[name]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                tail = (self.logs / f"{name}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{tail}")
            with contextlib.suppress(OSError, ssl.SSLError):
                if ready():
                    return
            time.sleep(0.2)
        raise RuntimeError(f"{name} not ready after {timeout} s; see {self.logs / name}.log")

    def start(self) -> KubeCluster:
        etcd_port, peer_port, api_port = free_port(), free_port(), free_port()
        etcd_url = f"http://127.0.0.1:{etcd_port}"
        self._start(
            "etcd", "--data-dir", str(self.folder / "etcd"), "--listen-client-urls", etcd_url,
            "--advertise-client-urls", etcd_url, "--listen-peer-urls", f"http://127.0.0.1:{peer_port}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer_port}",
            "--initial-cluster", f"default=http://127.0.0.1:{peer_port}", "--unsafe-no-fsync", "--log-level", "warn",
        )
        self._wait("etcd", lambda: urllib.request.urlopen(f"{etcd_url}/health", timeout=1).status == 200)

        pki = self.pki
        server_cert, server_key = pki.issue("apiserver", "kube-apiserver", server=True)
        sa_key, sa_pub = pki.service_account_keys()
        server = f"https://127.0.0.1:{api_port}"
        self._start(
            "kube-apiserver", "--etcd-servers", etcd_url, "--bind-address", "127.0.0.1",
            "--advertise-address", "127.0.0.1", "--secure-port", str(api_port),
            "--tls-cert-file", str(server_cert), "--tls-private-key-file", str(server_key),
            "--client-ca-file", str(pki.ca_path), "--authorization-mode", "RBAC",
            "--service-account-issuer", SA_ISSUER, "--service-account-key-file", str(sa_pub),
            "--service-account-signing-key-file", str(sa_key), "--service-cluster-ip-range", SERVICE_CIDR,
            # On loopback the "kubernetes" Service's endpoints cannot be reconciled (127.0.0.1 is refused).
            "--endpoint-reconciler-type", "none", "--allow-privileged=true", "--profiling=false",
            "--cert-dir", str(self.folder / "apiserver-certs"),
        )
        admin_cert, admin_key = pki.issue("admin", "admin", groups=("system:masters",))
        endpoint = {"server": server, "certificate-authority": str(pki.ca_path)}
        admin = write_kubeconfig(self.folder / "admin.kubeconfig", endpoint,
                                 {"client-certificate": str(admin_cert), "client-key": str(admin_key)})
        context = ssl.create_default_context(cafile=str(pki.ca_path))
        context.load_cert_chain(str(admin_cert), str(admin_key))
        self._wait("kube-apiserver",
                   lambda: urllib.request.urlopen(f"{server}/readyz", context=context, timeout=2).status == 200, 120)

        def component_kubeconfig(name: str, user: str) -> str:
            cert, key = pki.issue(name, user)
            path = write_kubeconfig(self.folder / f"{name}.kubeconfig", endpoint,
                                    {"client-certificate": str(cert), "client-key": str(key)})
            return str(path)

        self._start(
            "kube-controller-manager", "--kubeconfig",
            component_kubeconfig("controller-manager", "system:kube-controller-manager"),
            "--leader-elect=false", "--secure-port", "0", "--use-service-account-credentials",
            "--service-account-private-key-file", str(sa_key), "--root-ca-file", str(pki.ca_path),
            # kwok posts the fake nodes' heartbeats; on a loaded 2-core CI machine they came late once, the nodes
            # went NotReady, every pod's Ready condition was cleared and kwok never sets it again (helm --wait hung).
            "--node-monitor-grace-period=10m",
        )
        self._start(
            "kube-scheduler", "--kubeconfig", component_kubeconfig("scheduler", "system:kube-scheduler"),
            "--leader-elect=false", "--secure-port", "0",
        )
        self._start(
            "kwok", "--kubeconfig", str(admin), "--config", str(self.bin / "kwok-stages.yaml"),
            "--manage-all-nodes=false", "--manage-nodes-with-label-selector", "type=kwok",
            "--cidr", "10.244.0.0/16", "--node-ip", "10.0.0.1",
        )
        cluster = KubeCluster(
            kubeconfig=admin, helm=str(self.bin / "helm"),
            kubectl=str(self.bin / "kubectl"), folder=self.folder, fake_nodes=[],
        )
        for number in range(FAKE_NODES):
            name = f"kwok-node-{number}"
            cluster.kubectl_run("apply", "-f", "-", stdin=yaml.safe_dump(fake_node(name)))
            cluster.fake_nodes.append(name)
        self.wait_nodes_ready(cluster)
        return cluster

    def wait_nodes_ready(self, cluster: KubeCluster) -> None:
        def ready() -> bool:
            self._check_alive()
            ready_path = "{range .items[*]}{.status.conditions[?(@.type=='Ready')].status}{' '}{end}"
            done = cluster.kubectl_run("get", "nodes", "-o", f"jsonpath={ready_path}")
            return done.stdout.split() == ["True"] * FAKE_NODES

        deadline = time.monotonic() + 60
        while not ready():
            if time.monotonic() > deadline:
                raise RuntimeError("kwok's fake nodes did not become Ready")
            time.sleep(0.3)

    def _check_alive(self) -> None:
        for name, process in self.processes:
            if process.poll() is not None:
                tail = (self.logs / f"{name}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{tail}")

    def stop(self) -> None:
        for _, process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
        for _, process in reversed(self.processes):
            try:
                process.wait(3)  # throwaway state: no need to wait for a graceful API server shutdown
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _die_with_parent() -> None:
    """In the child: SIGTERM when the test process dies, so a killed pytest leaves no control plane behind."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def fake_node(name: str) -> dict[str, Any]:
    """A Node that kwok keeps Ready and on which it runs pods (they become Running without containers)."""
    resources = {"cpu": "4", "memory": NODE_MEMORY, "pods": "110"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {"node.alpha.kubernetes.io/ttl": "0", "kwok.x-k8s.io/node": "fake"},
            "labels": FAKE_NODE_LABEL | {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                                         "kubernetes.io/arch": "amd64", "kubernetes.io/role": "agent"},
        },
        "spec": {"taints": [FAKE_NODE_TAINT]},
        "status": {"allocatable": resources, "capacity": resources},
    }


@contextlib.contextmanager
def kube_cluster_context(folder: Path) -> Iterator[KubeCluster]:
    """The session's cluster: the built control plane, or the one ``WBSUPPLY_TEST_KUBECONFIG`` names."""
    external = os.environ.get(K8S_ENV)
    if external:
        found = tools(None)
        yield KubeCluster(kubeconfig=Path(external).expanduser(), helm=found["helm"], kubectl=found["kubectl"],
                          folder=folder, fake_nodes=[])
        return
    plane = ControlPlane(build_controlplane(), folder)
    try:
        yield plane.start()
    finally:
        plane.stop()
