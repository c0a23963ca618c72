"""``/new`` in Telegram: a task from one line, by exactly the web form's rules.

The line is parsed into the same data the cabinet's form and the JSON API send, and the task is created by
:func:`wbsupply.api.logic.tasks.create_task` (the same validation, claims, limits and Russian messages).
Pausing and resuming stay with the existing ``/pause`` and ``/resume``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine
from sqlmodel import col, select

from wbsupply.api.errors import ApiError
from wbsupply.api.logic import tasks
from wbsupply.notify import replies
from wbsupply.store import User, WbAccount
from wbsupply.store.engine import session_factory

USAGE = (
    "Новая задача одной строкой: /new склады=507,117501 тип=короба коэф=1 дни=14 черновик=ID\n"
    "Ещё можно: с=ГГГГ-ММ-ДД по=ГГГГ-ММ-ДД, заказ=N, аккаунт=N (если аккаунтов WB несколько), хранение=150, "
    "логистика=120, нераньше=3, паллеты=4 (монопаллеты), будни, безпраздников, уведомить (без черновика).\n"
    "Типы: короба, монопаллеты, суперсейф, qr, паллета."
)
_KEYS = {
    "склады": "warehouses", "тип": "box_type", "коэф": "max_coefficient", "дни": "lead_time_days",
    "с": "date_from", "по": "date_to", "черновик": "draft_id", "заказ": "preorder_id", "аккаунт": "account_id",
    "хранение": "max_storage_coefficient", "логистика": "max_logistics_coefficient", "нераньше": "min_days_ahead",
    "паллеты": "pallet_count", "срок": "deadline",
}
_FLAGS: dict[str, dict[str, Any]] = {
    "будни": {"weekdays": [0, 1, 2, 3, 4]},
    "безпраздников": {"skip_holidays": True},
    "уведомить": {"mode": "notify"},
}
_BOXES = {"короба": "boxes", "монопаллеты": "monopallets", "суперсейф": "supersafe", "qr": "qr",
          "паллета": "boxes_on_pallet"}


def parse(words: Sequence[str]) -> dict[str, Any]:
    """``key=value`` words and flags → task data; ValueError with a Russian message for what is not known."""
    data: dict[str, Any] = {"mode": "book"}
    for word in words:
        key, sep, value = word.partition("=")
        key = key.strip().lower()
        if not sep:
            if key not in _FLAGS:
                raise ValueError(f"Не понял «{word}»")
            data.update(_FLAGS[key])
            continue
        if key not in _KEYS:
            raise ValueError(f"Неизвестный параметр «{key}»")
        name = _KEYS[key]
        if name == "warehouses":
            data[name] = [part.strip() for part in value.split(",") if part.strip()]
        elif name == "box_type":
            data[name] = _BOXES.get(value.strip().lower(), value.strip())
        else:
            data[name] = value.strip()
    return data


def create(engine: Engine, chat_id: int, words: Sequence[str]) -> str:
    if not words:
        return USAGE
    with session_factory(engine)() as session:
        user = session.exec(select(User).where(User.telegram_chat_id == chat_id, col(User.active))).first()
        if user is None:
            return replies.NOT_LINKED
        try:
            data = parse(words)
        except ValueError as problem:
            return f"{problem}.\n\n{USAGE}"
        if "account_id" not in data:
            accounts = session.exec(select(WbAccount).where(WbAccount.owner_id == user.id)).all()
            if len(accounts) != 1:
                listed = ", ".join(f"{a.id} ({a.label or a.phone})" for a in accounts) or "нет — подключите в кабинете"
                return f"Укажите аккаунт WB: аккаунт=N. Ваши аккаунты: {listed}"
            data["account_id"] = accounts[0].id
        try:
            task = tasks.create_task(session, user, data)
        except ApiError as error:
            return "Задача не создана: " + "; ".join(error.errors)
        mode = "только уведомлять" if data.get("mode") == "notify" else "бронировать"
        return (f"Создана задача №{task.id} ({mode}). Бот возьмёт её в работу через несколько секунд.\n"
                f"/pause {task.id} — приостановить, /resume {task.id} — возобновить, /tasks — список")
