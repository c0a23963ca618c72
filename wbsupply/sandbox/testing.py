"""The sandbox served from a thread, for the tests and the benchmarks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

from wbsupply.sandbox.app import SandboxConfig, create_app
from wbsupply.sandbox.market import Market
from wbsupply.testkit import ServedApp, serve_in_thread


@dataclass
class RunningSandbox:
    url: str
    market: Market
    app: FastAPI
    _served: ServedApp

    def stop(self, timeout: float = 10) -> None:
        self._served.stop(timeout)


def run_sandbox_in_thread(config: SandboxConfig | None = None, host: str = "127.0.0.1", port: int = 0,
                          market: Market | None = None, timeout: float = 15, **uvicorn_options: Any
                          ) -> RunningSandbox:
    """Serve the sandbox from a daemon thread (port 0: a free one) and return once it accepts connections."""
    app = create_app(config, market)
    served = serve_in_thread(app, host, port, name="wb-sandbox", timeout=timeout, **uvicorn_options)
    return RunningSandbox(served.url, app.state.market, app, served)
