"""Monitor accounts in the admin panel: connect one (the same phone → code → supplier relay as a seller's),
see how each is doing, pause one; and what the monitor's sources are doing right now."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from wbsupply.api.errors import Conflict, Invalid, NotFound
from wbsupply.api.logic import control, relay, wb
from wbsupply.store import User, WbAccount
from wbsupply.store.monitor_accounts import DEFAULT_REQUESTS_PER_MINUTE, MonitorAccount

NOT_FOUND = "Аккаунт мониторинга не найден"
SOURCE_LABELS = {"api": "публичный API WB", "cabinet": "отчёт кабинета (аккаунты мониторинга)"}
WB_API_LABELS = {
    "ok": "отвечает", "disabled": "метод отключён WB («временно отключён»)", "rate_limited": "WB ограничил частоту",
    "unauthorized": "токен отклонён", "unavailable": "не отвечает", "unknown": "ещё не опрашивался",
    "not_configured": "не настроен (нет токенов)",
}


def _row(session: Session, account_id: int) -> MonitorAccount:
    found = session.exec(select(MonitorAccount).where(col(MonitorAccount.account_id) == account_id)).first()
    if found is None:
        raise NotFound(NOT_FOUND)
    return found


def add(session: Session, user: User, phone: str, label: str = "", requests_per_minute: Any = None) -> WbAccount:
    phone = relay.normalize_phone(phone)
    rpm = int(requests_per_minute) if str(requests_per_minute or "").isdigit() else DEFAULT_REQUESTS_PER_MINUTE
    if not 1 <= rpm <= 12:
        raise Invalid("Бюджет запросов: от 1 до 12 в минуту на аккаунт")
    owned = session.exec(select(WbAccount).join(MonitorAccount, col(MonitorAccount.account_id) == col(WbAccount.id))
                         .where(col(WbAccount.phone) == phone)).first()
    if owned is not None:
        raise Conflict("Этот номер уже подключён для мониторинга")
    account = WbAccount(owner_id=user.id or 0, phone=phone, label=(label or "").strip()[:100] or "мониторинг")
    session.add(account)
    session.flush()
    session.add(MonitorAccount(account_id=account.id or 0, requests_per_minute=rpm))
    session.commit()
    control.publish_bot(session, account)  # its bot keeps the session, as a seller's does
    relay.submit(session, account, "phone", phone)
    return account


def submit_step(session: Session, user: User, account_id: int, kind: str, value: str | None) -> dict[str, Any]:
    _row(session, account_id)
    return wb.submit_step(session, user, account_id, kind, value)


def set_enabled(session: Session, user: User, account_id: int, enabled: bool) -> None:
    row = _row(session, account_id)
    row.enabled = enabled
    session.add(row)
    session.commit()


def views(session: Session) -> list[dict[str, Any]]:
    rows = session.exec(select(MonitorAccount, WbAccount).join(
        WbAccount, col(WbAccount.id) == col(MonitorAccount.account_id)).order_by(col(MonitorAccount.id))).all()
    return [{**wb.view(session, account).as_dict(), "enabled": row.enabled,
             "requests_per_minute": row.requests_per_minute, "last_ok_at": row.last_ok_at,
             "last_error": row.last_error, "auth_attempts": account.auth_attempts} for row, account in rows]


def live(monitor: Any) -> dict[str, Any] | None:
    """What the in-process monitor does now (None when it runs in its own process: see its /metrics)."""
    if monitor is None:
        return None
    health = monitor.health()
    return {
        "source": health["source"], "source_label": SOURCE_LABELS.get(health["source"], health["source"]),
        "on_fallback": health["on_fallback"], "lag_s": health["lag_s"], "wb_api": health["wb_api"],
        "wb_api_label": WB_API_LABELS.get(health["wb_api"], health["wb_api"]),
        "detection_lag_mean_s": health["detection_lag_mean_s"], "accounts": health["monitor_accounts"],
        "sources": [{"name": name, "label": SOURCE_LABELS.get(name, name), **state}
                    for name, state in health["sources"].items()],
        "last_error": health["last_error"],
    }
