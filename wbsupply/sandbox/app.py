"""The sandbox server: one market, its public API, control API and seller cabinet on one FastAPI app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import uvicorn
from fastapi import FastAPI

from wbsupply.sandbox import cabinet, control_api, public_api
from wbsupply.sandbox.clock import SandboxClock
from wbsupply.sandbox.market import Market
from wbsupply.sandbox.ratelimit import RateLimiter
from wbsupply.sandbox.simulation import SimulationConfig

log = logging.getLogger(__name__)

STEP_INTERVAL_S = 0.5  # wall-clock period of the background simulation step


@dataclass
class SandboxConfig:
    seed: int = 42
    speed: float = 1.0  # 0 stops the clock (tests move it through the control API)
    start: datetime | None = None  # sandbox time at startup; now by default
    pow_difficulty: int = 12
    simulation: SimulationConfig = field(default_factory=SimulationConfig)
    background_steps: bool = True  # reads step the market lazily anyway; this keeps events flowing when idle
    public_api: bool = True  # False: coefficients/options/warehouses answer "temporarily disabled", as WB today


def create_app(config: SandboxConfig | None = None, market: Market | None = None) -> FastAPI:
    config = config or SandboxConfig()
    if market is None:
        market = Market(seed=config.seed, clock=SandboxClock(config.speed, config.start),
                        pow_difficulty=config.pow_difficulty, sim=config.simulation)
    if not config.public_api:
        market.public_api_disabled = True
    limiter = RateLimiter(market.clock)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(_simulate(market)) if config.background_steps else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app = FastAPI(title="WB sandbox (wbsupply)", lifespan=lifespan, docs_url="/sandbox/docs",
                  openapi_url="/sandbox/openapi.json", redoc_url=None)
    app.state.market = market
    app.state.rate_limiter = limiter
    app.state.config = config
    app.include_router(public_api.build_router(market, limiter))
    app.include_router(control_api.build_router(market, limiter))
    app.include_router(cabinet.build_router(market))
    return app


async def _simulate(market: Market) -> None:
    while True:
        try:
            market.step()
        except Exception:  # the simulation must not die with one bad event; the next step retries
            log.exception("sandbox market step failed")
        await asyncio.sleep(STEP_INTERVAL_S)


@dataclass
class RunningSandbox:
    url: str
    market: Market
    app: FastAPI
    _server: uvicorn.Server
    _thread: threading.Thread

    def stop(self, timeout: float = 10) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def run_sandbox_in_thread(config: SandboxConfig | None = None, host: str = "127.0.0.1", port: int = 0,
                          market: Market | None = None, timeout: float = 15, **uvicorn_options: Any
                          ) -> RunningSandbox:
    """Serve the sandbox from a daemon thread (port 0: a free one) and return once it accepts connections."""
    app = create_app(config, market)
    port = port or free_port(host)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on",
                                           **uvicorn_options))
    thread = threading.Thread(target=server.run, name=f"wb-sandbox-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the WB sandbox did not start on {host}:{port}")
        time.sleep(0.02)
    return RunningSandbox(f"http://{host}:{port}", app.state.market, app, server, thread)
