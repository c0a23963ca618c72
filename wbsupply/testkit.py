"""Helpers for the tests and the benchmarks (not used by the product): a free port, an ASGI app served from a
thread, waiting for a condition (:func:`eventually`, :func:`wait_until`).
"""

from __future__ import annotations

import asyncio
import inspect
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:  # uvicorn only where an app is served: benchmarks measure their processes' memory
    import uvicorn

# What a check may raise while the awaited state is still coming (a key not there yet, an assertion not met).
NOT_YET: tuple[type[BaseException], ...] = (AssertionError, LookupError, TypeError)
# ... and, from outside the process, a server not answering yet or a half-written JSON answer.
NOT_YET_OUTSIDE: tuple[type[BaseException], ...] = (*NOT_YET, ValueError, httpx.HTTPError)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class ServedApp:
    """An ASGI app served by uvicorn from a daemon thread."""

    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self, timeout: float = 10) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)


def serve_in_thread(app: Any, host: str = "127.0.0.1", port: int = 0, *, name: str = "app", timeout: float = 15,
                    **uvicorn_options: Any) -> ServedApp:
    """Serve ``app`` from a daemon thread (port 0: a free one) and return once it accepts connections."""
    port = port or free_port(host)
    import uvicorn

    options: dict[str, Any] = {"log_level": "warning", "lifespan": "on", **uvicorn_options}
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, **options))
    thread = threading.Thread(target=server.run, name=f"{name}-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"{name} did not start on {host}:{port}")
        time.sleep(0.02)
    return ServedApp(f"http://{host}:{port}", server, thread)


async def eventually(check: Callable[[], Any], within: float = 30.0, what: str = "", *, step: float = 0.02,
                     errors: tuple[type[BaseException], ...] = NOT_YET) -> Any:
    """Poll ``check`` (it may return an awaitable) until it returns something truthy; that value is returned.

    ``errors`` count as "not yet"; after ``within`` seconds the last value or error is reported.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    last: Any = None
    while True:
        try:
            last = check()
            if inspect.isawaitable(last):
                last = await last
            if last:
                return last
        except errors as exc:
            last = exc
        if loop.time() > deadline:
            raise AssertionError(f"not within {within} s: {what or check}; last: {last!r}")
        await asyncio.sleep(step)


def wait_until(check: Callable[[], Any], within: float = 30.0, what: str = "", *, step: float = 0.1) -> Any:
    """:func:`eventually` for synchronous code; errors in :data:`NOT_YET_OUTSIDE` mean "not yet". A plain loop,
    not an event loop, so a check may itself wait (nested calls)."""
    deadline = time.monotonic() + within
    last: Any = None
    while True:
        try:
            last = check()
            if last:
                return last
        except NOT_YET_OUTSIDE as exc:
            last = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within} s: {what or check}; last: {last!r}")
        time.sleep(step)
