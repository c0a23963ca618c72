"""Dockerfiles parsed (no Docker engine here): base images, non-root user, health check, entry point."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from deploy_helpers import ROOT, load_yaml

from wbsupply.operator.builders import WORKER_UID

DOCKERFILES = {name: ROOT / "images" / name / "Dockerfile" for name in ("worker", "monitor")}


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text())
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def final_stage(path: Path) -> list[tuple[str, str]]:
    steps = instructions(path)
    last_from = max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM")
    return steps[last_from:]


@pytest.mark.parametrize("name", DOCKERFILES)
def test_image_is_debian_based_and_pinned(name: str) -> None:
    bases = [args.split()[0] for keyword, args in instructions(DOCKERFILES[name]) if keyword == "FROM"]
    assert bases and all(base == "python:3.11-slim-bookworm" for base in bases)


@pytest.mark.parametrize("name", DOCKERFILES)
def test_image_runs_as_the_non_root_user_the_pods_expect(name: str) -> None:
    users = [args for keyword, args in final_stage(DOCKERFILES[name]) if keyword == "USER"]
    assert users == [f"{WORKER_UID}:{WORKER_UID}"]
    chart_values = load_yaml(ROOT / "charts" / "wbsupply" / "values.yaml")
    assert chart_values["podSecurityContext"]["runAsUser"] == WORKER_UID


@pytest.mark.parametrize("name", DOCKERFILES)
def test_image_has_health_check_and_entry_point(name: str) -> None:
    stage = dict(final_stage(DOCKERFILES[name]))
    assert "HEALTHCHECK" in stage and "CMD" in stage["HEALTHCHECK"]
    assert json.loads(stage["ENTRYPOINT"]) == ["wbsupply"]


def test_worker_image_has_the_headless_shell() -> None:
    stage = final_stage(DOCKERFILES["worker"])
    runs = " ".join(args for keyword, args in stage if keyword == "RUN")
    assert "chromium-headless-shell" in runs
    env = " ".join(args for keyword, args in stage if keyword == "ENV")
    assert "WBSUPPLY_BROWSER_EXECUTABLE=/usr/bin/chromium-headless-shell" in env
    assert "/healthz" in dict(stage)["HEALTHCHECK"]


def test_kind_config_is_a_kind_cluster() -> None:
    config = load_yaml(ROOT / "k8s" / "kind-config.yaml")
    assert config["kind"] == "Cluster" and config["apiVersion"].startswith("kind.x-k8s.io/")
    assert {node["role"] for node in config["nodes"]} == {"control-plane", "worker"}
