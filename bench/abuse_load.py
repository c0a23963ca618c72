"""Abuse under load: 20 concurrent writers plus a login flood against one `wbsupply up` for 60 s.

`wbsupply up` runs as a user starts it (subprocess: API, sandbox, monitor, bots' supervisor, notifier) on a
fresh data folder. Twenty sellers, each signed in with an API token, create supply tasks (with an
Idempotency-Key) and cancel every other one as fast as they are answered; twenty flooders send failed logins
with random e-mails and passwords; an unrelated seller's dashboard is timed before (idle) and during the load.
Afterwards every answered write is looked up in the database (a 201 without its row, or a cancel without its
phase, is a lost write). Client and server share the machine's two cores.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
from sqlmodel import col, select

from wbsupply.benchkit import BenchResult, machine_setup, percentile
from wbsupply.domain.statuses import BotStatus, TaskPhase
from wbsupply.store import SupplyTask, WbAccount, make_engine, session_factory, session_scope
from wbsupply.testkit import free_port

WRITERS = 20
FLOODERS = 20
PASSWORD = "bench-password-1"
WARM_UP_SECONDS = 5.0  # the runtime's first minute (monitor's first polls, bots' supervisor) is not "idle"
IDLE_SECONDS = 10.0
DASHBOARD_EVERY = 0.1  # the bystander opens its dashboard ten times a second


def _start(data: Path, api_port: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WBSUPPLY_")}
    env.update(WBSUPPLY_DATA_DIR=str(data), WBSUPPLY_API_PORT=str(api_port),
               WBSUPPLY_SANDBOX_PORT=str(free_port()), WBSUPPLY_LOG_LEVEL="WARNING")
    return subprocess.Popen([sys.executable, "-m", "wbsupply.cli", "up"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def _wait_ready(base: str, proc: subprocess.Popen[str], timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"wbsupply up exited: {proc.stdout.read() if proc.stdout else ''}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise RuntimeError("wbsupply up did not answer")


def _admin_password(data: Path) -> str:
    text = (data / "first-start-credentials.txt").read_text()
    line = next(row for row in text.splitlines() if "admin@wbsupply.local" in row)
    return line.rsplit("/", 1)[-1].strip()


async def _sellers(base: str, admin_password: str, count: int) -> list[tuple[int, str]]:
    """(user id, e-mail) of new sellers, made through the admin API."""
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        token = (await client.post("/api/v1/auth/token", json={"email": "admin@wbsupply.local",
                                                               "password": admin_password})).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        made = []
        for n in range(count):
            email = f"load{n}@bench.local"
            response = await client.post("/api/v1/admin/users", headers=headers,
                                         json={"email": email, "password": PASSWORD, "plan_limit": 500})
            response.raise_for_status()
            made.append((response.json()["id"], email))
        return made


def _accounts(url: str, sellers: list[tuple[int, str]]) -> dict[int, int]:
    """A stopped WB account per seller (tasks need one; a stopped bot starts no browser)."""
    engine = make_engine(url)
    ids = {}
    with session_scope(engine) as session:
        for n, (user_id, _) in enumerate(sellers):
            account = WbAccount(owner_id=user_id, phone=f"+7955{n:07d}", status=BotStatus.STOPPED)
            session.add(account)
            session.flush()
            ids[user_id] = account.id or 0
    engine.dispose()
    return ids


async def _token(client: httpx.AsyncClient, email: str) -> str:
    response = await client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    response.raise_for_status()
    return str(response.json()["access_token"])


async def _dashboard_latencies(client: httpx.AsyncClient, until: float, statuses: Counter[int]) -> list[float]:
    latencies = []
    while time.monotonic() < until:
        began = time.monotonic()
        try:
            response = await client.get("/")
            statuses[response.status_code] += 1
            if response.status_code == 200:
                latencies.append((time.monotonic() - began) * 1000)
        except httpx.HTTPError:
            statuses[0] += 1
        await asyncio.sleep(max(0.0, DASHBOARD_EVERY - (time.monotonic() - began)))
    return latencies


async def _writer(client: httpx.AsyncClient, account_id: int, until: float, statuses: Counter[int],
                  created: list[int], cancelled: list[int]) -> None:
    n = 0
    while time.monotonic() < until:
        n += 1
        body = {"account_id": account_id, "draft_id": f"load-{account_id}-{n}", "warehouses": [507, 117501],
                "box_type": "boxes", "lead_time_days": 7, "max_coefficient": 1, "mode": "book"}
        try:
            response = await client.post("/api/v1/tasks", json=body,
                                         headers={"Idempotency-Key": f"{account_id}-{n}"})
            statuses[response.status_code] += 1
            if response.status_code != 201:
                continue
            task_id = response.json()["id"]
            created.append(task_id)
            if n % 2 == 0:
                cancel = await client.post(f"/api/v1/tasks/{task_id}/cancel")
                statuses[cancel.status_code] += 1
                if cancel.status_code == 200:
                    cancelled.append(task_id)
        except httpx.HTTPError:
            statuses[0] += 1


async def _flooder(client: httpx.AsyncClient, until: float, statuses: Counter[int]) -> None:
    while time.monotonic() < until:
        try:
            response = await client.post("/api/v1/auth/login", json={
                "email": f"{secrets.token_hex(5)}@example.com", "password": secrets.token_hex(8)})
            statuses[response.status_code] += 1
        except httpx.HTTPError:
            statuses[0] += 1


async def _load(base: str, sellers: list[tuple[int, str]], accounts: dict[int, int], duration: float
                ) -> dict[str, object]:
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as anonymous:
        _, bystander_email = sellers[-1]
        login = await anonymous.post("/api/v1/auth/login", json={"email": bystander_email, "password": PASSWORD})
        login.raise_for_status()
        cookie = "; ".join(f"{k}={v}" for k, v in login.cookies.items())
        anonymous.cookies.clear()
        bystander = httpx.AsyncClient(base_url=base, timeout=60, headers={"Cookie": cookie})
        writers = []
        for user_id, email in sellers[:-1]:
            token = await _token(anonymous, email)
            writers.append((httpx.AsyncClient(base_url=base, timeout=60,
                                               headers={"Authorization": f"Bearer {token}"}), accounts[user_id]))
        try:
            idle_statuses: Counter[int] = Counter()
            await _dashboard_latencies(bystander, time.monotonic() + WARM_UP_SECONDS, idle_statuses)
            idle = await _dashboard_latencies(bystander, time.monotonic() + IDLE_SECONDS, idle_statuses)
            statuses: Counter[int] = Counter()
            logins: Counter[int] = Counter()
            created: list[int] = []
            cancelled: list[int] = []
            until = time.monotonic() + duration
            results = await asyncio.gather(
                _dashboard_latencies(bystander, until, statuses),
                *(_writer(client, account, until, statuses, created, cancelled) for client, account in writers),
                *(_flooder(anonymous, until, logins) for _ in range(FLOODERS)),
            )
            return {"idle": idle, "loaded": results[0], "statuses": statuses + idle_statuses, "logins": logins,
                    "created": created, "cancelled": cancelled}
        finally:
            await bystander.aclose()
            for client, _ in writers:
                await client.aclose()


def _lost_writes(url: str, created: list[int], cancelled: list[int]) -> int:
    engine = make_engine(url)
    with session_factory(engine)() as session:
        rows = dict(session.exec(select(SupplyTask.id, SupplyTask.phase)
                                 .where(col(SupplyTask.id).in_(created))).all())
    engine.dispose()
    missing = sum(1 for task_id in created if task_id not in rows)
    uncancelled = sum(1 for task_id in cancelled if rows.get(task_id) is not TaskPhase.CANCELLED)
    return missing + uncancelled


def main(quick: bool = False) -> BenchResult:
    duration = 10.0 if quick else 60.0
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        api_port = free_port()
        base = f"http://127.0.0.1:{api_port}"
        proc = _start(data, api_port)
        try:
            _wait_ready(base, proc)
            url = f"sqlite:///{(data / 'wbsupply.sqlite3').resolve()}"
            sellers = asyncio.run(_sellers(base, _admin_password(data), WRITERS + 1))
            accounts = _accounts(url, sellers)
            outcome = asyncio.run(_load(base, sellers, accounts, duration))
            still_up = proc.poll() is None and httpx.get(f"{base}/healthz", timeout=10).status_code == 200
            lost = _lost_writes(url, outcome["created"], outcome["cancelled"])  # type: ignore[arg-type]
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGINT)
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
    statuses: Counter[int] = outcome["statuses"]  # type: ignore[assignment]
    logins: Counter[int] = outcome["logins"]  # type: ignore[assignment]
    idle_p99 = percentile(outcome["idle"], 99)  # type: ignore[arg-type]
    loaded_p99 = percentile(outcome["loaded"], 99)  # type: ignore[arg-type]
    result = BenchResult(
        "abuse_load",
        f"one `wbsupply up` (subprocess, SQLite) for {duration:.0f} s: {WRITERS} sellers creating tasks "
        f"(Idempotency-Key) and cancelling every other one, {FLOODERS} concurrent failed logins with random "
        f"e-mails, an unrelated seller's dashboard every {DASHBOARD_EVERY * 1000:.0f} ms; httpx asyncio client "
        f"on the same machine; {machine_setup()}",
    )
    server_errors = sum(n for status, n in (statuses + logins).items() if status >= 500 or status == 0)
    result.add("server_errors", server_errors, "responses", target=0)
    result.add("lost_writes", lost, "writes", target=0)
    result.add("runtime_up", 1.0 if still_up else 0.0, "bool", target=1, sense="min")
    result.add("tasks_created", len(outcome["created"]), "tasks")  # type: ignore[arg-type]
    result.add("failed_logins_answered", logins[401] + logins[429], "requests")
    result.add("logins_slowed_429", logins[429], "requests")
    result.add("dashboard_idle_p50", percentile(outcome["idle"], 50), "ms")  # type: ignore[arg-type]
    result.add("dashboard_loaded_p50", percentile(outcome["loaded"], 50), "ms")  # type: ignore[arg-type]
    result.add("dashboard_idle_p99", idle_p99, "ms")
    result.add("dashboard_loaded_p99", loaded_p99, "ms")
    result.add("dashboard_p99_ratio", loaded_p99 / idle_p99, "x", target=3)
    return result


if __name__ == "__main__":
    main(quick=True).print()
