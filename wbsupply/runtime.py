"""The embedded runtime: every component in one process, one event loop, on embedded defaults.

Each component is an object with a ``name`` and ``async run(stop)`` that returns once ``stop`` is set; the
runtime starts them together and stops them together, so Ctrl-C ends the process cleanly (no traceback, no
child processes left behind). While running, each is supervised on its own: one that fails is restarted with
a growing pause and the admins are alerted, while the others keep serving. Only a failure to start at all
(``StartupError``: a port in use) ends the process, with one line saying why.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from wbsupply.config import Settings
from wbsupply.feed.memory import MemoryFeed
from wbsupply.process import (
    Component,
    HttpComponent,
    ProcessContext,
    StartupError,
    ensure_secret_key,
    private_files,
    proxy_options,
    run_until_signal,
)

log = logging.getLogger("wbsupply.runtime")

STOP_GRACE_SECONDS = 10.0
RESTART_DELAYS = (1.0, 2.0, 5.0, 15.0, 30.0, 60.0)  # after the 1st, 2nd, ... failure in a row
HEALTHY_AFTER_SECONDS = 300.0  # a component that ran this long before failing starts its count afresh


Alert = Callable[[str, BaseException, int], Awaitable[None]]


async def supervise(component: Component, stop: asyncio.Event, status: dict[str, str],
                    alert: Alert | None = None) -> None:
    """Run ``component`` until ``stop``; restart it after a failure with a growing pause (see RESTART_DELAYS)."""
    loop = asyncio.get_running_loop()
    failures = 0
    while not stop.is_set():
        started = loop.time()
        try:
            await component.run(stop)
            if stop.is_set():
                return
            error: BaseException = RuntimeError("stopped on its own")
        except StartupError:
            raise
        except Exception as exc:
            if stop.is_set():
                return
            error = exc
        failures = 1 if loop.time() - started >= HEALTHY_AFTER_SECONDS else failures + 1
        delay = RESTART_DELAYS[min(failures, len(RESTART_DELAYS)) - 1]
        status[component.name] = "failed"
        log.error("component %s failed (%d in a row): %s; restarting in %.0f s", component.name, failures,
                  error, delay)
        if alert is not None:
            try:
                await alert(component.name, error, failures)
            except Exception as exc:  # the alert is best effort: a locked database must not stop the restart
                log.warning("could not alert the admins about %s: %s", component.name, exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        if not stop.is_set():
            status[component.name] = "restarting"
            log.info("restarting component %s", component.name)


def admin_alert(settings: Settings) -> Alert:
    """Tell the admins (Telegram admin chat and cabinet) that a component failed; once per component an hour."""
    from wbsupply.notify.kinds import NoticeKind
    from wbsupply.notify.outbox import alert_admins
    from wbsupply.store import make_engine

    engine = make_engine(settings.resolved_database_url())

    async def alert(name: str, error: BaseException, failures: int) -> None:
        hour = time.strftime("%Y-%m-%dT%H", time.gmtime())
        payload = {"component": name, "error": str(error)[:500], "failures": failures}
        await asyncio.to_thread(alert_admins, engine, NoticeKind.COMPONENT_FAILED, payload,
                                f"component_failed:{name}:{hour}")

    return alert


async def run_components(components: list[Component], stop: asyncio.Event, *,
                         status: dict[str, str] | None = None, alert: Alert | None = None) -> None:
    """Run all components, each supervised (restarted after a failure) until ``stop`` is set. A component
    that cannot start at all (``StartupError``) stops the others, and its error is raised."""
    status = status if status is not None else {}
    tasks = {asyncio.create_task(supervise(c, stop, status, alert), name=c.name): c for c in components}
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


SandboxFactory = Callable[[ProcessContext], Component]  # the CLI's: builds the sandbox, sets its market


def build_embedded_components(context: ProcessContext, sandbox: SandboxFactory | None = None) -> list[Component]:
    from wbsupply.api.app import create_app as create_api

    settings = context.settings
    components: list[Component] = []
    if sandbox is not None:
        components.append(sandbox(context))
    components.append(HttpComponent("api", create_api(context), settings.api_host, settings.api_port,
                                    **proxy_options(settings)))

    from wbsupply.monitor.entry import MonitorComponent
    from wbsupply.notify.main import NotifierComponent
    from wbsupply.worker.main import Supervisor

    components.append(MonitorComponent(context))
    if settings.sandbox_enabled:
        from wbsupply.monitor.demo import DemoMonitorAccount

        components.append(DemoMonitorAccount(context))
    components.append(Supervisor(context))
    components.append(NotifierComponent(settings))
    return components


CREDENTIALS_FILE = "first-start-credentials.txt"


def announce_credentials(lines: list[str], data_dir: Path, *, terminal: bool) -> None:
    """The first start's passwords: on a terminal, shown once; otherwise (a log file, a service manager's
    journal) into a file only the owner can read, and only its path goes to the output."""
    secret = [line for line in lines if "/" in line and ("администратор" in line or "демо-продавец" in line)]
    if terminal or not secret:
        print("\n".join(lines), flush=True)
        return
    path = data_dir / CREDENTIALS_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write("\n".join(lines) + "\n")
    os.chmod(path, 0o600)  # also when the file was already there
    written = (f"Пароли первого запуска записаны в {path.resolve()} (файл доступен только владельцу): "
               "прочитайте и удалите его")
    print("\n".join([written, *(line for line in lines[1:] if line not in secret)]), flush=True)


def _first_start(context: ProcessContext) -> None:
    """Admin and demo seller on the very first start; their passwords go to the terminal once, never to logs."""
    from wbsupply.api.bootstrap import DEMO_PHONE, ensure_first_users, ensure_sandbox_seller
    from wbsupply.store import make_engine

    engine = make_engine(context.settings.resolved_database_url())
    market = context.sandbox_market
    from wbsupply.monitor.demo import monitor_account_hint

    try:
        lines = ensure_first_users(engine, context.settings, market)
        hint = monitor_account_hint(context.settings, engine)
    finally:
        engine.dispose()
    if market is not None:
        # The sandbox lives in memory: its demo draft is new on every start, so say which it is each time.
        draft = ensure_sandbox_seller(market)
        lines.append(f"Песочница WB: телефон {DEMO_PHONE}, черновик поставки для задачи: {draft}")
    if hint:
        lines.append(hint)
    if lines:
        announce_credentials(lines, Path(context.settings.data_dir), terminal=sys.stdout.isatty())


async def _main(settings: Settings, sandbox: SandboxFactory | None, stop: asyncio.Event) -> None:
    context = ProcessContext(settings=settings, feed=MemoryFeed(settings.events_stream_maxlen))
    components = build_embedded_components(context, sandbox)
    _first_start(context)
    log.info("wbsupply is up: cabinet on http://%s:%s (Ctrl-C stops)", settings.api_host, settings.api_port)
    await run_components(components, stop, status=context.status, alert=admin_alert(settings))
    log.info("wbsupply stopped")


def run_embedded(settings: Settings, sandbox: SandboxFactory | None = None) -> None:
    """``wbsupply up``: every component in this process until SIGINT/SIGTERM; ``sandbox`` adds the WB sandbox."""
    from wbsupply.store.engine import upgrade

    try:
        private_files()
        Path(settings.data_dir).mkdir(mode=0o700, parents=True, exist_ok=True)
        Path(settings.data_dir).chmod(0o700)  # sessions of sellers' WB cabinets live here
        ensure_secret_key(settings)
        upgrade(settings.resolved_database_url())
        run_until_signal(lambda stop: _main(settings, sandbox, stop))
    except (OSError, RuntimeError) as exc:
        # A port in use or a broken data folder: say so in one line, not a traceback.
        log.error("wbsupply could not run: %s", exc)
        raise SystemExit(1) from None
