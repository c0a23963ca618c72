"""The worker's parts without a browser: encryption, the auth relay, the control plane, health and memory."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from wbsupply.control.local import (
    AuthInputError,
    LocalControlPlane,
    NotFoundError,
    auth_status,
    normalize_phone,
    set_api_token,
    submit_auth_step,
)
from wbsupply.crypto import DecryptionError, SecretBox, api_token_box, session_box
from wbsupply.domain.machines import IllegalTransition
from wbsupply.domain.statuses import BotStatus, TaskPhase
from wbsupply.store.models import SupplyTask, User, WbAccount
from wbsupply.testkit import new_phone
from wbsupply.worker.confirm import supply_id_from_detail
from wbsupply.worker.health import HealthState, descendants, serve_health, tree_pss, tree_pss_by_kind


def test_sessions_are_encrypted_per_purpose_and_secret() -> None:
    blob = session_box("secret-1").encrypt(b'{"cookies": []}')
    assert b"cookies" not in blob
    assert session_box("secret-1").decrypt(blob) == b'{"cookies": []}'
    for wrong in (session_box("secret-2"), api_token_box("secret-1")):
        with pytest.raises(DecryptionError):
            wrong.decrypt(blob)
    with pytest.raises(DecryptionError):
        session_box("secret-1").decrypt(blob[:-1] + bytes([blob[-1] ^ 1]))
    with pytest.raises(ValueError):
        SecretBox("", "x")


def _account(session: Session) -> tuple[int, int]:
    user = User(email="s@example.test", password_hash="x")
    session.add(user)
    session.flush()
    assert user.id is not None
    account = WbAccount(owner_id=user.id, phone=new_phone())
    session.add(account)
    session.flush()
    assert account.id is not None
    session.commit()
    return user.id, account.id


def test_auth_relay_queues_steps_and_reports_them(session: Session, engine: Engine) -> None:
    _, account_id = _account(session)
    assert normalize_phone("8 (916) 123-45-67") == "+79161234567"  # a written-out number: spellings are the point
    for kind, value, message in [("phone", "123", "формате"), ("code", "12a", "цифры"), ("supplier", "x", "списка"),
                                 ("captcha", " ", "символы"), ("password", "1", "Неизвестный")]:
        with pytest.raises(AuthInputError, match=message):
            submit_auth_step(engine, account_id, kind, value)
    with pytest.raises(NotFoundError):
        submit_auth_step(engine, account_id + 100, "reconnect")

    first = submit_auth_step(engine, account_id, "phone", "+7 916 123-45-67")
    second = submit_auth_step(session, account_id, "reconnect")
    status = auth_status(engine, account_id)
    assert (status.bot_status, status.auth_state, status.prompt) == ("INITIALIZING", "idle", {})
    assert status.last_request is not None and status.last_request.id == second.id
    assert status.last_request.status == "pending"

    control = LocalControlPlane(engine)
    step = asyncio.run(control.next_auth_step(account_id))
    assert step is not None and step.id == second.id  # the phone request was superseded
    assert "+7" not in repr(step)
    asyncio.run(control.finish_auth_step(step.id, False, "Неверный код"))
    assert auth_status(engine, account_id).last_request.message == "Неверный код"  # type: ignore[union-attr]
    assert first.status == "pending" and asyncio.run(control.next_auth_step(account_id)) is None


def test_api_token_is_stored_encrypted(session: Session, engine: Engine) -> None:
    _, account_id = _account(session)
    with pytest.raises(AuthInputError, match="неполным"):
        set_api_token(engine, account_id, "short", "secret")
    token = "eyJhbGciOiJFUzI1NiIsImtpZCI6IjIwMjUwOTA0djEifQ.payload.signature"
    set_api_token(engine, account_id, token, "secret")
    blob = _stored_token(engine, account_id)
    assert blob and token.encode() not in blob
    assert api_token_box("secret").decrypt(blob).decode() == token
    set_api_token(engine, account_id, "", "secret")
    assert _stored_token(engine, account_id) is None


def _stored_token(engine: Engine, account_id: int) -> bytes | None:
    with Session(engine) as fresh:
        account = fresh.get(WbAccount, account_id)
        assert account is not None
        return account.api_token_blob


def test_control_plane_applies_the_state_machines(session: Session, engine: Engine) -> None:
    user_id, account_id = _account(session)
    spec = {"account_id": str(account_id), "preorder_id": 1, "warehouses": [507], "box_type": "boxes"}
    task = SupplyTask(owner_id=user_id, account_id=account_id, spec=spec)
    session.add(task)
    session.commit()
    assert task.id is not None
    control = LocalControlPlane(engine)

    async def scenario() -> None:
        assert task.id is not None
        with pytest.raises(IllegalTransition):
            await control.move_task(task.id, TaskPhase.BOOKED)
        watching = await control.move_task(task.id, TaskPhase.WATCHING, "Ищем слот")
        assert watching.phase is TaskPhase.WATCHING and watching.to_domain().id == str(task.id)
        await control.set_bot_status(account_id, BotStatus.WAITING_AUTH, error="нет сессии")
        with pytest.raises(IllegalTransition):
            await control.set_bot_status(account_id, BotStatus.ERROR)
            await control.set_bot_status(account_id, BotStatus.WAITING_AUTH)  # ERROR -> WAITING_AUTH is illegal
        bot = await control.get_bot(account_id)
        assert (bot.status, bot.plan_limit) == (BotStatus.ERROR, 5)
        assert [t.id for t in await control.active_tasks(account_id)] == [task.id]

    asyncio.run(scenario())


def test_supply_id_is_read_from_wbs_refusal() -> None:
    detail = "fail to get supply details: по заказу 34600001 найдена поставка 26600002. Используйте поиск по ID"
    assert supply_id_from_detail(detail) == 26600002
    assert supply_id_from_detail("поставка не найдена") is None


def test_memory_is_the_pss_of_the_whole_process_tree() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; x = bytearray(30 << 20); print(flush=True); "
                              "time.sleep(30)"], stdout=subprocess.PIPE)
    try:
        assert child.stdout is not None
        child.stdout.readline()  # its 30 MB are written
        assert child.pid in descendants(os.getpid())
        groups = tree_pss_by_kind()
        assert tree_pss() >= 30 << 20
        assert groups["python"] >= 30 << 20
    finally:
        child.kill()
        child.wait()


async def test_healthz_answers_only_when_loop_browser_and_heartbeat_are_fine() -> None:
    connected = {"value": False}
    state = HealthState(browser_connected=lambda: connected["value"])
    stop = asyncio.Event()
    ready = asyncio.Event()
    server = asyncio.create_task(serve_health(state, "127.0.0.1", 0, stop, ready))
    await ready.wait()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{state.port}") as client:
        sick = await client.get("/healthz")
        assert sick.status_code == 503 and sick.json()["checks"]["browser"] is False
        connected["value"] = True
        state.last_heartbeat = time.monotonic()
        state.memory_bytes = 123
        state.bots[1] = {"status": "ACTIVE", "auth": "authorized", "current_task": None}
        healthy = await client.get("/healthz")
        assert healthy.status_code == 200
        assert healthy.json()["memory_bytes"] == 123 and healthy.json()["bots"]["1"]["status"] == "ACTIVE"
        assert (await client.get("/other")).status_code == 404
    stop.set()
    await server

