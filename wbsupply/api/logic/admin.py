"""The admin panel's figures: bots, booking statistics, error history, server load; bot commands."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from wbsupply.api.errors import Invalid, NotFound
from wbsupply.api.logic import control
from wbsupply.api.logic.warehouses import warehouse_names
from wbsupply.domain.statuses import BotStatus
from wbsupply.store import Booking, BookingState, EventLog, User, WbAccount
from wbsupply.store.types import utcnow

BOT_ACTIONS = ("start", "stop", "restart")


def bots(session: Session) -> list[dict[str, Any]]:
    rows = session.exec(
        select(WbAccount, User.email).join(User, col(User.id) == col(WbAccount.owner_id)).order_by(col(WbAccount.id))
    ).all()
    return [
        {
            "id": account.id,
            "owner_id": account.owner_id,
            "owner_email": email,
            "phone": account.phone,
            "label": account.label,
            "status": account.status.value,
            "status_label": account.status.label,
            "auth_state": account.auth_state,
            "auth_attempts": account.auth_attempts,
            "memory_mb": None if account.memory_bytes is None else round(account.memory_bytes / 2**20, 1),
            "last_error": account.last_error,
            "last_heartbeat_at": account.last_heartbeat_at.isoformat() if account.last_heartbeat_at else None,
            "restart_count": account.restart_count,
            "last_restart_at": account.last_restart_at.isoformat() if account.last_restart_at else None,
        }
        for account, email in rows
    ]


def bot_action(session: Session, admin: User, account_id: int, action: str) -> WbAccount:
    """stop / start set the bot's status; restart asks its supervisor for a restart now."""
    account = session.get(WbAccount, account_id)
    if account is None:
        raise NotFound("Бот не найден")
    if action not in BOT_ACTIONS:
        raise Invalid("Действие: start, stop или restart")
    now = utcnow()
    before = control.snapshot(account, control.BOT_FIELDS)
    if action == "stop":
        account.status = BotStatus.STOPPED
    elif action == "start":
        account.status = BotStatus.INITIALIZING
    else:
        # The supervisor restarts a bot whose next_restart_at has come (the nightly window uses the same field).
        account.next_restart_at = now
        account.last_restart_reason = "по запросу администратора"
        if account.status in (BotStatus.STOPPED, BotStatus.ERROR):
            account.status = BotStatus.INITIALIZING
    session.add(account)
    session.add(
        EventLog(
            source="api",
            level="INFO",
            user_id=account.owner_id,
            account_id=account.id,
            message=f"admin {admin.id} requested {action}",
        )
    )
    session.commit()
    # In the cluster the operator acts on the SellerBot: paused for stop/start, the restart annotation for restart.
    control.publish_bot(session, account, before, restart=now.isoformat() if action == "restart" else None)
    return account


def booking_stats(session: Session, days: int = 30) -> dict[str, Any]:
    since = utcnow() - dt.timedelta(days=days)
    rows = session.execute(
        sa.select(
            col(Booking.state),
            col(Booking.warehouse_id),
            col(Booking.warehouse_name),
            col(Booking.confirmed_at),
            col(Booking.reserved_at),
        ).where(col(Booking.reserved_at) >= since, col(Booking.adopted_at).is_(None))  # the bot's bookings only
    ).all()
    per_day: Counter[str] = Counter()
    per_warehouse: dict[int, Counter[str]] = defaultdict(Counter)
    names = warehouse_names()
    for state, warehouse_id, warehouse_name, confirmed_at, reserved_at in rows:
        moment = confirmed_at or reserved_at
        if state is BookingState.CONFIRMED:
            per_day[moment.date().isoformat()] += 1
        if warehouse_id is not None:
            per_warehouse[warehouse_id][state.value] += 1
            if warehouse_name:
                names.setdefault(warehouse_id, warehouse_name)
    confirmed = sum(1 for row in rows if row[0] is BookingState.CONFIRMED)
    released = sum(1 for row in rows if row[0] is BookingState.RELEASED)
    attempts = confirmed + released
    return {
        "days": days,
        "confirmed": confirmed,
        "released": released,
        "in_flight": len(rows) - attempts,
        "success_rate": round(confirmed / attempts, 3) if attempts else None,
        "per_day": [{"date": day, "bookings": n} for day, n in sorted(per_day.items())],
        "per_warehouse": sorted(
            (
                {
                    "warehouse_id": warehouse_id,
                    "warehouse_name": names.get(warehouse_id, f"Склад {warehouse_id}"),
                    "confirmed": counts[BookingState.CONFIRMED.value],
                    "released": counts[BookingState.RELEASED.value],
                }
                for warehouse_id, counts in per_warehouse.items()
            ),
            key=lambda item: -item["confirmed"],
        ),
    }


def errors(session: Session, limit: int = 200) -> list[dict[str, Any]]:
    rows = session.exec(
        select(EventLog)
        .where(col(EventLog.level).in_(["WARNING", "ERROR", "CRITICAL"]))
        .order_by(col(EventLog.at).desc())
        .limit(limit)
    ).all()
    return [
        {
            "at": row.at.isoformat(),
            "level": row.level,
            "source": row.source,
            "user_id": row.user_id,
            "account_id": row.account_id,
            "task_id": row.task_id,
            "message": row.message,
        }
        for row in rows
    ]


def server_load(data_dir: Path) -> dict[str, Any]:
    load1, load5, load15 = os.getloadavg()
    info = meminfo()
    total, available = info.get("MemTotal", 0), info.get("MemAvailable", 0)
    disk = shutil.disk_usage(data_dir if data_dir.exists() else Path("/"))
    return {
        "cpus": os.cpu_count(),
        "loadavg": [round(load1, 2), round(load5, 2), round(load15, 2)],
        "memory_total_mb": round(total / 1024),
        "memory_available_mb": round(available / 1024),
        "memory_used_percent": round(100 * (total - available) / total, 1) if total else None,
        "process_rss_mb": round(_self_rss_kb() / 1024, 1),
        "disk_free_gb": round(disk.free / 2**30, 1),
    }


def meminfo() -> dict[str, int]:
    values = {}
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            name, _, rest = line.partition(":")
            values[name] = int(rest.split()[0])
    except (OSError, ValueError, IndexError):
        pass
    return values


def _self_rss_kb() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0
