"""Issue 16, item 1: one component's failure must not end `wbsupply up`: it is restarted with a growing pause,
the admins are told, and the other components keep serving meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import col, select

from wbsupply.api.logic import users
from wbsupply.config import Settings
from wbsupply.domain.statuses import Role
from wbsupply.notify.kinds import NoticeKind
from wbsupply.process import HttpComponent, StartupError
from wbsupply.runtime import admin_alert, run_components
from wbsupply.store import NotificationOutbox, make_engine, session_factory
from wbsupply.testkit import free_port


class Flaky:
    """A component that fails its first ``failures`` runs (as the notifier did on a locked database)."""

    name = "notifier"

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.runs = 0

    async def run(self, stop: asyncio.Event) -> None:
        self.runs += 1
        if self.runs <= self.failures:
            await asyncio.sleep(0.05)
            raise RuntimeError("database is locked [SQL: BEGIN IMMEDIATE]")
        await stop.wait()


def _api() -> FastAPI:
    app = FastAPI()

    @app.get("/ping")
    async def ping() -> dict[str, bool]:
        return {"ok": True}

    return app


@pytest.fixture
def settings(sqlite_database_url: str, tmp_path: Path) -> Settings:
    engine = make_engine(sqlite_database_url)
    with session_factory(engine)() as session:
        users.create_user(session, "admin@example.com", "admin-password", role=Role.ADMIN)
    engine.dispose()
    return Settings(database_url=sqlite_database_url, data_dir=tmp_path, sandbox_enabled=False)


async def test_a_failed_component_restarts_and_the_others_keep_serving(settings: Settings) -> None:
    flaky = Flaky(failures=2)
    api = HttpComponent("api", _api(), "127.0.0.1", free_port())
    stop = asyncio.Event()
    status: dict[str, str] = {}
    running = asyncio.create_task(run_components([flaky, api], stop, status=status, alert=admin_alert(settings)))
    answers = []
    async with httpx.AsyncClient(base_url=api.url, timeout=5) as client:
        for _ in range(200):  # ~5 s: the flaky component fails twice and waits 1 s, then 2 s, in between
            with contextlib.suppress(httpx.TransportError):
                answers.append((await client.get("/ping")).status_code)
            if flaky.runs == 3 and len(answers) > 5:
                break
            await asyncio.sleep(0.05)
    assert flaky.runs == 3 and not running.done(), status
    assert answers and set(answers) == {200}
    assert status["notifier"] == "restarting"
    stop.set()
    await asyncio.wait_for(running, 30)

    engine = make_engine(settings.resolved_database_url())
    with session_factory(engine)() as session:
        alerts = session.exec(select(NotificationOutbox).where(
            col(NotificationOutbox.kind) == NoticeKind.COMPONENT_FAILED.value)).all()
    engine.dispose()
    assert alerts, "the admins were not told"
    assert alerts[0].payload["component"] == "notifier" and "locked" in alerts[0].payload["error"]


async def test_a_component_that_cannot_start_still_ends_the_run(settings: Settings) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        api = HttpComponent("api", _api(), "127.0.0.1", port)
        with pytest.raises(StartupError, match="port in use"):
            await asyncio.wait_for(run_components([api, Flaky(0)], asyncio.Event()), 30)
