"""Density: memory per seller with bots packed into worker pods the way the operator lays them out.

For 1, 10 and 50 bots, the bots are placed with ``domain.placement`` (the operator's own function and
capacity, default 10 a pod; 50 bots also with 25 a pod) and every pod is a real worker process,
``wbsupply worker --pool FILE`` (Python + Playwright's driver + one Chromium), with its bots logged into the
sandbox cabinet through the auth relay. Each pod is measured alone, as its own cgroup would be: PSS of its
process tree after the pages settled, then the pods are summed. MB per seller = total / bots, beside the
founding design's 150–200 MB per seller.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from wbsupply.benchkit import BenchResult, machine_setup
from wbsupply.testkit import free_port

MB = 1024 * 1024
SECRET = "bench-secret"
SETTLE_S = 4.0
FOUNDING_MB = 175.0  # the founding design's 150–200 MB per seller bot, midpoint
LAYOUTS = [(1, 10), (10, 10), (50, 10), (50, 25)]  # (bots, bots per pod)
# The targets: ≤ 60 MB a seller at 10 a pod; ≤ 40 MB at 50 sellers in either layout (five pods of 10,
# the default, or two of 25).
TARGETS = {(10, 10): 60.0, (50, 25): 40.0, (50, 10): 40.0}


def layout(bots: int, capacity: int) -> list[list[str]]:
    from wbsupply.domain.placement import BotDemand, place, pods_of
    from wbsupply.operator.packing import NAMES

    placement = place([BotDemand(f"bot-{i:03d}") for i in range(bots)], {}, capacity, NAMES)
    return list(pods_of(placement).values())


def main(quick: bool = False) -> BenchResult:
    from wbsupply.sandbox.app import SandboxConfig
    from wbsupply.sandbox.simulation import SimulationConfig
    from wbsupply.sandbox.testing import run_sandbox_in_thread
    from wbsupply.store import upgrade

    layouts = [(1, 10), (10, 10)] if quick else LAYOUTS
    sandbox = run_sandbox_in_thread(SandboxConfig(seed=5, simulation=SimulationConfig.frozen(),
                                                  background_steps=False))
    result = BenchResult("density", "")
    phones = (f"+7932{n:07d}" for n in range(1, 10_000))
    lines = []
    try:
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
            upgrade(url)
            for bots, capacity in layouts:
                pods = layout(bots, capacity)
                measured = []
                for pod, names in enumerate(pods):
                    accounts = _accounts(sandbox, url, [next(phones) for _ in names])
                    measured.append(asyncio.run(_pod(sandbox.url, url, Path(folder) / f"{bots}-{capacity}-{pod}",
                                                     accounts)))
                total = sum(sum(parts.values()) for parts in measured) / MB
                per_seller = total / bots
                key = f"{bots}_bots_{capacity}_per_pod"
                result.add(f"mb_per_seller_{key}", per_seller, "MB", target=TARGETS.get((bots, capacity)),
                           founding=FOUNDING_MB)
                result.add(f"total_pss_{key}", total, "MB")
                kinds = {k: sum(p.get(k, 0) for p in measured) / MB for k in ("python", "driver", "browser")}
                lines.append(f"{bots} bots in {len(pods)} pod(s) of ≤ {capacity}: {total:.0f} MB "
                             f"(python {kinds['python']:.0f}, driver {kinds['driver']:.0f}, "
                             f"browser {kinds['browser']:.0f}) = {per_seller:.1f} MB per seller")
    finally:
        sandbox.stop()
    result.setup = (f"{machine_setup()}; worker processes `wbsupply worker --pool` (MALLOC_ARENA_MAX=2), bots "
                    f"idle on the sandbox cabinet after a relayed login, PSS after {SETTLE_S:g} s, each pod alone; "
                    + "; ".join(lines))
    return result


def _accounts(sandbox: Any, url: str, phones: list[str]) -> list[tuple[int, str]]:
    from sqlmodel import Session

    from wbsupply.store import make_engine
    from wbsupply.store.models import User, WbAccount

    engine = make_engine(url)
    made = []
    with Session(engine) as session:
        for phone in phones:
            sandbox.market.create_seller(phone=phone)
            user = User(email=f"{phone[1:]}@bench.test", password_hash="x")
            session.add(user)
            session.flush()
            assert user.id is not None
            account = WbAccount(owner_id=user.id, phone=phone)
            session.add(account)
            session.flush()
            assert account.id is not None
            made.append((account.id, phone))
        session.commit()
    engine.dispose()
    return made


async def _pod(sandbox_url: str, url: str, folder: Path, accounts: list[tuple[int, str]]) -> dict[str, int]:
    """One worker pod: its process started on a pool file, its bots logged in, its tree's PSS by kind."""
    import httpx

    from wbsupply.control.local import auth_status, submit_auth_step
    from wbsupply.store import make_engine
    from wbsupply.worker.health import tree_pss_by_kind

    worker = _start_worker(sandbox_url, url, folder, accounts)
    engine = make_engine(url)
    try:
        async with httpx.AsyncClient(base_url=sandbox_url) as sandbox:
            for account_id, phone in accounts:
                await _until(lambda a=account_id: auth_status(engine, a).auth_state == "need_phone", worker)
                submit_auth_step(engine, account_id, "phone", phone)
                await _until(lambda a=account_id: auth_status(engine, a).auth_state == "code_sent", worker)
                code = (await sandbox.get("/sandbox/sms", params={"phone": phone})).json()[0]["code"]
                submit_auth_step(engine, account_id, "code", code)
                await _until(lambda a=account_id: auth_status(engine, a).auth_state == "authorized", worker)
        await asyncio.sleep(SETTLE_S)
        return tree_pss_by_kind(worker.pid)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(60)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        engine.dispose()


def _start_worker(sandbox_url: str, url: str, folder: Path, accounts: list[tuple[int, str]]) -> subprocess.Popen[bytes]:
    folder.mkdir(parents=True)
    pool_file = folder / "bots.json"
    pool_file.write_text(json.dumps({"bots": [{"name": f"bot-{i}", "accountId": str(i)} for i, _ in accounts]}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("WBSUPPLY_")} | {
        "WBSUPPLY_DATABASE_URL": url, "WBSUPPLY_SECRET_KEY": SECRET, "WBSUPPLY_DATA_DIR": str(folder),
        "WBSUPPLY_WB_CABINET_URL": sandbox_url, "WBSUPPLY_WB_SUPPLIES_API_URL": sandbox_url,
        "WBSUPPLY_HEALTH_PORT": str(free_port()), "WBSUPPLY_LOG_LEVEL": "WARNING", "MALLOC_ARENA_MAX": "2",
    }
    for key in ("WBSUPPLY_BROWSER_EXECUTABLE", "WBSUPPLY_BROWSER_HEADLESS"):
        if key in os.environ:
            env[key] = os.environ[key]
    with (folder / "worker.log").open("w") as log:
        return subprocess.Popen([sys.executable, "-m", "wbsupply.cli", "worker", "--pool", str(pool_file)], env=env,
                                stdout=subprocess.DEVNULL, stderr=log)


async def _until(check: Any, worker: subprocess.Popen[bytes], within: float = 120.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise RuntimeError(f"the worker exited with {worker.returncode}")
        if check():
            return
        await asyncio.sleep(0.1)
    raise TimeoutError("a bot did not get there")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv).print()
