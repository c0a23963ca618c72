"""Russian texts of every notification, built from an outbox row's ``kind`` and ``payload`` (pure, no I/O).

One :class:`Message` serves all channels: Telegram shows ``title`` in bold, ``text`` and ``buttons``; e-mail
uses ``title`` as the subject; the cabinet feed shows both. Unknown kinds fall back to ``payload["text"]``,
so a producer can add a kind before a template exists.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from wbsupply.domain.statuses import BotStatus, BoxType

# Kinds that stop the seller's bookings until the seller acts: repeated until acknowledged.
URGENT_KINDS = frozenset({"auth_lost", "auth_code_needed", "bot_paused", "bot_error"})
# E-mail is for what must not be missed even without Telegram.
EMAIL_KINDS = frozenset({"auth_lost", "auth_code_needed", "quota_exceeded"})
ADMIN_KINDS = frozenset({"monitor_degraded", "wb_api_disabled", "bot_crash_loop"})
# The cabinet's notification settings name groups of events (wbsupply.api.logic.notifications.EVENTS).
PREF_EVENT_OF_KIND = {
    "booked": "booked",
    "slot_found": "slot_found",
    "booking_failed": "failed",
    "slot_lost": "failed",
    "task_expired": "failed",
    "auth_lost": "auth_lost",
    "auth_code_needed": "auth_lost",
    "bot_paused": "auth_lost",
    "bot_error": "auth_lost",
    "quota_exceeded": "quota",
}
ACK_PREFIX = "ack:"  # callback data of the «Принято» button: ack:<outbox id of the first message>
RECONNECT_PREFIX = "reconnect:"  # «Подключить заново»: reconnect:<WB account id>
_WEEKDAYS = ("пн", "вт", "ср", "чт", "пт", "сб", "вс")


@dataclass(frozen=True)
class Button:
    """An inline button with callback data (at most 64 bytes). No URL buttons: Telegram refuses links to
    hosts such as 127.0.0.1, and a self-hosted cabinet often has one; links go into the text."""

    text: str
    data: str


@dataclass(frozen=True)
class Message:
    title: str
    text: str
    link: str | None = None  # the cabinet page this is about
    buttons: tuple[Button, ...] = field(default=())
    urgent: bool = False

    def telegram_html(self) -> str:
        body = f"<b>{html.escape(self.title)}</b>\n\n{html.escape(self.text)}"
        return body if self.link is None else f"{body}\n\n{html.escape(self.link)}"

    def plain(self) -> str:
        return self.text if self.link is None else f"{self.text}\n\nОткрыть в кабинете: {self.link}"


def render(kind: str, payload: Mapping[str, Any], cabinet_url: str) -> Message:
    """The message for one outbox row; reminders of urgent ones say which reminder they are."""
    base = cabinet_url.rstrip("/")
    builder = _BUILDERS.get(kind)
    message = builder(payload, base) if builder else _fallback(kind, payload)
    repeat = int(payload.get("repeat") or 0)
    if repeat:
        message = Message(f"Напоминание {repeat}: {message.title}", message.text, message.link,
                          message.buttons, message.urgent)
    return message


def with_ack_button(message: Message, root_id: int) -> Message:
    ack = Button("✅ Принято, больше не напоминать", f"{ACK_PREFIX}{root_id}")
    return Message(message.title, message.text, message.link, (*message.buttons, ack), message.urgent)


def is_urgent(kind: str, payload: Mapping[str, Any]) -> bool:
    return bool(payload.get("urgent", kind in URGENT_KINDS))


# --- formatting helpers ------------------------------------------------------------------------------------


def slot_date(value: str | dt.date | None) -> str:
    if value is None:
        return "дата не указана"
    day = value if isinstance(value, dt.date) else dt.date.fromisoformat(value)
    return f"{day:%d.%m.%Y} ({_WEEKDAYS[day.weekday()]})"


def coefficient(value: float | int | None) -> str:
    if value is None:
        return "не указан"
    if value <= 0:
        return "бесплатно (0)"
    return f"×{value:g}"


def box_label(value: str | None) -> str:
    try:
        return BoxType(value).label if value else "тип поставки не указан"
    except ValueError:
        return str(value)


def mask_phone(phone: str | None) -> str:
    """+79161234567 → +7 916 ***-**-67: enough to tell accounts apart, not a full number in a chat log."""
    if not phone or len(phone) < 6:
        return phone or ""
    return f"{phone[:2]} {phone[2:5]} ***-**-{phone[-2:]}"


def _slot_lines(slot: Mapping[str, Any]) -> str:
    warehouse = slot.get("warehouse_name") or f"склад {slot.get('warehouse_id', '?')}"
    return (f"Склад: {warehouse}\nДата: {slot_date(slot.get('date'))}\n"
            f"Тип: {box_label(slot.get('box_type'))}\nКоэффициент приёмки: {coefficient(slot.get('coefficient'))}")


def _account(payload: Mapping[str, Any]) -> str:
    phone = mask_phone(payload.get("phone"))
    label = payload.get("account_label") or ""
    who = " ".join(part for part in (label, phone) if part)
    return who or f"№{payload.get('account_id', '?')}"


def _task_link(base: str, payload: Mapping[str, Any]) -> str:
    task_id = payload.get("task_id")
    return f"{base}/tasks/{task_id}" if task_id else f"{base}/tasks"


# --- one builder per kind ----------------------------------------------------------------------------------


def _booked(p: Mapping[str, Any], base: str) -> Message:
    supply = p.get("supply_id")
    text = f"{_slot_lines(p.get('slot') or {})}\nНомер поставки (supplyID): {supply or 'уточняется'}"
    return Message("Поставка запланирована", text, _task_link(base, p))


def _slot_found(p: Mapping[str, Any], base: str) -> Message:
    text = (f"{_slot_lines(p.get('slot') or {})}\n\nЗадача в режиме «только уведомить»: бронируйте сами, "
            "пока слот не заняли.")
    return Message("Найден подходящий слот", text, _task_link(base, p))


def _auth_lost(p: Mapping[str, Any], base: str) -> Message:
    text = (f"Аккаунт WB {_account(p)}: Wildberries завершил сессию, автоматически войти не удалось. "
            "Бот приостановлен, задачи ждут.\n\nПодключите аккаунт в кабинете. Если WB прислал код по SMS, "
            "отправьте его сюда ответным сообщением (только цифры).")
    return Message("Нужен вход в WB", text, f"{base}/wb", _reconnect(p), urgent=True)


def _auth_code_needed(p: Mapping[str, Any], base: str) -> Message:
    text = (f"Аккаунт WB {_account(p)}: Wildberries отправил код подтверждения. "
            "Пришлите код сюда ответным сообщением (только цифры) или введите его в кабинете.")
    return Message("Введите код от WB", text, f"{base}/wb", urgent=True)


def _reconnect(p: Mapping[str, Any]) -> tuple[Button, ...]:
    account_id = p.get("account_id")
    return (Button("🔄 Подключить заново", f"{RECONNECT_PREFIX}{account_id}"),) if account_id else ()


def _bot_state(p: Mapping[str, Any], base: str) -> Message:
    status = p.get("status") or BotStatus.ERROR.value
    label = BotStatus(status).label if status in BotStatus.__members__.values() else str(status)
    reason = p.get("reason") or p.get("error") or p.get("text") or "причина не указана"
    text = f"Бот аккаунта WB {_account(p)}: «{label}».\nПричина: {reason}\n\nПока бот стоит, слоты не бронируются."
    return Message("Бот остановлен", text, f"{base}/wb", urgent=True)


def _quota(p: Mapping[str, Any], base: str) -> Message:
    limit, used = p.get("limit"), p.get("used")
    count = f" ({used} из {limit})" if limit is not None and used is not None else ""
    text = (f"Лимит бронирований по тарифу на этот месяц исчерпан{count}. Боты больше не бронируют до начала "
            "следующего месяца или смены тарифа.")
    if p.get("slot"):
        text += f"\n\nПропущен подходящий слот:\n{_slot_lines(p['slot'])}"
    return Message("Лимит тарифа исчерпан", text, f"{base}/bookings")


def _task_expired(p: Mapping[str, Any], base: str) -> Message:
    text = (f"Задача №{p.get('task_id', '?')}: срок истёк, подходящий слот не найден. "
            "Создайте новую задачу при необходимости.")
    return Message("Срок задачи истёк", text, _task_link(base, p))


def _booking_failed(p: Mapping[str, Any], base: str) -> Message:
    reason = p.get("reason") or p.get("text") or "слот заняли раньше нас"
    return Message("Забронировать не удалось", f"Задача №{p.get('task_id', '?')}: {reason}. Продолжаем искать.",
                   _task_link(base, p))


def _telegram_blocked(p: Mapping[str, Any], base: str) -> Message:
    text = ("Telegram сообщил, что вы заблокировали нашего бота, поэтому чат отвязан. Чтобы снова получать "
            "уведомления в Telegram, получите новый код в настройках и отправьте его боту.")
    return Message("Telegram отключён", text, f"{base}/settings")


def _monitor_degraded(p: Mapping[str, Any], base: str) -> Message:
    return Message("Мониторинг работает с перебоями",
                   f"Источник: {p.get('source', '?')}. {p.get('reason') or p.get('text') or ''}".strip(),
                   f"{base}/admin")


def _wb_api_disabled(p: Mapping[str, Any], base: str) -> Message:
    text = (f"WB отключил метод публичного API: {p.get('detail') or p.get('text') or 'без подробностей'}. "
            "Мониторинг переключён на отчёт кабинета (бот-монитор).")
    return Message("WB API недоступен", text, f"{base}/admin")


def _crash_loop(p: Mapping[str, Any], base: str) -> Message:
    text = (f"Бот аккаунта {_account(p)} перезапустился {p.get('restarts', '?')} раз подряд. "
            f"Последняя ошибка: {p.get('error') or p.get('text') or 'не указана'}")
    return Message("Бот падает при запуске", text, f"{base}/admin/bots")


def _fallback(kind: str, p: Mapping[str, Any]) -> Message:
    return Message(str(p.get("title") or "Уведомление wbsupply"), str(p.get("text") or kind))


_BUILDERS: dict[str, Callable[[Mapping[str, Any], str], Message]] = {
    "booked": _booked,
    "slot_found": _slot_found,
    "auth_lost": _auth_lost,
    "auth_code_needed": _auth_code_needed,
    "bot_paused": _bot_state,
    "bot_error": _bot_state,
    "quota_exceeded": _quota,
    "task_expired": _task_expired,
    "booking_failed": _booking_failed,
    "slot_lost": _booking_failed,
    "telegram_blocked": _telegram_blocked,
    "monitor_degraded": _monitor_degraded,
    "wb_api_disabled": _wb_api_disabled,
    "bot_crash_loop": _crash_loop,
}
KNOWN_KINDS = frozenset(_BUILDERS)
