"""Helpers of the deployment tests: CRD schemas as JSON Schema, Kubernetes validation (imported by name)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parents[2]
CRDS = ROOT / "crds"
CHART = ROOT / "charts" / "wbsupply"
# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion >=1.29); strict = unknown fields fail.
KUBE_VERSION = "1.29"


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def crd(name: str) -> dict[str, Any]:
    return load_yaml(CRDS / f"{name}.yaml")


def crd_schema(crd_body: dict[str, Any]) -> dict[str, Any]:
    """The openAPIV3Schema as a JSON Schema that also rejects fields the API server would prune.

    The API server silently drops unknown fields; a typo in an example would then pass unnoticed,
    so here objects with declared properties get ``additionalProperties: false``.
    """
    schema = copy.deepcopy(crd_body["spec"]["versions"][0]["schema"]["openAPIV3Schema"])

    def close(node: dict[str, Any]) -> None:
        if node.get("type") == "object" and "properties" in node:
            if not node.get("x-kubernetes-preserve-unknown-fields"):
                node.setdefault("additionalProperties", False)
            node["properties"].setdefault("apiVersion", {"type": "string"})
            node["properties"].setdefault("kind", {"type": "string"})
            node["properties"].setdefault("metadata", {"type": "object"})
            for child in node["properties"].values():
                close(child)
        if isinstance(node.get("items"), dict):
            close(node["items"])

    close(schema)
    return schema


def validate_custom(body: dict[str, Any]) -> None:
    """A custom resource against its CRD (kubernetes-validate knows only built-in kinds)."""
    plural = {
        "SellerBot": "sellerbots.wbsupply.io",
        "SupplyTask": "supplytasks.wbsupply.io",
        "ClusterKopfPeering": "clusterkopfpeerings.kopf.dev",
    }[body["kind"]]
    definition = crd(plural)
    assert body["apiVersion"] == f"{definition['spec']['group']}/{definition['spec']['versions'][0]['name']}"
    jsonschema.Draft202012Validator(
        crd_schema(definition), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(body)


def validate_manifest(body: dict[str, Any]) -> None:
    """Any manifest: built-in kinds with kubernetes-validate (strict), ours against the CRDs."""
    if body["apiVersion"].startswith(("wbsupply.io/", "kopf.dev/")):
        validate_custom(body)
    else:
        kubernetes_validate.validate(body, KUBE_VERSION, strict=True)
