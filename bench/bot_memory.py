"""Memory of worker bots: PSS of the whole process tree (Python + Playwright's Node driver + Chromium).

Each configuration runs in a fresh child process with real bots (``wbsupply.worker.bot.Bot``) logged into
the sandbox cabinet through the auth relay and idling on «Все поставки»; the child measures its own tree
(``/proc/PID/smaps_rollup``) after the pages settled. Steps are cumulative, so each line shows what one
measure saves:

- untuned: only the flags a root container needs;
- lean browser flags: one renderer for all contexts, GPU and network service inside the browser process,
  no site isolation, fewer features, small V8 heap, no disk cache (``wbsupply.worker.browser.LEAN_ARGS``);
- driver heap: ``NODE_OPTIONS`` caps the old and young V8 generations of Playwright's Node driver;
- malloc arenas: ``MALLOC_ARENA_MAX=2`` for Python and the driver (thread pools otherwise reserve arenas);
- memory trim: a 1024×720 viewport and, after login and every 30 min, CDP garbage collection plus a
  simulated critical memory-pressure signal (Blink and V8 drop their caches) — the configuration the
  worker runs with (the targets apply to it);
- single process (measured, not adopted): ``--single-process --no-zygote`` saves more, but Chromium then
  exits when a bot closes its context (every re-authorization does).

Then ten bots sharing one browser (ten contexts), untuned and tuned: marginal PSS per extra bot.
The sandbox and the parent process are outside the measured trees.

One more step is the Python process alone, without a browser (``python_imports``): PSS of a fresh interpreter
that imports nothing, of one that imports what ``wbsupply worker --pool FILE`` / ``--bot ID`` import before the
first bot starts (the CLI, the worker's entry module and both slot feeds), and of one that also imports what a
worker pulled in before it was made lean: the API with its Jinja2 templates, Alembic with the migrations
loaded, the sandbox and uvicorn. The median of three fresh children each; ``lean_imports_saving`` is the
difference the lean worker makes, and ``lean_imports_saving_*`` what each of the four costs alone on top of the
worker's imports (they share FastAPI and Starlette, so these overlap and sum to more than the whole).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wbsupply.benchkit import BenchResult, machine_setup
from wbsupply.testkit import eventually
from wbsupply.worker.browser import BrowserOptions

MB = 1024 * 1024
SECRET = "bench-secret"
SETTLE_S = 4.0
NODE = {"NODE_OPTIONS": BrowserOptions.driver_node_options or ""}
ARENAS = {**NODE, "MALLOC_ARENA_MAX": "2"}
# name, lean browser flags, single process, memory trim, child environment
STEPS: list[tuple[str, bool, bool, bool, dict[str, str]]] = [
    ("untuned", False, False, False, {}),
    ("lean_browser_flags", True, False, False, {}),
    ("driver_heap", True, False, False, NODE),
    ("malloc_arenas", True, False, False, ARENAS),
    ("memory_trim", True, False, True, ARENAS),
    ("single_process_not_adopted", True, True, True, ARENAS),
]
ADOPTED = "memory_trim"
ROOT = Path(__file__).resolve().parent.parent
# What a worker process imports before its first bot starts: the CLI, the worker's entry (and all it imports at
# module level) and the slot feeds ``make_feed`` picks from (Redis in the cluster).
WORKER_IMPORTS = "import wbsupply.cli, wbsupply.worker.main, wbsupply.feed.memory, wbsupply.feed.redis"
# What a worker pulled in before it was made lean (``tests/worker/test_worker_pool.py`` keeps these out now):
# the API with its templates, Alembic with the migrations loaded, the sandbox, uvicorn.
DROPPED = {
    "api_templates": "import wbsupply.api.app",
    "alembic_migrations": "import alembic.command; from wbsupply.store.engine import head_revision; head_revision()",
    "sandbox": "import wbsupply.sandbox.app",
    "uvicorn": "import uvicorn",
}
FULL_IMPORTS = "; ".join([WORKER_IMPORTS, *DROPPED.values()])
IMPORTS = {"bare": "pass", "worker_imports": WORKER_IMPORTS, "full_imports": FULL_IMPORTS,
           **{f"worker_plus_{name}": f"{WORKER_IMPORTS}; {code}" for name, code in DROPPED.items()}}
# PSS is read before json is imported, so the report itself does not count.
_REPORT = ("pss = sum(int(line.split()[1]) for line in open('/proc/self/smaps_rollup') if line.startswith('Pss:'))"
           "\nimport json, sys\nprint(json.dumps({'pss': pss * 1024, 'modules': sorted(sys.modules)}))")


def main(quick: bool = False) -> BenchResult:
    imports = python_imports()  # before this process loads the sandbox: its pages would be shared with the children
    from wbsupply.sandbox.app import SandboxConfig
    from wbsupply.sandbox.simulation import SimulationConfig
    from wbsupply.sandbox.testing import run_sandbox_in_thread
    from wbsupply.store import upgrade

    sandbox = run_sandbox_in_thread(SandboxConfig(seed=3, simulation=SimulationConfig.frozen(),
                                                  background_steps=False))
    result = BenchResult("bot_memory", "")
    phones = (f"+7931{n:07d}" for n in range(1, 10_000))
    try:
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
            upgrade(url)
            figures: dict[str, dict[str, Any]] = {}
            for name, lean, single, trim, env in STEPS:
                figures[name] = _measure(sandbox, url, [next(phones)], lean, single, trim, env)
            ten = 3 if quick else 10
            ten_untuned = _measure(sandbox, url, [next(phones) for _ in range(ten)], False, False, False, {})
            ten_tuned = _measure(sandbox, url, [next(phones) for _ in range(ten)], True, False, True, ARENAS)
    finally:
        sandbox.stop()

    for name, parts in figures.items():
        total = sum(parts.values()) / MB
        adopted = name == ADOPTED
        result.add(f"one_bot_pss_{name}", total, "MB", target=250.0 if adopted else None,
                   founding=200.0 if adopted else None)
    final = figures[ADOPTED]
    for kind in ("python", "driver", "browser"):
        result.add(f"one_bot_pss_tuned_{kind}", final.get(kind, 0) / MB, "MB")
    for label, parts, single in (("untuned", ten_untuned, figures["untuned"]), ("tuned", ten_tuned, final)):
        total = sum(parts.values()) / MB
        result.add(f"{ten}_bots_pss_{label}", total, "MB")
        marginal = (total - sum(single.values()) / MB) / (ten - 1)
        result.add(f"marginal_pss_per_bot_{label}", marginal, "MB", target=30.0 if label == "tuned" else None)
    for name, value in imports.items():
        result.add(name, value / MB, "MB")
    result.setup = (f"{machine_setup()}; {browser_name()}; bots idle on the sandbox cabinet's supplies page "
                    f"after a relayed login; PSS after {SETTLE_S:g} s; steps cumulative; python_* figures: "
                    f"a fresh interpreter without a browser, median of 3")
    return result


def import_footprint(kind: str) -> tuple[int, list[str]]:
    """PSS (bytes) of a fresh interpreter after the imports of ``kind`` (see IMPORTS), and the modules it loaded."""
    done = subprocess.run([sys.executable, "-c", f"{IMPORTS[kind]}\n{_REPORT}"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"import child {kind} failed: {done.stderr[-2000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return int(report["pss"]), list(report["modules"])


def python_imports(runs: int = 3) -> dict[str, float]:
    """The import figures (bytes): median PSS of each kind of child, and what the lean worker saves.

    Each round runs every kind once and a saving is taken within a round: the children's shared library pages
    count less while other Python processes on the machine map them too, and that changes over a run.
    """
    rounds = [{kind: import_footprint(kind)[0] for kind in IMPORTS} for _ in range(runs)]

    def median(value: Callable[[dict[str, int]], int]) -> float:
        return statistics.median(value(pss) for pss in rounds)

    figures = {f"python_{kind}": median(lambda pss, k=kind: pss[k])
               for kind in ("bare", "worker_imports", "full_imports")}
    figures["lean_imports_saving"] = median(lambda pss: pss["full_imports"] - pss["worker_imports"])
    for name in DROPPED:  # each alone on top of the worker's imports; they share modules, so they overlap
        figures[f"lean_imports_saving_{name}"] = median(
            lambda pss, n=name: pss[f"worker_plus_{n}"] - pss["worker_imports"])
    return figures


def browser_name() -> str:
    from wbsupply.config import Settings

    return str(Settings().resolved_browser_executable() or "playwright chromium")


def _measure(sandbox: Any, url: str, phones: list[str], lean: bool, single: bool, trim: bool,
             env: dict[str, str]) -> dict[str, int]:
    from sqlmodel import Session

    from wbsupply.store import make_engine
    from wbsupply.store.models import User, WbAccount

    engine = make_engine(url)
    ids = []
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
            ids.append(account.id)
        session.commit()
    engine.dispose()
    child_env = {k: v for k, v in os.environ.items() if k not in ("NODE_OPTIONS", "MALLOC_ARENA_MAX")}
    child_env.update(env)
    spec = json.dumps({"db": url, "sandbox": sandbox.url, "accounts": ids, "phones": phones, "lean": lean,
                       "single": single, "trim": trim})
    done = subprocess.run([sys.executable, __file__, "--child", spec], env=child_env, capture_output=True,
                          text=True, timeout=300, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"memory child failed: {done.stderr[-2000:]}")
    parts: dict[str, int] = json.loads(done.stdout.strip().splitlines()[-1])
    return parts


async def _child(spec: dict[str, Any]) -> dict[str, int]:
    import httpx

    from wbsupply.config import Settings
    from wbsupply.control.local import LocalControlPlane, auth_status, submit_auth_step
    from wbsupply.feed.memory import MemoryFeed
    from wbsupply.store import make_engine
    from wbsupply.worker.bot import Bot, BotConfig
    from wbsupply.worker.browser import BrowserHost
    from wbsupply.worker.health import tree_pss_by_kind

    engine = make_engine(spec["db"])
    # NODE_OPTIONS comes from the step's environment only, so each step shows its own effect.
    options = BrowserOptions(executable=Settings().resolved_browser_executable(), lean=spec["lean"],
                             single_process=spec["single"], driver_node_options=None,
                             viewport=(1024, 720) if spec["trim"] else (1280, 800))
    host = BrowserHost(options)
    await host.start()
    config = BotConfig(cabinet_url=spec["sandbox"], secret=SECRET, idle_wake_s=0.3, tasks_refresh_s=1.0,
                       trim_memory=spec["trim"])
    stop, feed, control = asyncio.Event(), MemoryFeed(), LocalControlPlane(engine)
    bots = [asyncio.create_task(Bot(i, control, feed, host, config).run(stop)) for i in spec["accounts"]]
    async with httpx.AsyncClient(base_url=spec["sandbox"]) as sandbox:
        for account_id, phone in zip(spec["accounts"], spec["phones"], strict=True):
            await eventually(lambda a=account_id: auth_status(engine, a).auth_state == "need_phone")
            submit_auth_step(engine, account_id, "phone", phone)
            await eventually(lambda a=account_id: auth_status(engine, a).auth_state == "code_sent")
            code = (await sandbox.get("/sandbox/sms", params={"phone": phone})).json()[0]["code"]
            submit_auth_step(engine, account_id, "code", code)
            await eventually(lambda a=account_id: auth_status(engine, a).auth_state == "authorized")
    await asyncio.sleep(SETTLE_S)
    parts = tree_pss_by_kind(os.getpid())
    stop.set()
    await asyncio.gather(*bots, return_exceptions=True)
    await host.stop()
    return parts




if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(asyncio.run(_child(json.loads(sys.argv[2])))), flush=True)
    else:
        main(quick="--quick" in sys.argv).print()
