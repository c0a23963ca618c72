"""The embedded runtime: every component in one process, one event loop, on embedded defaults.

Each component is an object with a ``name`` and ``async run(stop)`` that returns once ``stop`` is set; the
runtime starts them together and stops them together, so Ctrl-C ends the process cleanly (no traceback, no
child processes left behind).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import uvicorn

from wbsupply.config import Settings
from wbsupply.feed.memory import MemoryFeed

log = logging.getLogger("wbsupply.runtime")

STOP_GRACE_SECONDS = 10.0


class Component(Protocol):
    name: str

    async def run(self, stop: asyncio.Event) -> None: ...


@dataclass
class Runtime:
    """What the components of one process share."""

    settings: Settings
    feed: MemoryFeed
    status: dict[str, str] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)


class _QuietServer(uvicorn.Server):
    """uvicorn server that leaves signal handling to the runtime (several servers share one loop)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class HttpComponent:
    """Serves an ASGI app inside the shared event loop until ``stop`` is set."""

    def __init__(self, name: str, app: Any, host: str, port: int) -> None:
        self.name = name
        self.url = f"http://{host}:{port}"
        self._server = _QuietServer(
            uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
        )

    async def run(self, stop: asyncio.Event) -> None:
        async def exit_on_stop() -> None:
            await stop.wait()
            self._server.should_exit = True

        watcher = asyncio.create_task(exit_on_stop())
        try:
            # Awaited here, not in a task of its own: uvicorn's SystemExit on a bind error must be caught
            # in this frame, since asyncio lets a task's SystemExit escape the whole loop.
            await self._server.serve()
        except SystemExit:
            raise RuntimeError(f"{self.name}: cannot listen on {self.url} (port in use?)") from None
        finally:
            watcher.cancel()


def ensure_secret_key(settings: Settings) -> str:
    """The configured secret, else one generated once into the data folder (readable by the owner only)."""
    if settings.secret_key:
        return settings.secret_key.get_secret_value()
    path = Path(settings.data_dir) / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48))
    return path.read_text().strip()


async def run_components(components: list[Component], stop: asyncio.Event) -> None:
    """Run all components; the first to fail stops the others, and its error is raised."""
    tasks = {asyncio.create_task(c.run(stop), name=c.name): c for c in components}
    failure: BaseException | None = None
    pending = set(tasks)
    while pending:
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task.exception() is not None and failure is None:
                failure = task.exception()
                log.error("component %s failed: %s", task.get_name(), failure)
            stop.set()
        if stop.is_set() and pending:
            _, late = await asyncio.wait(pending, timeout=STOP_GRACE_SECONDS)
            for task in late:
                log.warning("component %s did not stop in %.0f s; cancelling", task.get_name(), STOP_GRACE_SECONDS)
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
            pending = set()
    if failure is not None:
        raise failure


def build_embedded_components(runtime: Runtime) -> list[Component]:
    from wbsupply.api.app import create_app as create_api

    settings = runtime.settings
    components: list[Component] = []
    if settings.sandbox_enabled:
        from wbsupply.sandbox.app import SandboxConfig
        from wbsupply.sandbox.app import create_app as create_sandbox

        sandbox_app = create_sandbox(SandboxConfig(seed=settings.sandbox_seed, speed=settings.sandbox_speed,
                                                   public_api=settings.sandbox_public_api))
        runtime.extras["sandbox_market"] = sandbox_app.state.market
        components.append(HttpComponent("sandbox", sandbox_app, settings.sandbox_host, settings.sandbox_port))
    components.append(HttpComponent("api", create_api(runtime), settings.api_host, settings.api_port))

    from wbsupply.monitor.entry import MonitorComponent
    from wbsupply.notify.main import NotifierComponent
    from wbsupply.worker.main import Supervisor

    components.append(MonitorComponent(runtime))
    if settings.sandbox_enabled:
        from wbsupply.monitor.demo import DemoMonitorAccount

        components.append(DemoMonitorAccount(runtime))
    components.append(Supervisor(runtime))
    components.append(NotifierComponent(settings))
    return components


def _first_start(runtime: Runtime) -> None:
    """Admin and demo seller on the very first start; their passwords go to the terminal once, not to logs."""
    from wbsupply.api.bootstrap import DEMO_PHONE, ensure_first_users, ensure_sandbox_seller
    from wbsupply.store import make_engine

    engine = make_engine(runtime.settings.resolved_database_url())
    market = runtime.extras.get("sandbox_market")
    from wbsupply.monitor.demo import monitor_account_hint

    try:
        lines = ensure_first_users(engine, runtime.settings, market)
        hint = monitor_account_hint(runtime.settings, engine)
    finally:
        engine.dispose()
    if market is not None:
        # The sandbox lives in memory: its demo draft is new on every start, so say which it is each time.
        draft = ensure_sandbox_seller(market)
        lines.append(f"Песочница WB: телефон {DEMO_PHONE}, черновик поставки для задачи: {draft}")
    if hint:
        lines.append(hint)
    if lines:
        print("\n".join(lines), flush=True)


async def _main(settings: Settings) -> None:
    runtime = Runtime(settings=settings, feed=MemoryFeed(settings.events_stream_maxlen))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    components = build_embedded_components(runtime)
    _first_start(runtime)
    log.info("wbsupply is up: cabinet on http://%s:%s (Ctrl-C stops)", settings.api_host, settings.api_port)
    await run_components(components, stop)
    log.info("wbsupply stopped")


def run_embedded(settings: Settings) -> None:
    from wbsupply.store.engine import upgrade

    try:
        Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
        ensure_secret_key(settings)
        upgrade(settings.resolved_database_url())
        asyncio.run(_main(settings))
    except (OSError, RuntimeError) as exc:
        # A port in use or a broken data folder: say so in one line, not a traceback.
        log.error("wbsupply could not run: %s", exc)
        raise SystemExit(1) from None
