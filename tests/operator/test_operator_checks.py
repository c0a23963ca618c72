"""Pure logic behind the timers and SupplyTask admission: status/memory/auth checks, notifications, admit()."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from wbsupply.domain.statuses import BotStatus, TaskPhase
from wbsupply.domain.tariffs import Plan
from wbsupply.kube.names import LABEL_BOT
from wbsupply.operator.checks import check_auth, check_memory, check_status
from wbsupply.operator.notifications import build_bot_notification
from wbsupply.operator.tasks import BotInfo, admit

NOW = datetime.datetime(2026, 11, 26, 9, 0, tzinfo=datetime.UTC)
SPEC = {"seller": "ivanov", "wbAccountRef": {"accountId": "42"}, "tariff": "start"}
TASK: dict[str, Any] = {
    "sellerBotRef": {"name": "ivanov-42"},
    "accountId": "42",
    "preorderId": 123456,
    "warehouses": [507, 120762],
    "boxType": "boxes",
    "dateFrom": "2026-12-01",
    "dateTo": "2026-12-20",
    "maxCoefficient": 0,
    "deadline": "2026-12-18T21:00:00Z",
}
BOT = BotInfo(account_id="42", plan=Plan.START, bookings_this_month=0)


def stamp(delta: datetime.timedelta) -> str:
    return (NOW - delta).isoformat()


def test_new_transition_is_announced_once() -> None:
    [finding] = check_status(SPEC, {"phase": "ACTIVE", "lastHeartbeat": stamp(datetime.timedelta(minutes=1))}, NOW, 600)
    assert (finding.reason, finding.severity, finding.notify) == ("PhaseChanged", "info", BotStatus.ACTIVE)
    assert finding.status == {"observedPhase": "ACTIVE"}
    seen = {"phase": "ACTIVE", "observedPhase": "ACTIVE", "lastHeartbeat": stamp(datetime.timedelta(minutes=1))}
    assert check_status(SPEC, seen, NOW, 600) == []


def test_stale_heartbeat_is_an_error() -> None:
    status = {"phase": "ACTIVE", "observedPhase": "ACTIVE", "lastHeartbeat": stamp(datetime.timedelta(minutes=11))}
    [finding] = check_status(SPEC, status, NOW, 600)
    assert finding.severity == "warning" and finding.notify is BotStatus.ERROR
    assert finding.status["phase"] == "ERROR" and "no heartbeat" in finding.status["lastError"]


def test_initializing_bot_without_heartbeat_is_not_an_error() -> None:
    assert check_status(SPEC, {"phase": "INITIALIZING", "observedPhase": "INITIALIZING"}, NOW, 600) == []


def test_paused_bot_is_stopped_and_resumed_bot_initializes() -> None:
    [paused] = check_status(SPEC | {"paused": True}, {"phase": "ACTIVE", "observedPhase": "ACTIVE"}, NOW, 600)
    assert paused.status == {"phase": "STOPPED", "observedPhase": "STOPPED"}
    [resumed] = check_status(SPEC, {"phase": "STOPPED", "observedPhase": "STOPPED"}, NOW, 600)
    assert resumed.status == {"phase": "INITIALIZING", "observedPhase": "INITIALIZING"}


@pytest.mark.parametrize(("used", "warned"), [(None, False), (300 * 2**20, False), (370 * 2**20, True)])
def test_memory_check(used: int | None, warned: bool) -> None:
    findings = check_memory("400Mi", {"memoryBytes": used} if used is not None else {}, 0.9)
    assert bool(findings) is warned
    if warned:
        assert findings[0].reason == "MemoryHigh" and "370 MiB" in findings[0].message


def test_auth_check_asks_the_seller_after_three_attempts() -> None:
    assert check_auth({"phase": "ACTIVE", "authState": "Authorized"}) == []
    [retrying] = check_auth({"phase": "ACTIVE", "authState": "Expired", "authAttempts": 1})
    assert retrying.reason == "Reauthorizing" and retrying.notify is None
    [failed] = check_auth({"phase": "ACTIVE", "authState": "Failed", "authAttempts": 3})
    assert failed.status["phase"] == "WAITING_AUTH" and failed.notify is BotStatus.WAITING_AUTH
    [again] = check_auth(
        {"phase": "WAITING_AUTH", "observedPhase": "WAITING_AUTH", "authState": "Failed", "authAttempts": 3}
    )
    assert again.notify is None  # told once
    assert check_auth({"phase": "STOPPED", "authState": "Failed", "authAttempts": 5}) == []


def test_notifications_only_for_error_and_waiting_auth() -> None:
    record = build_bot_notification("sellers", "ivanov-42", SPEC, BotStatus.WAITING_AUTH, "session lost", NOW)
    assert record is not None
    assert (record.seller, record.account_id, record.bot) == ("ivanov", "42", "ivanov-42")
    assert "авторизации" in record.text
    assert build_bot_notification("sellers", "ivanov-42", SPEC, BotStatus.ACTIVE, "", NOW) is None


def test_valid_task_is_assigned_and_pending() -> None:
    admission = admit(TASK, None, BOT, NOW)
    assert admission.phase is TaskPhase.PENDING
    assert admission.labels == {LABEL_BOT: "ivanov-42"}
    assert admit(TASK, "Pending", BOT, NOW).phase is None  # nothing to change


def test_invalid_task_fails_with_the_domain_message() -> None:
    admission = admit(TASK | {"warehouses": [507, 507]}, None, BOT, NOW)
    assert admission.phase is TaskPhase.FAILED and "дважды" in admission.message
    typed = admit(TASK | {"preorderId": "twelve"}, None, BOT, NOW)
    assert typed.phase is TaskPhase.FAILED and "Номер заказа" in typed.message


def test_task_whose_window_ended_expires() -> None:
    admission = admit(TASK | {"dateFrom": "2026-11-01", "dateTo": "2026-11-20", "deadline": None}, None, BOT, NOW)
    assert admission.phase is TaskPhase.EXPIRED  # the window ended: the domain calls that expired


def test_deadline_expires_the_task() -> None:
    later = datetime.datetime(2026, 12, 19, tzinfo=datetime.UTC)
    assert admit(TASK, "Watching", BOT, later).phase is TaskPhase.EXPIRED
    assert admit(TASK, "Booking", BOT, later).phase is None  # a booking in flight is finished, not expired
    assert admit(TASK, "Booked", BOT, later).phase is None


def test_quota() -> None:
    full = BotInfo(account_id="42", plan=Plan.START, bookings_this_month=5)
    admission = admit(TASK, None, full, NOW)
    assert admission.phase is TaskPhase.QUOTA_EXCEEDED and "5 бронирований" in admission.message
    assert admit(TASK, "Watching", full, NOW).phase is TaskPhase.QUOTA_EXCEEDED
    upgraded = BotInfo(account_id="42", plan=Plan.BASIC, bookings_this_month=5)
    assert admit(TASK, "QuotaExceeded", upgraded, NOW).phase is TaskPhase.PENDING


def test_missing_bot_and_wrong_account() -> None:
    waiting = admit(TASK, None, None, NOW)
    assert waiting.phase is TaskPhase.PENDING and "ivanov-42" in waiting.message
    other = BotInfo(account_id="43", plan=Plan.START, bookings_this_month=0)
    assert admit(TASK, None, other, NOW).phase is TaskPhase.FAILED
