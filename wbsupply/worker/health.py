"""Health of a worker: memory of its whole process tree and the ``/healthz`` endpoint for probes.

Memory is PSS (proportional set size) from ``/proc/PID/smaps_rollup``, summed over the process and all its
descendants — Python, Playwright's Node driver and every Chromium process. Summed RSS would count the
browser's shared pages once per process and overstate a bot several times.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

PROC = Path("/proc")
CGROUP = Path("/sys/fs/cgroup")  # in a pod: the container's own cgroup (cgroup namespace)
HEARTBEAT_FRESH_S = 120.0
LOOP_LAG_LIMIT_S = 5.0


def _parent_of(pid: int) -> int | None:
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name may contain spaces and parentheses: fields start after the last ')'.
    return int(stat[stat.rindex(")") + 2 :].split()[1])


def descendants(root: int) -> list[int]:
    """``root`` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            parent = _parent_of(int(entry.name))
            if parent is not None:
                children.setdefault(parent, []).append(int(entry.name))
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, ()))
    return found


def pss_bytes(pid: int) -> int:
    """PSS of one process (0 if it is gone or unreadable)."""
    try:
        for line in (PROC / str(pid) / "smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def process_name(pid: int) -> str:
    try:
        return (PROC / str(pid) / "comm").read_text().strip()
    except OSError:
        return "?"


def tree_pss(root: int | None = None) -> int:
    return sum(pss_bytes(pid) for pid in descendants(root or os.getpid()))


def cgroup_memory_bytes(root: Path = CGROUP) -> int | None:
    """What the kernel charges a memory-limited container, as the kubelet counts it; None without a limit.

    The OOM killer acts on the cgroup's charge (memory.current: every process, page cache, kernel memory),
    which exceeds the processes' PSS. The kubelet's "working set" leaves out inactive file cache, which the
    kernel reclaims before killing; this is that figure, for cgroup v2 and v1.
    """
    v2 = (root / "memory.max", root / "memory.current", "inactive_file ")
    v1 = (root / "memory" / "memory.limit_in_bytes", root / "memory" / "memory.usage_in_bytes", "total_inactive_file ")
    for limit_file, usage_file, inactive_key in (v2, v1):
        try:
            limit = limit_file.read_text().strip()
            usage = int(usage_file.read_text())
            stat = (usage_file.parent / "memory.stat").read_text()
        except (OSError, ValueError):
            continue
        if limit == "max" or int(limit) >= 2**60:  # v1 reports "no limit" as a huge number
            return None
        inactive = next((int(line.split()[1]) for line in stat.splitlines() if line.startswith(inactive_key)), 0)
        return max(usage - inactive, 0)
    return None


def pod_memory_bytes() -> int:
    """A worker's memory for the operator's check: its container's cgroup charge in a pod, else the tree's PSS."""
    charged = cgroup_memory_bytes()
    return charged if charged is not None else tree_pss()


def tree_pss_by_kind(root: int | None = None) -> dict[str, int]:
    """PSS grouped as python / driver (node) / browser (everything Chromium spawns)."""
    root = root or os.getpid()
    groups: dict[str, int] = {}
    for pid in descendants(root):
        name = process_name(pid)
        kind = "python" if pid == root else "driver" if name.startswith("node") else "browser"
        groups[kind] = groups.get(kind, 0) + pss_bytes(pid)
    return groups


@dataclass
class HealthState:
    """What the probes look at; bots update it, the endpoint reads it."""

    browser_connected: Callable[[], bool] = lambda: False
    last_heartbeat: float = 0.0  # time.monotonic() of the bot's last heartbeat
    loop_tick: float = field(default_factory=time.monotonic)
    memory_bytes: int | None = None
    bots: dict[int, dict[str, Any]] = field(default_factory=dict)  # bot id -> status, auth, current task
    port: int | None = None  # where /healthz listens (known once bound; port 0 picks a free one)

    def report(self) -> tuple[bool, dict[str, Any]]:
        now = time.monotonic()
        checks = {
            "event_loop": now - self.loop_tick < LOOP_LAG_LIMIT_S,
            "browser": self.browser_connected(),
            "heartbeat": now - self.last_heartbeat < HEARTBEAT_FRESH_S,
        }
        body = {"ok": all(checks.values()), "checks": checks, "memory_bytes": self.memory_bytes,
                "heartbeat_age_s": round(now - self.last_heartbeat, 1), "bots": self.bots}
        return all(checks.values()), body


async def tick(state: HealthState, stop: asyncio.Event) -> None:
    """Proves the event loop runs: a blocked loop stops ticking and the probe fails."""
    while not stop.is_set():
        state.loop_tick = time.monotonic()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)


async def serve_health(state: HealthState, host: str, port: int, stop: asyncio.Event,
                       ready: asyncio.Event | None = None) -> None:
    """A minimal HTTP/1.1 server for ``GET /healthz`` (200 healthy, 503 not); no framework in a bot pod."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = (await asyncio.wait_for(reader.readline(), 5)).decode("latin-1")
            while (await asyncio.wait_for(reader.readline(), 5)) not in (b"\r\n", b"\n", b""):
                pass
            path = request_line.split(" ")[1] if " " in request_line else ""
            if path.split("?")[0] != "/healthz":
                status, body = "404 Not Found", {"error": "not found"}
            else:
                healthy, body = state.report()
                status = "200 OK" if healthy else "503 Service Unavailable"
            payload = json.dumps(body, ensure_ascii=False).encode()
            writer.write(f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
                         "Connection: close\r\n\r\n".encode() + payload)
            await writer.drain()
        except (TimeoutError, ConnectionError, IndexError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(answer, host, port)
    state.port = server.sockets[0].getsockname()[1]
    log.info("health endpoint on http://%s:%s/healthz", host, state.port)
    if ready is not None:
        ready.set()
    async with server:
        ticker = asyncio.create_task(tick(state, stop))
        await stop.wait()
        ticker.cancel()
