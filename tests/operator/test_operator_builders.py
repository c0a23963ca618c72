"""Pure builders of a SellerBot's children: Deployment, ServiceAccount, Role, RoleBinding, restart patch."""

from __future__ import annotations

import datetime
from typing import Any

import kubernetes_validate
import pytest

from wbsupply.domain.schedule import RESTART_WINDOW, RESTART_WINDOW_START, restart_moment, restart_offset
from wbsupply.kube.names import ANNOTATION_RESTARTED_AT, LABEL_BOT, bot_label, worker_name
from wbsupply.operator.bots import initial_phase, restart_due
from wbsupply.operator.builders import (
    build_children,
    build_deployment,
    build_restart_patch,
    build_role,
    build_role_binding,
    build_session_secret,
)
from wbsupply.operator.settings import OperatorConfig, peering_priority

SPEC: dict[str, Any] = {
    "seller": "ivanov",
    "wbAccountRef": {"accountId": "42"},
    "sessionSecretRef": {"name": "wb-session-42"},
    "tariff": "start",
}
CONFIG = OperatorConfig(worker_image="wbsupply/worker:1.2.3")


def pod(spec: dict[str, Any] = SPEC, config: OperatorConfig = CONFIG) -> dict[str, Any]:
    return build_deployment("ivanov-42", "sellers", spec, config)["spec"]["template"]["spec"]


def test_children_are_valid_kubernetes_objects() -> None:
    for child in [*build_children("ivanov-42", "sellers", SPEC, CONFIG), build_session_secret("ivanov-42", "s", SPEC)]:
        kubernetes_validate.validate(child, "1.29", strict=True)


def test_one_worker_never_two() -> None:
    deployment = build_deployment("ivanov-42", "sellers", SPEC, CONFIG)
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert deployment["spec"]["selector"]["matchLabels"][LABEL_BOT] == "ivanov-42"
    assert deployment["spec"]["template"]["metadata"]["labels"][LABEL_BOT] == "ivanov-42"


def test_pause_scales_to_zero() -> None:
    assert build_deployment("ivanov-42", "sellers", SPEC | {"paused": True}, CONFIG)["spec"]["replicas"] == 0


def test_worker_command_image_and_environment() -> None:
    container = pod()["containers"][0]
    assert container["command"] == ["wbsupply", "worker", "--bot", "ivanov-42"]
    assert container["image"] == "wbsupply/worker:1.2.3"
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert env["WBSUPPLY_SESSION_SECRET"] == "wb-session-42"
    assert env["WBSUPPLY_WB_ACCOUNT_ID"] == "42"
    assert pod()["serviceAccountName"] == worker_name("ivanov-42")


def test_env_from_the_chart_config() -> None:
    config = OperatorConfig(worker_env_configmap="wbsupply-config", worker_env_secret="wbsupply-env")
    assert pod(config=config)["containers"][0]["envFrom"] == [
        {"configMapRef": {"name": "wbsupply-config"}},
        {"secretRef": {"name": "wbsupply-env"}},
    ]


def test_memory_request_and_limits() -> None:
    resources = pod()["containers"][0]["resources"]
    # A pod of its own: base 448Mi + one bot's 40Mi, and 30 % headroom for the limit (bench/density.py).
    assert resources["requests"]["memory"] == "488Mi"
    assert resources["limits"] == {"memory": "635Mi"}
    override = pod(SPEC | {"resources": {"memoryLimit": "600Mi", "cpuLimit": "500m"}})
    assert override["containers"][0]["resources"]["limits"] == {"memory": "600Mi", "cpu": "500m"}
    assert pod(config=OperatorConfig(worker_memory_limit="300Mi"))["containers"][0]["resources"]["limits"] == {
        "memory": "300Mi"
    }


def test_probes_hit_the_health_port() -> None:
    container = pod()["containers"][0]
    assert container["ports"] == [{"name": "health", "containerPort": 8080, "protocol": "TCP"}]
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "health"}
    # Liveness only counts once the (slow) browser start passed the startup probe.
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 300


def test_locked_down_with_writable_scratch_space() -> None:
    spec = pod()
    container = spec["containers"][0]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    context = container["securityContext"]
    assert context["readOnlyRootFilesystem"] is True
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["allowPrivilegeEscalation"] is False
    mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
    volumes = {volume["name"]: volume for volume in spec["volumes"]}
    for path in ("/tmp", "/var/lib/wbsupply/profile", "/dev/shm"):
        assert "emptyDir" in volumes[mounts[path]]


def test_role_grants_only_the_bots_own_objects() -> None:
    rules = build_role("ivanov-42", "sellers", SPEC)["rules"]
    secrets = next(rule for rule in rules if rule["resources"] == ["secrets"])
    assert secrets["resourceNames"] == ["wb-session-42"]
    assert "list" not in secrets["verbs"]
    bots = next(rule for rule in rules if "sellerbots" in rule["resources"])
    assert bots["resourceNames"] == ["ivanov-42"]
    tasks = next(rule for rule in rules if rule["resources"] == ["supplytasks"])
    assert "resourceNames" not in tasks  # impossible for list/watch, see build_role
    assert set(tasks["verbs"]) == {"get", "list", "watch"}
    assert all(verb != "*" for rule in rules for verb in rule["verbs"])
    assert all("delete" not in rule["verbs"] for rule in rules)


def test_role_binding_binds_the_bots_account() -> None:
    binding = build_role_binding("ivanov-42", "sellers")
    assert binding["roleRef"]["name"] == worker_name("ivanov-42")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": worker_name("ivanov-42"), "namespace": "sellers"}]


def test_restart_patch_changes_only_the_template_annotation() -> None:
    moment = datetime.datetime(2026, 11, 27, 3, 17, 5, 123, tzinfo=datetime.timezone(datetime.timedelta(hours=3)))
    assert build_restart_patch(moment) == {
        "spec": {"template": {"metadata": {"annotations": {ANNOTATION_RESTARTED_AT: "2026-11-27T00:17:05+00:00"}}}}
    }


def test_long_names_stay_valid_and_distinct() -> None:
    long_a, long_b = "a" * 100 + "-one", "a" * 100 + "-two"
    assert len(worker_name(long_a)) <= 63 and worker_name(long_a) != worker_name(long_b)
    assert len(bot_label(long_a)) <= 63 and bot_label(long_a) != bot_label(long_b)
    assert worker_name("Ivanov_42") == "wbsupply-bot-ivanov-42"


def test_restart_window_is_spread_over_the_hour() -> None:
    offsets = [restart_offset(f"bot-{n}") for n in range(200)]
    assert all(datetime.timedelta(0) <= offset < RESTART_WINDOW for offset in offsets)
    assert len(set(offsets)) > 190  # practically all different
    # Both halves of the hour are used.
    assert min(offsets) < RESTART_WINDOW / 4 and max(offsets) > RESTART_WINDOW * 3 / 4
    moment = restart_moment(datetime.date(2026, 11, 27), "bot-1")
    assert moment.time() >= RESTART_WINDOW_START


@pytest.mark.parametrize(
    ("spec", "last", "now_offset", "due"),
    [
        (SPEC, "2026-11-26T09:00:00Z", datetime.timedelta(seconds=1), True),
        (SPEC, "2026-11-26T09:00:00Z", -datetime.timedelta(seconds=1), False),  # not yet
        (SPEC, None, datetime.timedelta(seconds=1), True),  # counts from creation
        (SPEC | {"paused": True}, "2026-11-26T09:00:00Z", datetime.timedelta(seconds=1), False),
        (SPEC | {"restartWindow": {"enabled": False}}, "2026-11-26T09:00:00Z", datetime.timedelta(seconds=1), False),
    ],
)
def test_restart_due(spec: dict[str, Any], last: str | None, now_offset: datetime.timedelta, due: bool) -> None:
    now = restart_moment(datetime.date(2026, 11, 27), "ivanov-42") + now_offset
    status = {"lastRestart": last} if last else {}
    assert restart_due("ivanov-42", spec, status, "2026-11-20T10:00:00Z", now) is due


def test_restarted_bot_is_not_due_again_the_same_day() -> None:
    moment = restart_moment(datetime.date(2026, 11, 27), "ivanov-42")
    stamp = (moment + datetime.timedelta(seconds=2)).astimezone(datetime.UTC).isoformat()
    later = moment + datetime.timedelta(hours=20)
    assert not restart_due("ivanov-42", SPEC, {"lastRestart": stamp}, None, later)


def test_initial_phase() -> None:
    assert initial_phase(SPEC, {}) == "INITIALIZING"
    assert initial_phase(SPEC | {"paused": True}, {"phase": "ACTIVE"}) == "STOPPED"
    assert initial_phase(SPEC, {"phase": "STOPPED"}) == "INITIALIZING"
    assert initial_phase(SPEC, {"phase": "ACTIVE"}) is None  # the worker's report stands


def test_replicas_get_distinct_peering_priorities() -> None:
    config = OperatorConfig()
    first, second = "wbsupply-operator-7d9f-abcde", "wbsupply-operator-7d9f-xyz12"
    assert peering_priority(config, first) != peering_priority(config, second)
    assert peering_priority(OperatorConfig(priority=7), "anything") == 7


def test_scheduling_of_worker_pods_comes_from_the_operator_settings() -> None:
    assert {"imagePullSecrets", "nodeSelector", "tolerations", "priorityClassName"}.isdisjoint(pod())
    toleration = {"key": "kwok.x-k8s.io/node", "operator": "Exists", "effect": "NoSchedule"}
    config = OperatorConfig(
        worker_image_pull_secrets=["regcred", {"name": "mirror"}],
        worker_node_selector={"type": "kwok"},
        worker_tolerations=[toleration],
        worker_priority_class_name="wbsupply-bots",
    )
    spec = pod(config=config)
    assert spec["imagePullSecrets"] == [{"name": "regcred"}, {"name": "mirror"}]
    assert spec["nodeSelector"] == {"type": "kwok"}
    assert spec["tolerations"] == [toleration]
    assert spec["priorityClassName"] == "wbsupply-bots"


def test_scheduling_settings_are_read_as_the_chart_renders_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WBSUPPLY_OPERATOR_WORKER_IMAGE_PULL_SECRETS", '[{"name": "regcred"}]')
    monkeypatch.setenv("WBSUPPLY_OPERATOR_WORKER_NODE_SELECTOR", '{"type": "kwok"}')
    monkeypatch.setenv("WBSUPPLY_OPERATOR_WORKER_TOLERATIONS", '[{"operator": "Exists"}]')
    monkeypatch.setenv("WBSUPPLY_OPERATOR_WORKER_PRIORITY_CLASS_NAME", "")
    spec = pod(config=OperatorConfig())
    assert spec["imagePullSecrets"] == [{"name": "regcred"}]
    assert spec["nodeSelector"] == {"type": "kwok"}
    assert spec["tolerations"] == [{"operator": "Exists"}]
    assert "priorityClassName" not in spec
