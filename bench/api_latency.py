"""API latency under a fixed arrival rate: the seller's dashboard page and task list at 200 requests/s.

uvicorn serves the app in a subprocess (two workers, one per core) on a SQLite database seeded with sellers,
WB accounts, tasks and bookings; an asyncio httpx client sends requests at a fixed rate (open loop: a slow
answer does not delay the next request), alternating the dashboard (HTML, ``/``) and the task list
(``/api/v1/tasks``) of signed-in sellers. Latency is measured from each request's scheduled send time, so a
client or server that falls behind shows up in the figures (no coordinated omission). The first second is a
warm-up and not counted. Client and server share the machine's two cores.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from wbsupply.benchkit import BenchResult, machine_setup, percentile
from wbsupply.domain.statuses import BoxType
from wbsupply.store import Booking, BookingState, SupplyTask, WbAccount, make_engine, session_factory, upgrade
from wbsupply.store.quota import month_key
from wbsupply.testkit import free_port

RATE = 200.0
SELLERS = 20
TASKS_PER_SELLER = 30
PASSWORD = "bench-password-1"
WARM_UP_S = 1.0
WORKERS = 2  # one uvicorn process per core: the event loop, not the database, is the limit


def seed(url: str) -> list[str]:
    """Sellers with an account, tasks and bookings each; returns their e-mails."""
    from wbsupply.api.logic import users

    upgrade(url)
    engine = make_engine(url)
    emails = []
    with session_factory(engine)() as session:
        for n in range(SELLERS):
            user = users.create_user(session, f"seller{n}@bench.local", PASSWORD, plan_limit=100)
            account = WbAccount(owner_id=user.id or 0, phone=f"+7900{n:07d}", label=f"ИП {n}")
            session.add(account)
            session.flush()
            for t in range(TASKS_PER_SELLER):
                spec = {
                    "account_id": str(account.id),
                    "draft_id": f"d{t}",
                    "warehouses": [507, 117501, 120762],
                    "box_type": BoxType.BOXES.value,
                    "lead_time_days": 14,
                    "max_coefficient": t % 4,
                    "mode": "book",
                }
                task = SupplyTask(owner_id=user.id or 0, account_id=account.id or 0, spec=spec)
                session.add(task)
                session.flush()
                if t % 5 == 0:
                    session.add(
                        Booking(
                            task_id=task.id or 0,
                            user_id=user.id or 0,
                            month=month_key(),
                            state=BookingState.CONFIRMED,
                            warehouse_id=507,
                            warehouse_name="Коледино",
                        )
                    )
            emails.append(user.email)
        session.commit()
    engine.dispose()
    return emails


async def _load(base: str, emails: list[str], duration_s: float) -> tuple[dict[str, list[float]], int, float]:
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    cookies = []
    async with httpx.AsyncClient(base_url=base, timeout=30) as login_client:
        for email in emails:
            response = await login_client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
            response.raise_for_status()
            cookies.append("; ".join(f"{name}={value}" for name, value in response.cookies.items()))
            login_client.cookies.clear()
    # The session goes in a fixed header: httpx's cookie jar (http.cookiejar) costs more CPU than the request.
    clients = [httpx.AsyncClient(base_url=base, limits=limits, timeout=10, headers={"Cookie": cookie})
               for cookie in cookies]
    try:
        latencies: dict[str, list[float]] = {"dashboard": [], "tasks": [], "client_lag": []}
        lags = latencies["client_lag"]
        errors = 0
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.2
        total = int(RATE * (duration_s + WARM_UP_S))

        async def one(n: int) -> None:
            nonlocal errors
            scheduled = start + n / RATE
            await asyncio.sleep(max(0.0, scheduled - loop.time()))
            kind = "dashboard" if n % 2 == 0 else "tasks"
            if n >= RATE * WARM_UP_S:
                lags.append((loop.time() - scheduled) * 1000)  # the load generator's own delay
            client = clients[n % len(clients)]
            try:
                response = await client.get("/" if kind == "dashboard" else "/api/v1/tasks")
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            if n >= RATE * WARM_UP_S:
                if ok:
                    latencies[kind].append((loop.time() - scheduled) * 1000)
                else:
                    errors += 1

        began = time.monotonic()
        await asyncio.gather(*(one(n) for n in range(total)))
        achieved = total / (time.monotonic() - began)
        return latencies, errors, achieved
    finally:
        for client in clients:
            await client.aclose()


def main(quick: bool = False) -> BenchResult:
    duration = 5.0 if quick else 20.0
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        emails = seed(url)
        port = free_port()
        env = {
            **os.environ,
            "WBSUPPLY_DATABASE_URL": url,
            "WBSUPPLY_DATA_DIR": tmp,
            "WBSUPPLY_SECRET_KEY": "bench-secret",
            "WBSUPPLY_SANDBOX_ENABLED": "false",
        }
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "wbsupply.api.main:create_app_from_env",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
                "--workers",
                str(WORKERS),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_ready(base, server)
            latencies, errors, achieved = asyncio.run(_load(base, emails, duration))
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    result = BenchResult(
        "api_latency",
        f"open loop at {RATE:.0f} req/s for {duration:.0f} s (+{WARM_UP_S:.0f} s warm-up), half dashboard page, "
        f"half task list, {SELLERS} signed-in sellers with {TASKS_PER_SELLER} tasks each; uvicorn ({WORKERS} "
        f"workers) in a subprocess on SQLite, httpx asyncio client on the same machine; {machine_setup()}",
    )
    for kind in ("dashboard", "tasks"):
        values = latencies[kind]
        result.add(f"{kind}_p50", percentile(values, 50), "ms")
        result.add(f"{kind}_p99", percentile(values, 99), "ms", target=50)
    # How late the generator itself sent requests: the part of the latency that is the client's, not the API's.
    result.add("client_lag_p99", percentile(latencies["client_lag"], 99), "ms")
    result.add("achieved_rate", achieved, "req/s", target=RATE * 0.95, sense="min")
    result.add("errors", errors, "requests", target=0)
    return result


def _wait_ready(base: str, server: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"API server exited: {server.stderr.read().decode() if server.stderr else ''}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"API server did not answer within {timeout:.0f} s")


if __name__ == "__main__":
    main(quick=True).print()
