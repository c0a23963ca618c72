"""Helpers for the tests and the benchmarks (not used by the product): a free port, an ASGI app served from a
thread, waiting for a condition (:func:`eventually`, :func:`wait_until`), a fresh seller's phone number and
sandbox seller (:func:`new_phone`, :func:`fresh_seller`, :func:`fresh_preorder`).
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import os
import random
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


# A run prefix (4 random digits) and a counter: unique within the process, and two processes (two runs against
# one long-lived sandbox) share a number only if their prefixes meet, 1 in 9 000. The prefix never starts with
# 9: +7999… is where the demo's own numbers live (api.bootstrap, monitor.demo).
_PHONE_PREFIX = f"{random.Random(os.urandom(8)).randrange(9_000):04d}"
_phone_numbers = itertools.count(1)
FRESH_GOODS = (("2040000000017", 10),)  # one barcode the sandbox knows
FRESH_WAREHOUSE_ID = 507  # Коледино takes every box type


def new_phone() -> str:
    """A valid Russian mobile number (``+79…``, 12 characters) that no other call in this process returns.

    For a test's seller or WB account instead of a hand-picked number: two tests never meet on one against a
    shared sandbox, and a number in a test is never meaningful by accident.
    """
    number = next(_phone_numbers)
    if number >= 100_000:
        raise RuntimeError("new_phone: 99 999 numbers used in one process")
    return f"+79{_PHONE_PREFIX}{number:05d}"


def as_typed(phone: str, prefix: str = "8") -> str:
    """``+79161234567`` → ``8 (916) 123-45-67`` (or ``+7 (916) …`` with ``prefix="+7"``, as WB's own login form
    takes it): a :func:`new_phone` number the way a seller types it."""
    return f"{prefix} ({phone[2:5]}) {phone[5:8]}-{phone[8:10]}-{phone[10:]}"


def fresh_seller(market: Any, *, suppliers: int = 1, name: str | None = None) -> Any:
    """A new seller of the sandbox ``market`` (:class:`wbsupply.sandbox.market.Market`) with a :func:`new_phone`
    number and ``suppliers`` suppliers (a sole trader first)."""
    return market.create_seller(name=name, phone=new_phone(), suppliers=suppliers)


def fresh_preorder(market: Any, seller: Any, warehouse_id: int = FRESH_WAREHOUSE_ID, box_type: str = "boxes",
                   *, supplier: int = 0) -> Any:
    """A draft with :data:`FRESH_GOODS` and its preorder to ``warehouse_id`` for the seller's ``supplier``-th
    supplier; returns the sandbox's preorder."""
    supplier_id = seller.suppliers[supplier].id
    draft = market.create_draft(supplier_id, list(FRESH_GOODS))
    return market.create_preorder(supplier_id, draft.id, warehouse_id, box_type)


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
