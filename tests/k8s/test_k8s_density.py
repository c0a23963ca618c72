"""Packed worker pods on a real API server: 25 SellerBots -> 3 pods of at most 10, deleting bots moves no one
and restarts no pod, a dedicated bot gets a pod of its own, the pods' memory is the computed figure.

The chart is installed as in test_k8s_e2e (see conftest); the operator runs as a local process.
"""

from __future__ import annotations

import json
from typing import Any

import yaml
from e2e_helpers import Release, eventually, example

from wbsupply.domain.placement import PodMemory
from wbsupply.kube.names import worker_name
from wbsupply.operator.packing import LABEL_POOL, POOL_KEY, pool_name

# The chart's defaults: 10 bots a pod, 448Mi + 40Mi a bot, 30 % headroom.
POOL = PodMemory(base_mib=448, per_bot_mib=40, headroom=0.3)
NAMES = [f"seller-{i:02d}" for i in range(25)]


def bot_body(release: Release, name: str, placement: str = "shared") -> dict[str, Any]:
    account = str(100 + NAMES.index(name)) if name in NAMES else "999"
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


def test_25_bots_are_packed_into_3_pods_of_at_most_10(release: Release) -> None:
    documents = [bot_body(release, name) for name in NAMES]
    release.kubectl("apply", "-f", "-", stdin=yaml.safe_dump_all(documents))
    placed = eventually(lambda: placement(release, NAMES), 120, "25 bots placed")
    members = eventually(lambda: (found := pool_members(release)) and sum(map(len, found.values())) == 25 and found,
                         60, "the pools' bot lists")
    assert sorted(len(bots) for bots in members.values()) == [5, 10, 10]
    assert set(members) == {pool_name(1), pool_name(2), pool_name(3)}
    assert all(placed[bot] == pool for pool, bots in members.items() for bot in bots)  # status names the pod
    pods = eventually(lambda: len(found := pool_pods(release)) == 3 and found, 90, "3 running pool pods")
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
    after = eventually(lambda: (found := pool_members(release)) and sum(map(len, found.values())) == 20 and found,
                       60, "places freed")
    assert after == {pool: [bot for bot in bots if bot not in gone] for pool, bots in members.items()}
    assert pool_pods(release) == pods  # the same three pods: nobody restarted

    # A new bot fills a freed place in the fullest open pool; still nobody else moves or restarts.
    release.apply(bot_body(release, "newcomer"))
    placed = eventually(lambda: placement(release, ["newcomer"]), 60, "the newcomer placed")
    assert placed["newcomer"] in members and len(pool_members(release)[placed["newcomer"]]) <= 10
    assert {p: [b for b in bots if b != "newcomer"] for p, bots in pool_members(release).items()} == after
    assert pool_pods(release) == pods


def test_a_dedicated_bot_gets_a_pod_of_its_own(release: Release) -> None:
    members = pool_members(release)
    release.apply(bot_body(release, "premium", placement="dedicated"))
    own = worker_name("premium")
    assert eventually(lambda: placement(release, ["premium"]), 60, "premium placed")["premium"] == own
    deployment = eventually(lambda: release.get("deployment", own), 30, "its own Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["wbsupply", "worker", "--bot", "premium"]
    assert container["resources"]["requests"]["memory"] == f"{POOL.request_mib(1)}Mi" == "488Mi"
    assert container["resources"]["limits"]["memory"] == f"{POOL.limit_mib(1)}Mi" == "635Mi"
    assert pool_members(release) == members  # the pools did not notice

    # Back to shared: it joins a pool and its own worker is removed.
    release.kubectl("patch", "sellerbot", "premium", "--type", "merge", "-p", '{"spec": {"placement": "shared"}}')
    pool = eventually(lambda: (p := placement(release, ["premium"])["premium"]) != own and p, 60, "premium shared")
    assert "premium" in pool_members(release)[pool]
    eventually(lambda: release.get("deployment", own) is None, 60, "its own Deployment removed")
