"""Helpers of the operator tests (imported by name: conftest modules of sibling folders would clash)."""

from __future__ import annotations

import datetime
from pathlib import Path

import kmock
import yaml

ROOT = Path(__file__).resolve().parents[2]
NAMESPACE = "sellers"
START = datetime.datetime(2026, 11, 26, 9, 0, tzinfo=datetime.UTC)  # 12:00 Moscow, outside the restart window


class FakeClock:
    """Wall clock of the operator under test; the test moves it (restart windows, deadlines)."""

    def __init__(self, now: datetime.datetime) -> None:
        self.now = now

    def __call__(self) -> datetime.datetime:
        return self.now


def register_crds(emulator: kmock.KubernetesEmulator) -> None:
    """Built-in resources plus our CRDs (the emulator serves no CRD objects, so discovery is declared)."""
    emulator.resources.load_bundled()
    for path in sorted((ROOT / "crds").glob("*.wbsupply.io.yaml")):
        crd = yaml.safe_load(path.read_text())
        names = crd["spec"]["names"]
        emulator.resources[f"{crd['spec']['group']}/v1alpha1/{names['plural']}"] = kmock.ResourceInfo(
            kind=names["kind"],
            singular=names["singular"],
            namespaced=True,
            shortnames=set(names["shortNames"]),
            verbs={"get", "list", "watch", "create", "patch", "update", "delete"},
            subresources={"status"},
        )


