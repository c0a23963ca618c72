"""Helpers for the tests and the benchmarks (not used by the product): a free port, an ASGI app served from a
thread, waiting for a condition.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import uvicorn


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
