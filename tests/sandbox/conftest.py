"""Fixtures of the WB sandbox tests: a market without a server, and a live sandbox on a free loopback port."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from wbsupply.sandbox.app import SandboxConfig
from wbsupply.sandbox.clock import SandboxClock
from wbsupply.sandbox.market import Market
from wbsupply.sandbox.simulation import SimulationConfig
from wbsupply.sandbox.testing import RunningSandbox, run_sandbox_in_thread

# 09:00 Moscow: far from midnight, so tests that jump hours stay on one calendar day
START = datetime(2026, 7, 1, 6, 0, tzinfo=UTC)
SPEC_DIR = Path(__file__).parent / "wb-openapi"


@pytest.fixture
def clock() -> SandboxClock:
    """A stopped clock: only ``advance`` moves it, so every expiry in a test is exact."""
    return SandboxClock(speed=0, start=START)


@pytest.fixture
def market(clock: SandboxClock) -> Market:
    """A frozen market (no random openings, no competitors): tests open slots themselves."""
    return Market(seed=7, clock=clock, sim=SimulationConfig.frozen(), pow_difficulty=4)


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    """Override in a test module to run the sandbox differently (speed, live simulation, ...)."""
    return SandboxConfig(seed=7, pow_difficulty=4, simulation=SimulationConfig.frozen(), background_steps=False)


@pytest.fixture
def sandbox(sandbox_config: SandboxConfig) -> Iterator[RunningSandbox]:
    """The whole sandbox (public API, control API, cabinet) served on a free loopback port."""
    running = run_sandbox_in_thread(sandbox_config)
    try:
        yield running
    finally:
        running.stop()


class WBSpecs:
    """The official WB OpenAPI specs, to validate the sandbox's real HTTP responses against.

    The specs' servers are WB hosts, so each sandbox response is paired with a request to the WB server that
    the spec names for the path; openapi-core then finds the operation and checks status, media type and body.
    """

    FILES = ("01-general.2026-07-22.yaml", "07-orders-fbw.2026-07-22.yaml", "10-rates.2026-07-22.yaml")

    def __init__(self, directory: Path = SPEC_DIR) -> None:
        config = Config(extra_media_type_deserializers={"application/problem+json": json.loads})
        self.routes: list[tuple[re.Pattern[str], str, OpenAPI, dict[str, Any]]] = []
        for name in self.FILES:
            document = yaml.safe_load((directory / name).read_text(encoding="utf-8"))
            api = OpenAPI.from_dict(document, config=config)
            for template, item in document["paths"].items():
                servers = item.get("servers") or document.get("servers") or [{"url": "https://example.invalid"}]
                pattern = re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", template) + "$")
                self.routes.append((pattern, servers[0]["url"], api, document))
        self.schemas = {k: v for *_, d in self.routes for k, v in d["components"].get("schemas", {}).items()}

    def validate(self, response: httpx.Response) -> Any:
        """Raise unless ``response`` is what the spec allows for its request; return the decoded body."""
        request = response.request
        path = request.url.path
        route = next((r for r in self.routes if r[0].match(path)), None)
        assert route is not None, f"no WB spec describes {path}"
        _, host, api, _ = route
        content_type = response.headers.get("content-type", "application/json").split(";")[0]
        mock_request = MockRequest(host, request.method.lower(), path, args=dict(request.url.params))
        mock_response = MockResponse(response.content, response.status_code, dict(response.headers), content_type)
        api.validate_response(mock_request, mock_response)
        return response.json() if response.content else None

    def properties(self, schema: str) -> set[str]:
        return set(self.schemas[schema]["properties"])


@pytest.fixture(scope="session")
def wb_specs() -> WBSpecs:
    return WBSpecs()
