"""What every process of wbsupply shares: the component protocol, the process context, one quiet uvicorn
server, run-until-signal, the feed factory and the service secret.

Components (API, monitor, worker supervisor, notifier) import this module, :mod:`wbsupply.config` and
:mod:`wbsupply.feed`; only the composition root (:mod:`wbsupply.runtime`) and the CLI assemble them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from wbsupply.config import Settings
from wbsupply.feed.base import SlotFeed

if TYPE_CHECKING:
    import uvicorn
    from sqlalchemy import Engine

    from wbsupply.monitor.service import Monitor
    from wbsupply.worker.health import HealthState


class StartupError(RuntimeError):
    """A component cannot start at all (e.g. its port is taken): restarting would not help."""


class Component(Protocol):
    """A part of a process: runs until ``stop`` is set, then returns."""

    name: str

    async def run(self, stop: asyncio.Event) -> None: ...


@dataclass
class ProcessContext:
    """What the components of one process share."""

    settings: Settings
    feed: SlotFeed
    status: dict[str, str] = field(default_factory=dict)  # component name -> state, for /healthz and the admin
    engine: Engine | None = None  # a test or the bench may hand one in; otherwise each opens the configured one
    monitor: Monitor | None = None  # set by the monitor component once it runs (the admin's live view)
    worker_health: HealthState | None = None  # set by the worker supervisor
    # The embedded WB sandbox's market (``wbsupply up`` with the sandbox on): first-start hints, the demo
    # monitor account. Typed loosely on purpose: the product does not import the sandbox.
    sandbox_market: Any = None


def quiet_server(config: uvicorn.Config) -> uvicorn.Server:
    """A uvicorn server that leaves SIGINT/SIGTERM to the process (several servers may share one loop).

    uvicorn is imported here, not at the top: a worker process serves no ASGI app and should not load it.
    """
    import uvicorn

    class QuietServer(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    return QuietServer(config)


class HttpComponent:
    """Serves an ASGI app inside the shared event loop until ``stop`` is set."""

    def __init__(self, name: str, app: Any, host: str, port: int, **options: Any) -> None:
        self.name = name
        self.url = f"http://{host}:{port}"
        self._config = {"app": app, "host": host, "port": port, "log_level": "warning", "lifespan": "on",
                        "proxy_headers": False, **options}
        self._served = False

    async def run(self, stop: asyncio.Event) -> None:
        import uvicorn

        server = quiet_server(uvicorn.Config(**self._config))  # a fresh server on every (re)start

        async def exit_on_stop() -> None:
            await stop.wait()
            server.should_exit = True

        watcher = asyncio.create_task(exit_on_stop())
        try:
            # Awaited here, not in a task of its own: uvicorn's SystemExit on a bind error must be caught
            # in this frame, since asyncio lets a task's SystemExit escape the whole loop.
            await server.serve()
        except SystemExit:
            message = f"{self.name}: cannot listen on {self.url} (port in use?)"
            raise (RuntimeError(message) if self._served else StartupError(message)) from None
        finally:
            self._served = self._served or server.started
            watcher.cancel()


def run_until_signal(main: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    """``asyncio.run(main(stop))`` where SIGINT and SIGTERM set ``stop`` (a clean stop, no traceback)."""

    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await main(stop)

    asyncio.run(runner())


def make_feed(settings: Settings) -> SlotFeed:
    """The slot feed the settings name: Redis in the cluster, else the in-process one."""
    if settings.redis_url:
        from wbsupply.feed.redis import RedisFeed

        return RedisFeed(settings.redis_url, maxlen=settings.events_stream_maxlen)
    from wbsupply.feed.memory import MemoryFeed

    return MemoryFeed(settings.events_stream_maxlen)


def proxy_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's forwarded-header options: off unless proxies are configured (uvicorn's own default trusts
    X-Forwarded-For from loopback, which lets anyone on the machine pick their address for the login limiter)."""
    trusted = settings.forwarded_allow_ips.strip()
    return {"proxy_headers": True, "forwarded_allow_ips": trusted} if trusted else {"proxy_headers": False}


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


def private_files() -> None:
    """Files this process creates (database, WAL, secret key, browser profiles) are the owner's only."""
    os.umask(0o077)
