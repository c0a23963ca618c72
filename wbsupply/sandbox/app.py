"""The sandbox server: one market, its public API, control API and seller cabinet on one FastAPI app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime

from fastapi import FastAPI

from wbsupply.process import HttpComponent, ProcessContext
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


def embedded_sandbox(context: ProcessContext) -> HttpComponent:
    """The sandbox as a component of ``wbsupply up`` (the CLI hands this to the runtime); its market goes
    into the process context for the first-start hints and the demo monitor account."""
    settings = context.settings
    app = create_app(SandboxConfig(seed=settings.sandbox_seed, speed=settings.sandbox_speed,
                                   public_api=settings.sandbox_public_api))
    context.sandbox_market = app.state.market
    return HttpComponent("sandbox", app, settings.sandbox_host, settings.sandbox_port)
