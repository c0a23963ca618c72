"""What the admin panel shows at a glance: names instead of ids, usage against limits, per-bot success,
failures with their reasons, and the series behind its charts (Moscow days and hours)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from wbsupply.api.logic.warehouses import warehouse_names
from wbsupply.domain.ruformat import moscow_time
from wbsupply.domain.schedule import moscow_today
from wbsupply.store import Booking, BookingState, EventLog, MonthlyUsage, SupplyTask, User, WbAccount
from wbsupply.store.journal import SlotHistory
from wbsupply.store.quota import month_key
from wbsupply.store.types import utcnow

LEVELS = {"WARNING": "Предупреждение", "ERROR": "Ошибка", "CRITICAL": "Критично", "INFO": "Событие"}
SOURCES = {"worker": "Бот", "monitor": "Мониторинг", "api": "Кабинет", "operator": "Оператор",
           "notifier": "Уведомления"}
COMPONENTS = {"api": "Кабинет и API", "monitor": "Мониторинг", "supervisor": "Боты", "notifier": "Уведомления",
              "sandbox": "Песочница WB"}
# The journal is written in English for operators; the panel reads in Russian where the line is known.
MESSAGES = {
    "quota exceeded": "Лимит тарифа исчерпан",
    "slot taken by someone else": "Слот заняли раньше нас",
    "booking not confirmed by WB": "WB не подтвердил бронирование",
    "bot paused: WB authorization needed": "Бот приостановлен: нужен вход в WB",
    "booked": "Забронировано",
    "booking not ours: elsewhere": "Поставка в WB не на слоте бота: не засчитано",
    "booking not ours: gone": "Заказа нет в WB: не засчитано",
    "booking not ours: claimed by another task": "Поставка уже забронирована другой задачей: не засчитано",
    "task unworkable": "Черновика или заказа нет в WB",
    "task failed before booking": "Черновика или заказа нет в WB (до бронирования)",
    "booking failed before plan/add": "Бронирование не удалось до запроса в WB",
    "interrupted booking released": "Прерванное бронирование отменено до запроса в WB",
}
_PREFIXES = (("bot crashed", "Бот аварийно остановился"), ("booking interrupted", "Бронирование прервалось"),
             ("WB session lost", "Сессия WB потеряна"), ("automatic re-authorization", "Автоматический вход в WB"),
             ("bot restarted", "Бот перезапущен"))


def russian(message: str) -> str:
    if message in MESSAGES:
        return MESSAGES[message]
    for prefix, words in _PREFIXES:
        if message.startswith(prefix):
            rest = message[len(prefix):].lstrip(": ")
            return f"{words}{': ' + rest if rest else ''}"
    return message


def component_status(status: dict[str, str]) -> list[tuple[str, str]]:
    def words(value: str) -> str:
        return value.replace(" bot(s)", " бот(ов)").replace("running", "работает").replace("ok", "работает")

    return [(COMPONENTS.get(name, name), words(str(value))) for name, value in status.items()]


def _names(session: Session) -> tuple[dict[int, str], dict[int, str]]:
    users = {uid: email for uid, email in session.execute(sa.select(col(User.id), col(User.email))).all()}
    accounts = {aid: (label or phone) for aid, label, phone in
                session.execute(sa.select(col(WbAccount.id), col(WbAccount.label), col(WbAccount.phone))).all()}
    return users, accounts


def errors(session: Session, limit: int = 200) -> list[dict[str, Any]]:
    users, accounts = _names(session)
    rows = session.exec(select(EventLog).where(col(EventLog.level).in_(["WARNING", "ERROR", "CRITICAL"]))
                        .order_by(col(EventLog.at).desc()).limit(limit)).all()
    return [{"at": row.at, "level": LEVELS.get(row.level, row.level), "source": SOURCES.get(row.source, row.source),
             "seller": users.get(row.user_id or 0, ""), "bot": accounts.get(row.account_id or 0, ""),
             "task_id": row.task_id, "message": russian(row.message)} for row in rows]


def failed_bookings(session: Session, days: int = 30, limit: int = 100) -> list[dict[str, Any]]:
    """Bookings that did not happen (counted as «сорвалось» in the overview), each with its reason."""
    users, _ = _names(session)
    names = warehouse_names()
    rows = session.exec(select(Booking).where(col(Booking.state) == BookingState.RELEASED,
                                              col(Booking.reserved_at) >= utcnow() - dt.timedelta(days=days))
                        .order_by(col(Booking.id).desc()).limit(limit)).all()
    result = []
    for row in rows:
        why = session.exec(select(EventLog).where(col(EventLog.task_id) == row.task_id,
                                                  col(EventLog.at) >= row.reserved_at)
                           .order_by(col(EventLog.at)).limit(1)).first()
        reason = (why.payload or {}).get("reason") if why else None
        result.append({"at": row.reserved_at, "seller": users.get(row.user_id, ""), "task_id": row.task_id,
                       "warehouse": row.warehouse_name or names.get(row.warehouse_id or 0, "склад не выбран"),
                       "date": row.slot_date, "reason": russian(why.message) + (f" ({reason})" if reason else "")
                       if why else "бронирование не началось (бот перезапустился)"})
    return result


def seller_usage(session: Session) -> list[dict[str, Any]]:
    used = {uid: (u, r) for uid, u, r in session.execute(
        sa.select(col(MonthlyUsage.user_id), col(MonthlyUsage.used), col(MonthlyUsage.reserved))
        .where(col(MonthlyUsage.month) == month_key())).all()}
    rows = session.exec(select(User).order_by(col(User.id))).all()
    result = []
    for user in rows:
        done, reserved = used.get(user.id or 0, (0, 0))
        percent = min(100, round(100 * (done + reserved) / user.plan_limit)) if user.plan_limit else 100
        result.append({"email": user.email, "used": done + reserved, "limit": user.plan_limit, "percent": percent})
    return result


def bot_success(session: Session, days: int = 30) -> dict[int, dict[str, Any]]:
    """Per bot: confirmed and failed bookings of the last ``days`` days and the success share."""
    counts: dict[int, Counter[str]] = {}
    for account_id, state, n in session.execute(
        sa.select(col(SupplyTask.account_id), col(Booking.state), sa.func.count())
        .join(SupplyTask, col(SupplyTask.id) == col(Booking.task_id))
        .where(col(Booking.reserved_at) >= utcnow() - dt.timedelta(days=days),
               col(Booking.adopted_at).is_(None))  # adopted supplies were booked by the seller, not the bot
        .group_by(col(SupplyTask.account_id), col(Booking.state))
    ).all():
        counts.setdefault(account_id, Counter())[state.value] += n
    result = {}
    for account_id, c in counts.items():
        tried = c["confirmed"] + c["released"]
        result[account_id] = {"confirmed": c["confirmed"], "released": c["released"],
                              "percent": round(100 * c["confirmed"] / tried) if tried else None}
    return result


def bookings_per_day(session: Session, days: int = 14) -> list[tuple[str, float]]:
    today = moscow_today(utcnow())
    per_day: Counter[dt.date] = Counter()
    for (confirmed_at,) in session.execute(sa.select(col(Booking.confirmed_at)).where(
            col(Booking.state) == BookingState.CONFIRMED, col(Booking.adopted_at).is_(None),
            col(Booking.confirmed_at) >= utcnow() - dt.timedelta(days=days + 1))).all():
        per_day[moscow_time(confirmed_at).date()] += 1
    span = [today - dt.timedelta(days=n) for n in range(days - 1, -1, -1)]
    return [(f"{day.day}.{day.month:02d}", float(per_day[day])) for day in span]


def openings_by_hour(session: Session, days: int = 14) -> list[tuple[str, float]]:
    per_hour: Counter[int] = Counter()
    for (observed_at,) in session.execute(sa.select(col(SlotHistory.observed_at)).where(
            col(SlotHistory.kind) == "opened", col(SlotHistory.observed_at) >= utcnow() - dt.timedelta(days=days))
            .limit(200_000)).all():
        per_hour[moscow_time(observed_at).hour] += 1
    return [(f"{hour:02d}", float(per_hour[hour])) for hour in range(24)]


def booking_lag(session: Session, limit: int = 30) -> list[tuple[str, float]]:
    """Seconds from the monitor seeing a slot open to the booking confirmed, for the latest bookings."""
    points = []
    rows = session.exec(select(Booking).where(col(Booking.state) == BookingState.CONFIRMED,
                                              col(Booking.adopted_at).is_(None),
                                              col(Booking.confirmed_at).is_not(None))
                        .order_by(col(Booking.id).desc()).limit(limit)).all()
    for row in reversed(rows):
        assert row.confirmed_at is not None
        opened = session.execute(sa.select(sa.func.max(col(SlotHistory.observed_at))).where(
            col(SlotHistory.warehouse_id) == row.warehouse_id, col(SlotHistory.slot_date) == row.slot_date,
            col(SlotHistory.kind) == "opened", col(SlotHistory.observed_at) <= row.confirmed_at)).scalar_one()
        if opened is not None:
            lag = (moscow_time(row.confirmed_at) - moscow_time(opened)).total_seconds()
            points.append((f"№{row.id}", max(0.0, lag)))
    return points


def memory_per_bot(session: Session) -> list[tuple[str, float]]:
    rows = session.execute(sa.select(col(WbAccount.label), col(WbAccount.phone), col(WbAccount.memory_bytes))
                           .where(col(WbAccount.memory_bytes).is_not(None)).order_by(col(WbAccount.id))).all()
    return [((label or phone[-4:])[:10], round(memory / 2**20, 1)) for label, phone, memory in rows]


def detection_lag(monitor: Any) -> list[tuple[str, float]]:
    """How many opened slots were detected within each lag bound, from the in-process monitor's histogram
    (empty when the monitor runs elsewhere: then its /metrics has ``wbsupply_monitor_detection_lag_seconds``)."""
    if monitor is None:
        return []
    buckets = [(sample.labels["le"], sample.value) for metric in monitor.metrics.detection_lag.collect()
               for sample in metric.samples if sample.name.endswith("_bucket")]
    points, below = [], 0.0
    for bound, cumulative in buckets:
        label = "больше" if bound == "+Inf" else f"≤{float(bound):g}"
        points.append((label, cumulative - below))
        below = cumulative
    return points if below else []
