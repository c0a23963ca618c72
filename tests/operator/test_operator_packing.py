"""Pure parts of packed worker pods: the pool's objects, a template that never depends on its members, and
which pools take no new bots (near their memory limit)."""

from __future__ import annotations

import json

import kubernetes_validate

from wbsupply.operator.packing import (
    LABEL_POOL,
    Member,
    build_pool_children,
    build_pool_deployment,
    closed_pools,
    current_placement,
    pool_name,
    pool_number,
)
from wbsupply.operator.settings import OperatorConfig

CONFIG = OperatorConfig(worker_image="wbsupply/worker:1.2.3")
A = Member("ivanov-42", "uid-a", "42", "wb-session-42")
B = Member("petrov-43", "uid-b", "43", "wb-session-43")


def test_pool_objects_are_valid_and_list_their_bots() -> None:
    children = build_pool_children(pool_name(1), "sellers", [A, B], CONFIG)
    for child in children:
        kubernetes_validate.validate(child, "1.29", strict=True)
    configmap, _, role, binding, deployment = children
    assert json.loads(configmap["data"]["bots.json"]) == {"bots": [{"name": "ivanov-42", "accountId": "42"},
                                                                   {"name": "petrov-43", "accountId": "43"}]}
    assert current_placement([configmap]) == {"ivanov-42": "wbsupply-pool-1", "petrov-43": "wbsupply-pool-1"}
    assert role["rules"][2]["resourceNames"] == ["ivanov-42", "petrov-43"]
    assert role["rules"][3]["resourceNames"] == ["wb-session-42", "wb-session-43"]
    assert binding["subjects"][0]["name"] == "wbsupply-pool-1"
    assert {ref["uid"] for ref in deployment["metadata"]["ownerReferences"]} == {"uid-a", "uid-b"}
    assert deployment["spec"]["selector"]["matchLabels"][LABEL_POOL] == "wbsupply-pool-1"


def test_the_pod_template_does_not_change_when_bots_come_and_go() -> None:
    one = build_pool_deployment(pool_name(2), "sellers", [A], CONFIG)["spec"]["template"]
    two = build_pool_deployment(pool_name(2), "sellers", [A, B], CONFIG)["spec"]["template"]
    assert one == two
    resources = one["spec"]["containers"][0]["resources"]
    assert resources["requests"]["memory"] == "848Mi" and resources["limits"]["memory"] == "1103Mi"
    small = OperatorConfig(worker_pod_capacity=4, worker_memory_base="400Mi", worker_memory_per_bot="25Mi")
    limits = build_pool_deployment(pool_name(2), "s", [A], small)["spec"]["template"]["spec"]["containers"][0]
    assert limits["resources"]["requests"]["memory"] == "500Mi" and limits["resources"]["limits"]["memory"] == "650Mi"


def test_pool_names() -> None:
    assert pool_number(pool_name(12)) == 12
    assert pool_number("wbsupply-bot-ivanov-42") is None and pool_number("wbsupply-pool-x") is None


def test_a_pool_past_the_warning_ratio_is_closed_to_new_bots() -> None:
    limit = 1103 * 2**20
    bots = [{"metadata": {"name": "ivanov-42"}, "status": {"memoryBytes": int(limit * 0.91)}},
            {"metadata": {"name": "petrov-43"}, "status": {"memoryBytes": int(limit * 0.5)}},
            {"metadata": {"name": "new"}, "status": {}}]
    current = {"ivanov-42": "wbsupply-pool-1", "petrov-43": "wbsupply-pool-2"}
    assert closed_pools(bots, current, CONFIG) == {"wbsupply-pool-1"}
