"""Russian texts of every notification, built from an outbox row's ``kind`` and ``payload`` (pure, no I/O).

One :class:`Message` serves all channels: Telegram shows ``title`` in bold, ``text`` and ``buttons``; e-mail
uses ``title`` as the subject; the cabinet feed shows both. Kinds are :class:`wbsupply.notify.kinds.NoticeKind`;
producers send facts (payload), never ready text, so every channel shows the same words. A row of an unknown
kind (written by an older version) falls back to ``payload["text"]``.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from wbsupply.domain.ruformat import plural, ru_date
from wbsupply.domain.statuses import BotStatus, BoxType
from wbsupply.notify.kinds import ADMIN_KINDS, EMAIL_KINDS, PREF_EVENT_OF_KIND, URGENT_KINDS, NoticeKind

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
    return f"{ru_date(day)} ({_WEEKDAYS[day.weekday()]})"


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
    moved_from = p.get("moved_from")
    if isinstance(moved_from, Mapping):  # a reschedule: the same supply on a better slot
        text += f"\n\nПоставка перенесена на лучший слот. Прежний слот: {moved_from.get('date', '—')}, " \
                f"коэффициент {moved_from.get('coefficient', '—')}"
        return Message("Поставка перенесена", text, _task_link(base, p))
    was = p.get("was")
    if p.get("wb_moved") and isinstance(was, Mapping):  # moved in WB's cabinet, not by the bot: the task follows WB
        date = (p.get("slot") or {}).get("date", "—")
        text += f"\n\nWB показывает поставку на {date} (в задаче была {was.get('date', '—')}): её перенесли " \
                "в кабинете WB, не бот. Задача обновлена по данным WB."
        return Message("WB показывает поставку на другую дату", text, _task_link(base, p))
    if p.get("adopted"):  # planned by the seller by hand; the task keeps looking for a better slot
        lead = f"Поставка по заказу {p.get('preorder_id', '?')} уже запланирована — бот ищет слот лучше."
        return Message("Ищем слот лучше", f"{lead}\n\n{text}\n\nБронирование тарифа не списано.",
                       _task_link(base, p))
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
    if p.get("admin_copy") and p.get("error") and p.get("error") != reason:
        text += f"\n\nДля администратора: {p['error']}"  # the technical cause, not for the seller's eyes
    link = f"{base}/admin/bots" if p.get("admin_copy") else f"{base}/wb"
    return Message("Бот остановился с ошибкой", text, link, urgent=True)


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
    reason = p.get("reason") or p.get("text") or "причина не указана"
    text = f"Задача №{p.get('task_id', '?')}: {reason}. Задача остановлена: исправьте её или создайте новую."
    return Message("Забронировать не удалось", text, _task_link(base, p))


def _slot_lost(p: Mapping[str, Any], base: str) -> Message:
    slot = f"\n\n{_slot_lines(p['slot'])}" if p.get("slot") else ""
    text = (f"Задача №{p.get('task_id', '?')}: слот заняли раньше нас, бронирование не списано. "
            f"Продолжаем искать.{slot}")
    return Message("Слот перехватили", text, _task_link(base, p))


def _telegram_blocked(p: Mapping[str, Any], base: str) -> Message:
    text = ("Telegram сообщил, что вы заблокировали нашего бота, поэтому чат отвязан. Чтобы снова получать "
            "уведомления в Telegram, получите новый код в настройках и отправьте его боту.")
    return Message("Telegram отключён", text, f"{base}/settings")


_SOURCES = {"api": "публичный API WB", "cabinet": "отчёт кабинета WB (бот-монитор)"}


def _monitor_degraded(p: Mapping[str, Any], base: str) -> Message:
    source = _SOURCES.get(str(p.get("source")), str(p.get("source", "?")))
    return Message("Мониторинг работает с перебоями",
                   f"Источник: {source}. {p.get('reason') or p.get('text') or ''}".strip(),
                   f"{base}/admin/alerts")


def _wb_api_disabled(p: Mapping[str, Any], base: str) -> Message:
    text = (f"WB отключил метод публичного API: {p.get('detail') or p.get('text') or 'без подробностей'}. "
            "Мониторинг переключён на отчёт кабинета (бот-монитор).")
    return Message("WB API недоступен", text, f"{base}/admin/alerts")


def _crash_loop(p: Mapping[str, Any], base: str) -> Message:
    restarts = p.get("restarts")
    times = f"{restarts} {plural(restarts, 'раз', 'раза', 'раз')}" if isinstance(restarts, int) else "несколько раз"
    text = (f"Бот аккаунта {_account(p)} аварийно остановился {times} подряд за короткое время. "
            f"Последняя ошибка: {p.get('error') or p.get('text') or 'не указана'}")
    return Message("Бот падает при запуске", text, f"{base}/admin/bots")


def _component_failed(p: Mapping[str, Any], base: str) -> Message:
    text = (f"Компонент «{p.get('component') or '?'}» сервиса упал и перезапускается, остальные работают. "
            f"Ошибка: {p.get('error') or p.get('text') or 'не указана'}")
    return Message("Сбой компонента сервиса", text, f"{base}/admin")


def _fallback(kind: str, p: Mapping[str, Any]) -> Message:
    return Message(str(p.get("title") or "Уведомление wbsupply"), str(p.get("text") or kind))


_BUILDERS: dict[str, Callable[[Mapping[str, Any], str], Message]] = {
    NoticeKind.BOOKED: _booked,
    NoticeKind.SLOT_FOUND: _slot_found,
    NoticeKind.AUTH_LOST: _auth_lost,
    NoticeKind.AUTH_CODE_NEEDED: _auth_code_needed,
    NoticeKind.BOT_ERROR: _bot_state,
    NoticeKind.QUOTA_EXCEEDED: _quota,
    NoticeKind.TASK_EXPIRED: _task_expired,
    NoticeKind.BOOKING_FAILED: _booking_failed,
    NoticeKind.SLOT_LOST: _slot_lost,
    NoticeKind.TELEGRAM_BLOCKED: _telegram_blocked,
    NoticeKind.MONITOR_DEGRADED: _monitor_degraded,
    NoticeKind.WB_API_DISABLED: _wb_api_disabled,
    NoticeKind.BOT_CRASH_LOOP: _crash_loop,
    NoticeKind.COMPONENT_FAILED: _component_failed,
}
KNOWN_KINDS = frozenset(str(kind) for kind in _BUILDERS)
__all__ = ["ADMIN_KINDS", "EMAIL_KINDS", "KNOWN_KINDS", "PREF_EVENT_OF_KIND", "URGENT_KINDS", "Message", "render"]
