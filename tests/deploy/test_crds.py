"""CRDs: valid Kubernetes objects, structural schemas, in step with the domain model, examples valid."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from deploy_helpers import CHART, CRDS, crd, load_yaml, validate_custom, validate_manifest

from wbsupply.domain.statuses import BotStatus, BoxType, TaskMode, TaskPhase
from wbsupply.domain.tariffs import Plan
from wbsupply.domain.tasks import SupplyTaskSpec
from wbsupply.operator.tasks import CRD_ONLY_FIELDS, snake_case, to_domain

CRD_FILES = sorted(path.name for path in CRDS.glob("*.yaml"))


def spec_schema(name: str) -> dict[str, Any]:
    return crd(name)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]


def status_schema(name: str) -> dict[str, Any]:
    return crd(name)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"]


@pytest.mark.parametrize("filename", CRD_FILES)
def test_crd_is_a_valid_kubernetes_object(filename: str) -> None:
    validate_manifest(load_yaml(CRDS / filename))


def _walk(node: dict[str, Any], path: str = "") -> list[str]:
    """Violations of the structural-schema rules the API server enforces for apiextensions/v1."""
    problems = []
    if (
        "type" not in node
        and not node.get("x-kubernetes-preserve-unknown-fields")
        and not node.get("x-kubernetes-int-or-string")
    ):
        problems.append(f"{path or '/'}: no type")
    if node.get("uniqueItems"):
        problems.append(f"{path}: uniqueItems is forbidden (use x-kubernetes-list-type: set)")
    for key in ("$ref", "additionalItems", "patternProperties", "definitions", "dependencies"):
        if key in node:
            problems.append(f"{path}: {key} is not allowed")
    for name, child in (node.get("properties") or {}).items():
        problems += _walk(child, f"{path}/{name}")
    if isinstance(node.get("items"), dict):
        problems += _walk(node["items"], f"{path}[]")
    return problems


@pytest.mark.parametrize("filename", CRD_FILES)
def test_crd_schema_is_structural(filename: str) -> None:
    for version in load_yaml(CRDS / filename)["spec"]["versions"]:
        assert _walk(version["schema"]["openAPIV3Schema"]) == []


@pytest.mark.parametrize(("name", "short"), [("sellerbots.wbsupply.io", "sb"), ("supplytasks.wbsupply.io", "st")])
def test_crd_has_status_subresource_short_name_and_columns(name: str, short: str) -> None:
    version = crd(name)["spec"]["versions"][0]
    assert crd(name)["spec"]["names"]["shortNames"] == [short]
    assert version["subresources"] == {"status": {}}
    columns = {column["name"]: column["jsonPath"] for column in version["additionalPrinterColumns"]}
    assert columns["Phase"] == ".status.phase"
    assert "Age" in columns


def test_chart_ships_exactly_the_crds_and_examples_of_the_repository() -> None:
    def files(folder: Path) -> dict[str, bytes]:
        return {path.name: path.read_bytes() for path in folder.glob("*.yaml")}

    assert files(CHART / "files" / "crds") == files(CRDS)
    assert files(CHART / "files" / "examples") == files(CRDS / "examples")
    assert not (CHART / "crds").exists()  # Helm's crds/ folder is never upgraded: they are templates now


def test_enums_follow_the_domain() -> None:
    bot, task = spec_schema("sellerbots.wbsupply.io"), spec_schema("supplytasks.wbsupply.io")
    assert status_schema("sellerbots.wbsupply.io")["properties"]["phase"]["enum"] == [s.value for s in BotStatus]
    assert status_schema("sellerbots.wbsupply.io")["properties"]["observedPhase"]["enum"] == [
        s.value for s in BotStatus
    ]
    assert bot["properties"]["tariff"]["enum"] == [plan.value for plan in Plan]
    assert status_schema("supplytasks.wbsupply.io")["properties"]["phase"]["enum"] == [p.value for p in TaskPhase]
    assert task["properties"]["boxType"]["enum"] == [b.value for b in BoxType]
    assert status_schema("supplytasks.wbsupply.io")["properties"]["bookedSlot"]["properties"]["boxType"]["enum"] == [
        b.value for b in BoxType
    ]
    assert task["properties"]["mode"]["enum"] == [m.value for m in TaskMode]
    assert task["properties"]["mode"]["default"] == SupplyTaskSpec.model_fields["mode"].default.value


def test_supplytask_spec_represents_every_domain_field() -> None:
    properties = spec_schema("supplytasks.wbsupply.io")["properties"]
    crd_fields = {snake_case(name) for name in properties if name not in CRD_ONLY_FIELDS}
    assert crd_fields == set(SupplyTaskSpec.model_fields)
    required = {snake_case(name) for name in spec_schema("supplytasks.wbsupply.io")["required"]} - {"seller_bot_ref"}
    assert required == {name for name, field in SupplyTaskSpec.model_fields.items() if field.is_required()}


def test_weekday_range_matches_the_domain() -> None:
    items = spec_schema("supplytasks.wbsupply.io")["properties"]["weekdays"]["items"]
    accepted = {day for day in range(-1, 9) if _domain_accepts_weekday(day)}
    assert accepted == set(range(items["minimum"], items["maximum"] + 1))


def _domain_accepts_weekday(day: int) -> bool:
    try:
        SupplyTaskSpec(account_id="1", preorder_id=1, warehouses=[1], box_type=BoxType.BOXES, weekdays=frozenset({day}))
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("filename", ["sellerbot.yaml", "supplytask.yaml"])
def test_examples_validate(filename: str) -> None:
    validate_custom(load_yaml(CRDS / "examples" / filename))


def test_example_task_is_a_valid_domain_spec() -> None:
    spec = to_domain(load_yaml(CRDS / "examples" / "supplytask.yaml")["spec"])
    assert spec.warehouses == [507, 120762]


@pytest.mark.parametrize(
    ("filename", "path", "value"),
    [
        ("sellerbot.yaml", ("spec", "tariff"), "gold"),
        ("sellerbot.yaml", ("spec", "resources", "memoryLimit"), "lots"),
        ("sellerbot.yaml", ("spec", "restartWindow", "start"), "03:00"),  # unknown field
        ("supplytask.yaml", ("spec", "boxType"), "crate"),
        ("supplytask.yaml", ("spec", "maxCoefficient"), -1),
        ("supplytask.yaml", ("spec", "warehouses"), []),
        ("supplytask.yaml", ("spec", "weekdays"), [7]),
        ("supplytask.yaml", ("spec", "deadline"), "tomorrow"),
    ],
)
def test_schema_rejects_bad_examples(filename: str, path: tuple[str, ...], value: Any) -> None:
    body = copy.deepcopy(load_yaml(CRDS / "examples" / filename))
    node = body
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    with pytest.raises(jsonschema.ValidationError):
        validate_custom(body)
