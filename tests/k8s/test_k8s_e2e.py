"""The Helm chart against a real API server: install, the components' RBAC, SellerBot → worker pod, the
worker's permissions, restart, pause, garbage collection, CRD validation and columns, SellerBots packed into
shared worker pods (issue 15), upgrade, uninstall.

The tests share one release (see conftest) and run in file order: the last two upgrade and uninstall it.
"""

from __future__ import annotations

import base64
import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import yaml
from e2e_helpers import CHART, RELEASE, Release, events_of, example
from kubecluster import FAKE_NODE_LABEL, FAKE_NODE_TAINT

from wbsupply.domain.placement import PodMemory
from wbsupply.kube.names import ANNOTATION_RESTART_REQUEST, LABEL_BOT, worker_name
from wbsupply.operator.packing import LABEL_POOL, POOL_KEY, pool_name
from wbsupply.testkit import new_phone, wait_until

WORKER_PROBE = Path(__file__).with_name("worker_probe.py")


def sellerbot(release: Release, name: str, account: str) -> dict[str, Any]:
    bot = example("sellerbot", release.namespace, name=name, placement="dedicated")  # its own worker pod
    bot["spec"]["wbAccountRef"]["accountId"] = account
    bot["spec"]["sessionSecretRef"]["name"] = f"wb-session-{account}"
    release.apply(bot)
    return bot


def worker_pods(release: Release, bot: str) -> list[dict[str, Any]]:
    return list(release.get("pods", selector=f"{LABEL_BOT}={bot}")["items"])


def running_pod(release: Release, bot: str) -> dict[str, Any]:
    """The bot's worker pod once it is Running on a kwok node (scheduled, on an external cluster)."""

    def check() -> dict[str, Any] | None:
        for pod in worker_pods(release, bot):
            if pod["metadata"].get("deletionTimestamp"):
                continue
            node = pod["spec"].get("nodeName")
            if not release.cluster.fake_nodes and node:
                return pod
            if pod["status"].get("phase") == "Running" and node in release.cluster.fake_nodes:
                return pod
        return None

    return wait_until(check, 60, f"a running worker pod of {bot}")


def can_i(release: Release, component: str, *args: str) -> bool:
    done = release.kubectl("auth", "can-i", *args, as_=component, check=False)
    return done.stdout.strip() == "yes"


# --- install --------------------------------------------------------------------------------------------


def test_install_brings_templated_crds_the_admin_secret_and_running_components(release: Release) -> None:
    status = json.loads(release.cluster.helm_run("status", RELEASE, "-n", release.namespace, "-o", "json"))
    assert status["info"]["status"] == "deployed"
    for crd in ("sellerbots.wbsupply.io", "supplytasks.wbsupply.io", "clusterkopfpeerings.kopf.dev"):
        body = json.loads(release.cluster.kubectl_run("get", "crd", crd, "-o", "json").stdout)
        assert body["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
        assert body["metadata"]["annotations"]["meta.helm.sh/release-name"] == RELEASE  # a template, upgraded
    admin = release.secret_data(f"{RELEASE}-admin")
    assert admin["email"] == "admin@wbsupply.local" and len(admin["password"]) == 24
    if release.cluster.fake_nodes:
        pods = release.get("pods", selector=f"app.kubernetes.io/instance={RELEASE}")["items"]
        components = {pod["metadata"]["labels"]["app.kubernetes.io/component"] for pod in pods
                      if pod["status"]["phase"] == "Running"}
        assert components == {"operator", "api", "monitor", "notifier"}
        assert {pod["spec"]["nodeName"] for pod in pods} <= set(release.cluster.fake_nodes)


def test_notes_tell_how_to_log_in_and_carry_a_working_example(release: Release) -> None:
    ns = release.namespace
    command = f"kubectl -n {ns} get secret {RELEASE}-admin -o jsonpath='{{.data.password}}' | base64 -d"
    assert command in release.notes
    password = release.kubectl("get", "secret", f"{RELEASE}-admin", "-o", "jsonpath={.data.password}").stdout
    assert base64.b64decode(password).decode() == release.secret_data(f"{RELEASE}-admin")["password"]
    example_bot = yaml.safe_load(release.notes.split("<<'YAML'\n", 1)[1].split("\nYAML\n", 1)[0])
    assert example_bot["metadata"] == {"name": "ivanov-42", "namespace": ns}
    assert release.kubectl("apply", "--dry-run=server", "-f", "-", stdin=yaml.safe_dump(example_bot)).returncode == 0


def test_each_component_gets_only_the_chart_rbac(release: Release) -> None:
    ns = release.namespace
    assert can_i(release, "operator", "create", "deployments", "-n", "kube-system")  # cluster-wide workers
    assert can_i(release, "operator", "create", "clusterkopfpeerings.kopf.dev")
    assert not can_i(release, "operator", "list", "secrets", "-n", ns)  # never lists or deletes Secrets
    assert not can_i(release, "operator", "delete", "secrets", "-n", ns)
    assert can_i(release, "api", "create", "sellerbots.wbsupply.io", "-n", ns)
    assert not can_i(release, "api", "create", "sellerbots.wbsupply.io", "-n", "default")  # its namespace only
    assert not can_i(release, "api", "create", "deployments", "-n", ns)
    assert not can_i(release, "monitor", "get", "sellerbots.wbsupply.io", "-n", ns)  # needs no API access
    # The operator made its peering object on start (a chart cannot ship a CR of its own CRD).
    peering = ("get", "clusterkopfpeering", "wbsupply")
    wait_until(lambda: release.cluster.kubectl_run(*peering, check=False).returncode == 0, 30, "ClusterKopfPeering")


def test_first_admin_logs_in_and_the_api_writes_a_sellerbot_with_its_token(release: Release) -> None:
    admin = release.secret_data(f"{RELEASE}-admin")
    with httpx.Client(base_url=f"{release.api_url}/api/v1", timeout=30) as api:
        token = api.post("/auth/token", json={"email": admin["email"], "password": admin["password"], "name": "e2e"})
        assert token.status_code == 200, token.text
        as_admin = {"Authorization": f"Bearer {token.json()['access_token']}"}
        seller = api.post("/admin/users", headers=as_admin,
                          json={"email": "seller@shop.example", "password": "seller-pass-1", "plan_limit": 25})
        assert seller.status_code == 201, seller.text
        seller_token = api.post("/auth/token", json={"email": "seller@shop.example", "password": "seller-pass-1",
                                                     "name": "e2e"}).json()["access_token"]
        account = api.post("/wb-accounts", headers={"Authorization": f"Bearer {seller_token}"},
                           json={"phone": new_phone(), "label": "e2e", "accept_risk": True})
        assert account.status_code == 201, account.text
    bot = f"bot-{account.json()['id']}"
    body = wait_until(lambda: release.get("sellerbot", bot), 10, f"SellerBot {bot} written by the API")
    assert body["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "wbsupply-api"
    # A shared bot by default: its status names the pool it was packed into (tests/k8s/test_k8s_density.py).
    pool = wait_until(lambda: release.get("sellerbot", bot)["status"]["deployment"], 30, "its place in a pool")
    wait_until(lambda: release.get("deployment", pool), 30, "its worker Deployment")


def test_monitor_without_wb_tokens_waits_degraded_and_visible(release: Release) -> None:
    monitor = release.processes["monitor"]
    health = httpx.get(f"{release.monitor_url}/healthz", timeout=5)
    assert health.status_code == 503, health.text
    body = health.json()
    # No WB token and no monitor account yet: up on the cabinet source, not ready, and its health says why.
    assert body["ready"] is False
    assert (body["source"], body["wb_api"], body["monitor_accounts"]) == ("cabinet", "not_configured", 0), body
    assert httpx.get(f"{release.monitor_url}/healthz/live", timeout=5).status_code == 200
    assert monitor.alive()


# --- SellerBot lifecycle --------------------------------------------------------------------------------


def test_sellerbot_applied_with_kubectl_gets_its_worker_on_a_node(release: Release) -> None:
    release.apply(example("sellerbot", release.namespace, placement="dedicated"))
    name = "ivanov-42"
    child = worker_name(name)
    for kind in ("serviceaccount", "role", "rolebinding", "deployment"):
        body = wait_until(lambda kind=kind: release.get(kind, child), 30, f"{kind} {child}")
        owner = body["metadata"]["ownerReferences"][0]
        assert (owner["kind"], owner["name"], owner.get("controller")) == ("SellerBot", name, True)
    pod = running_pod(release, name)
    spec = pod["spec"]
    assert spec["serviceAccountName"] == child
    assert spec["imagePullSecrets"] == [{"name": "regcred"}]
    assert spec["containers"][0]["resources"]["requests"]["memory"] == "488Mi"  # base + one bot
    assert spec["containers"][0]["resources"]["limits"]["memory"] == "768Mi"  # the example's own limit
    if release.cluster.fake_nodes:
        assert spec["nodeSelector"] == FAKE_NODE_LABEL
        assert any(t["key"] == FAKE_NODE_TAINT["key"] for t in spec["tolerations"])

    def applied() -> dict[str, Any]:
        status = release.get("sellerbot", name).get("status") or {}
        assert status["phase"] == "INITIALIZING" and status["deployment"] == child
        return status

    status = wait_until(applied, 30, "status written by the operator")
    assert [c["type"] for c in status["conditions"]] == ["WorkerApplied", "SellerAccepted"]
    assert release.get("secret", "wb-session-42") is not None  # the empty session Secret the worker fills
    assert wait_until(lambda: events_of(release, name), 30, "Events on the SellerBot")


def test_worker_token_patches_its_own_bot_and_secret_but_no_other(release: Release) -> None:
    sellerbot(release, "petrov-43", "43")
    running_pod(release, "petrov-43")
    wait_until(lambda: release.get("secret", "wb-session-43"), 30, "the second bot's Secret")
    kubeconfig = release.token_kubeconfig(worker_name("ivanov-42"))
    done = subprocess.run(
        [sys.executable, str(WORKER_PROBE), str(kubeconfig), release.namespace, "ivanov-42", "wb-session-42",
         "petrov-43", "wb-session-43"],
        capture_output=True, text=True, timeout=60, check=True,
    )
    assert json.loads(done.stdout) == {
        "own_status": 200, "own_secret": 200, "other_status": 403, "other_secret": 403, "other_secret_read": 403,
    }
    status = release.get("sellerbot", "ivanov-42")["status"]
    assert status["memoryBytes"] == 300 * 2**20 and status["lastHeartbeat"]
    assert "storageState" in release.secret_data("wb-session-42")
    assert "storageState" not in (release.get("secret", "wb-session-43").get("data") or {})


def test_restart_annotation_rolls_a_new_replicaset(release: Release) -> None:
    name = "ivanov-42"
    before = running_pod(release, name)["metadata"]["name"]
    replicasets = {rs["metadata"]["name"] for rs in release.get("replicasets", selector=f"{LABEL_BOT}={name}")["items"]}
    release.kubectl("annotate", "sellerbot", name, f"{ANNOTATION_RESTART_REQUEST}=e2e-1", "--overwrite")

    def rolled() -> set[str]:
        current = {rs["metadata"]["name"] for rs in release.get("replicasets", selector=f"{LABEL_BOT}={name}")["items"]}
        return current - replicasets

    assert len(wait_until(rolled, 30, "a new ReplicaSet")) == 1
    after = wait_until(lambda: (pod := running_pod(release, name))["metadata"]["name"] != before and pod, 60)
    assert after["metadata"]["ownerReferences"][0]["name"] in rolled()
    assert wait_until(lambda: release.get("sellerbot", name)["status"].get("lastRestartRequest") == "e2e-1", 30)
    assert wait_until(lambda: any(e["reason"] == "RestartRequested" for e in events_of(release, name)), 30)


def test_pause_scales_the_worker_to_zero(release: Release) -> None:
    name = "ivanov-42"
    release.kubectl("patch", "sellerbot", name, "--type", "merge", "-p", '{"spec": {"paused": true}}')
    wait_until(lambda: release.get("deployment", worker_name(name))["spec"]["replicas"] == 0, 30, "replicas 0")
    wait_until(lambda: not worker_pods(release, name), 60, "no worker pod")
    assert wait_until(lambda: release.get("sellerbot", name)["status"]["phase"] == "STOPPED", 30)
    release.kubectl("patch", "sellerbot", name, "--type", "merge", "-p", '{"spec": {"paused": false}}')
    running_pod(release, name)


def test_deleting_a_sellerbot_collects_everything_it_owns(release: Release) -> None:
    child = worker_name("petrov-43")
    release.kubectl("delete", "sellerbot", "petrov-43", "--wait=false")
    for kind in ("deployment", "serviceaccount", "role", "rolebinding"):
        wait_until(lambda kind=kind: release.get(kind, child) is None, 60, f"{kind} {child} collected")
    wait_until(lambda: not worker_pods(release, "petrov-43"), 60, "its pod gone")
    assert release.get("secret", "wb-session-43") is not None  # the session belongs to the WB account


# --- custom resources -----------------------------------------------------------------------------------


def test_api_server_rejects_a_supplytask_that_violates_the_schema(release: Release) -> None:
    bad = example("supplytask", release.namespace, name="bad-task", boxType="crates", warehouses=[])
    done = release.apply(bad, check=False)
    assert done.returncode != 0
    assert "spec.boxType" in done.stderr and "Unsupported value" in done.stderr
    assert release.get("supplytask", "bad-task") is None


def test_kubectl_get_shows_the_printer_columns(release: Release) -> None:
    release.apply(example("supplytask", release.namespace))
    out = release.kubectl("get", "sb,st").stdout
    lines = out.splitlines()
    bot_header = next(line for line in lines if line.startswith("NAME") and "SELLER" in line)
    assert bot_header.split() == ["NAME", "SELLER", "PHASE", "LOGIN", "MEMORY", "LAST", "BOOKING", "PAUSED", "AGE"]
    task_header = next(line for line in lines if line.startswith("NAME") and "BOX" in line)
    assert task_header.split() == ["NAME", "SELLER", "BOT", "PHASE", "PAUSED", "BOX", "MODE", "DEADLINE", "SUPPLY",
                                   "AGE"]
    assert any(line.startswith("sellerbot.wbsupply.io/ivanov-42 ") and "ivanov@shop.example" in line
               for line in lines)
    assert any(line.startswith("supplytask.wbsupply.io/ivanov-42-preorder-123456 ") and "boxes" in line
               for line in lines)


# --- packed worker pods (issue 15) ---------------------------------------------------------------------

# The chart's defaults: 10 bots a pod, 448Mi + 40Mi a bot, 30 % headroom.
POOL = PodMemory(base_mib=448, per_bot_mib=40, headroom=0.3)
NAMES = [f"seller-{i:02d}" for i in range(25)]


def bot_body(release: Release, name: str, placement: str = "shared") -> dict[str, Any]:
    account = str(100 + NAMES.index(name)) if name in NAMES else str(900 + len(name))  # one bot per account
    body = example("sellerbot", release.namespace, name=name, placement=placement)
    body["spec"]["wbAccountRef"]["accountId"] = account
    body["spec"]["sessionSecretRef"]["name"] = f"wb-session-{account}"
    body["spec"].pop("resources", None)
    return body


def placement(release: Release, names: list[str]) -> dict[str, str]:
    """Bot -> the Deployment its status names, once every one of ``names`` has one."""
    bots = {bot["metadata"]["name"]: bot for bot in release.get("sellerbots")["items"]}
    found = {name: (bots[name].get("status") or {}).get("deployment") for name in names if name in bots}
    assert all(found.get(name) for name in names), found
    return {name: str(pod) for name, pod in found.items()}


def pool_members(release: Release) -> dict[str, list[str]]:
    """Pool -> its bots, as the pools' ConfigMaps (mounted into the pods) list them."""
    items = release.get("configmaps", selector=LABEL_POOL)["items"]
    return {cm["metadata"]["name"]: sorted(b["name"] for b in json.loads(cm["data"][POOL_KEY])["bots"])
            for cm in items}


def pool_pods(release: Release) -> dict[str, str]:
    """Pool -> uid of its running pod (one per pool)."""
    pods = release.get("pods", selector=LABEL_POOL)["items"]
    live = [pod for pod in pods if not pod["metadata"].get("deletionTimestamp")]
    if release.cluster.fake_nodes:
        live = [pod for pod in live if pod["status"].get("phase") == "Running"]
    return {pod["metadata"]["labels"][LABEL_POOL]: pod["metadata"]["uid"] for pod in live}


def test_25_sellerbots_are_packed_into_3_pods_of_at_most_10(release: Release) -> None:
    documents = [bot_body(release, name) for name in NAMES]
    release.kubectl("apply", "-f", "-", stdin=yaml.safe_dump_all(documents))
    placed = wait_until(lambda: placement(release, NAMES), 120, "25 bots placed")
    # The API's bot of an earlier test is shared too: 26 bots, 3 pods.
    members = wait_until(lambda: (found := pool_members(release)) and set(NAMES) <= {b for bs in found.values()
                                                                                   for b in bs} and found,
                         60, "the pools' bot lists")
    assert sorted(len(bots) for bots in members.values())[-2:] == [10, 10] and len(members) == 3
    assert set(members) == {pool_name(1), pool_name(2), pool_name(3)}
    assert all(placed[bot] == pool for pool, bots in members.items() for bot in bots if bot in placed)  # status
    pods = wait_until(lambda: len(found := pool_pods(release)) == 3 and found, 90, "3 running pool pods")
    assert len(pods) == 3

    for pool in members:
        deployment = release.get("deployment", pool)
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        # Sized for a full pool (10 bots), whatever it holds: adding a bot must not change the template.
        assert container["resources"]["requests"]["memory"] == f"{POOL.request_mib(10)}Mi" == "848Mi"
        assert container["resources"]["limits"]["memory"] == f"{POOL.limit_mib(10)}Mi" == "1103Mi"
        assert container["command"] == ["wbsupply", "worker", "--pool", f"/etc/wbsupply/pool/{POOL_KEY}"]
        role = release.get("role", pool)
        named = next(rule for rule in role["rules"] if "sellerbots" in rule["resources"])["resourceNames"]
        assert named == members[pool]  # the pod's token reaches its own bots only
        owners = {ref["name"] for ref in deployment["metadata"]["ownerReferences"]}
        assert owners == set(members[pool])


def test_deleting_5_bots_moves_no_one_and_restarts_no_pod(release: Release) -> None:
    members = pool_members(release)
    pods = pool_pods(release)
    full = sorted(pool for pool, bots in members.items() if len(bots) == 10)
    gone = [*members[full[0]][:3], *members[full[1]][:2]]
    release.kubectl("delete", "sellerbot", *gone, "--wait=false")
    total = sum(map(len, members.values()))
    after = wait_until(lambda: (found := pool_members(release)) and sum(map(len, found.values())) == total - 5
                       and found, 60, "places freed")
    assert after == {pool: [bot for bot in bots if bot not in gone] for pool, bots in members.items()}
    assert pool_pods(release) == pods  # the same three pods: nobody restarted

    # A new bot fills a freed place in the fullest open pool; still nobody else moves or restarts.
    release.apply(bot_body(release, "newcomer"))
    placed = wait_until(lambda: placement(release, ["newcomer"]), 60, "the newcomer placed")
    assert placed["newcomer"] in members and len(pool_members(release)[placed["newcomer"]]) <= 10
    assert {p: [b for b in bots if b != "newcomer"] for p, bots in pool_members(release).items()} == after
    assert pool_pods(release) == pods


def test_a_dedicated_bot_gets_a_pod_of_its_own(release: Release) -> None:
    members = pool_members(release)
    release.apply(bot_body(release, "premium", placement="dedicated"))
    own = worker_name("premium")
    assert wait_until(lambda: placement(release, ["premium"]), 60, "premium placed")["premium"] == own
    deployment = wait_until(lambda: release.get("deployment", own), 30, "its own Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["wbsupply", "worker", "--bot", "premium"]
    assert container["resources"]["requests"]["memory"] == f"{POOL.request_mib(1)}Mi" == "488Mi"
    assert container["resources"]["limits"]["memory"] == f"{POOL.limit_mib(1)}Mi" == "635Mi"
    assert pool_members(release) == members  # the pools did not notice

    # Back to shared: it joins a pool and its own worker is removed.
    release.kubectl("patch", "sellerbot", "premium", "--type", "merge", "-p", '{"spec": {"placement": "shared"}}')
    pool = wait_until(lambda: (p := placement(release, ["premium"])["premium"]) != own and p, 60, "premium shared")
    assert "premium" in pool_members(release)[pool]
    wait_until(lambda: release.get("deployment", own) is None, 60, "its own Deployment removed")


# --- upgrade and uninstall (last: they change the release) ----------------------------------------------


def test_helm_upgrade_changes_a_crd_field_and_deploys_the_sandbox(release: Release, tmp_path: Path) -> None:
    chart = tmp_path / "wbsupply"
    shutil.copytree(CHART, chart)
    path = chart / "files" / "crds" / "supplytasks.wbsupply.io.yaml"
    crd = yaml.safe_load(path.read_text())
    columns = crd["spec"]["versions"][0]["additionalPrinterColumns"]
    columns.insert(-1, {"name": "Preorder", "type": "integer", "jsonPath": ".spec.preorderId"})
    path.write_text(yaml.safe_dump(copy.deepcopy(crd), sort_keys=False))
    try:
        release.cluster.helm_run("upgrade", RELEASE, str(chart), "-n", release.namespace, "--reuse-values",
                                 "--set", "config.sandboxEnabled=true", "--wait", "--timeout", "240s")
    except AssertionError as failed:  # say what helm waited for (it timed out once on a loaded CI machine)
        state = release.kubectl("get", "deployments,replicasets,pods", "-o", "wide", check=False).stdout
        events = release.kubectl("get", "events", "--sort-by=.lastTimestamp", check=False).stdout
        raise AssertionError(f"{failed}\n{state}\n{events[-4000:]}") from None
    live = json.loads(release.cluster.kubectl_run("get", "crd", "supplytasks.wbsupply.io", "-o", "json").stdout)
    assert "Preorder" in [c["name"] for c in live["spec"]["versions"][0]["additionalPrinterColumns"]]
    header = release.kubectl("get", "st").stdout.splitlines()[0].split()
    assert "PREORDER" in header
    # The same upgrade turned the sandbox on: its Deployment and Service, and every component pointed at it.
    assert release.get("deployment", f"{RELEASE}-sandbox")["status"].get("readyReplicas") == (
        1 if release.cluster.fake_nodes else None)
    assert release.get("service", f"{RELEASE}-sandbox")["spec"]["ports"][0]["port"] == 8100
    config = release.get("configmap", f"{RELEASE}-config")["data"]
    assert config["WBSUPPLY_SANDBOX_HOST"] == f"{RELEASE}-sandbox" and "WBSUPPLY_WB_API_URL" not in config


def test_helm_uninstall_keeps_the_crds_and_every_custom_resource(release: Release) -> None:
    for process in release.processes.values():  # the components go with the release
        process.stop()
    release.cluster.helm_run("uninstall", RELEASE, "-n", release.namespace, "--wait")
    release.installed = False
    for crd in ("sellerbots.wbsupply.io", "supplytasks.wbsupply.io", "clusterkopfpeerings.kopf.dev"):
        assert release.cluster.kubectl_run("get", "crd", crd, check=False).returncode == 0, crd
    assert release.get("deployment", f"{RELEASE}-operator") is None  # the release itself is gone
    assert release.get("sellerbot", "ivanov-42") is not None
    assert release.get("supplytask", "ivanov-42-preorder-123456") is not None
