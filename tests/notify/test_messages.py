"""Texts of every notification kind, and the pure scheduling rules (backoff, quiet hours)."""

from __future__ import annotations

import datetime as dt

import pytest

from wbsupply.domain.schedule import MOSCOW
from wbsupply.notify.email import build_email
from wbsupply.notify.messages import KNOWN_KINDS, URGENT_KINDS, is_urgent, mask_phone, render, with_ack_button
from wbsupply.notify.schedule import backoff, next_reminder_at, quiet_hours_of, quiet_until

CABINET = "https://cabinet.example.ru/"
SLOT = {"warehouse_id": 507, "warehouse_name": "Коледино", "date": "2026-12-04", "box_type": "monopallets",
        "coefficient": 2}
# One written-out number on purpose: these tests pin its masked form word for word.
ACCOUNT = {"account_id": 4, "phone": "+79161234567"}


@pytest.mark.parametrize(("kind", "payload", "expected"), [
    ("booked", {"task_id": 12, "supply_id": 3500123, "slot": SLOT},
     ["Поставка запланирована", "Склад: Коледино", "4 декабря 2026 (пт)", "Монопаллеты", "×2", "supplyID): 3500123",
      "https://cabinet.example.ru/tasks/12"]),
    ("booked", {"task_id": 12, "slot": {**SLOT, "coefficient": 0}}, ["бесплатно (0)", "уточняется"]),
    ("slot_found", {"task_id": 5, "slot": SLOT}, ["Найден подходящий слот", "только уведомить", "/tasks/5"]),
    ("auth_lost", ACCOUNT, ["Нужен вход в WB", "+7 916 ***-**-67", "отправьте его сюда", "https://cabinet.example.ru/wb"]),
    ("auth_code_needed", ACCOUNT, ["Введите код от WB", "Пришлите код сюда"]),
    ("bot_error", {**ACCOUNT, "status": "WAITING_AUTH", "reason": "сессия истекла"},
     ["Бот остановился", "«Ожидание авторизации»", "сессия истекла"]),
    ("slot_lost", {"task_id": 8, "slot": SLOT}, ["Слот перехватили", "Задача №8", "Коледино", "не списано"]),
    ("bot_error", {**ACCOUNT, "status": "ERROR", "error": "браузер упал"}, ["«Ошибка»", "браузер упал"]),
    ("quota_exceeded", {"limit": 10, "used": 10, "slot": SLOT}, ["Лимит тарифа исчерпан", "(10 из 10)", "Коледино"]),
    ("task_expired", {"task_id": 8}, ["Срок задачи истёк", "Задача №8"]),
    ("booking_failed", {"task_id": 8, "reason": "слот заняли"}, ["Забронировать не удалось", "слот заняли"]),
    ("telegram_blocked", {}, ["Telegram отключён", "/settings"]),
    ("monitor_degraded", {"source": "api", "reason": "429 подряд"}, ["Мониторинг", "публичный API", "429 подряд"]),
    ("wb_api_disabled", {"detail": "This method is temporarily disabled"}, ["WB API недоступен", "temporarily"]),
    ("bot_crash_loop", {**ACCOUNT, "restarts": 6, "error": "OOM"}, ["6 раз", "OOM"]),
    ("something_new", {"text": "Текст от производителя"}, ["Уведомление wbsupply", "Текст от производителя"]),
])
def test_every_kind_has_a_russian_text(kind: str, payload: dict[str, object], expected: list[str]) -> None:
    message = render(kind, payload, CABINET)
    shown = f"{message.title}\n{message.plain()}"
    for part in expected:
        assert part in shown
    assert "79161234567" not in shown


def test_every_known_kind_renders_without_payload() -> None:
    for kind in KNOWN_KINDS:
        assert render(kind, {}, CABINET).title


def test_telegram_html_escapes_seller_data() -> None:
    message = render("booked", {"slot": {**SLOT, "warehouse_name": "<Склад & Ко>"}}, CABINET)
    assert "&lt;Склад &amp; Ко&gt;" in message.telegram_html() and message.telegram_html().startswith("<b>")


def test_urgency_and_reminders() -> None:
    assert URGENT_KINDS <= KNOWN_KINDS and is_urgent("auth_lost", {}) and not is_urgent("booked", {})
    assert is_urgent("booked", {"urgent": True})
    reminder = with_ack_button(render("auth_lost", {**ACCOUNT, "repeat": 2}, CABINET), 77)
    assert reminder.title == "Напоминание 2: Нужен вход в WB"
    assert [b.data for b in reminder.buttons] == ["reconnect:4", "ack:77"]


def test_email_is_plain_russian_with_the_link() -> None:
    mail = build_email(render("quota_exceeded", {"limit": 5, "used": 5}, CABINET), "robot@x.ru", "s@x.ru")
    assert mail["Subject"] == "wbsupply: Лимит тарифа исчерпан"
    assert "https://cabinet.example.ru/bookings" in mail.get_content()


def test_phone_masking() -> None:
    assert mask_phone("+79161234567") == "+7 916 ***-**-67"
    assert mask_phone(None) == "" and mask_phone("123") == "123"


def test_backoff_doubles_up_to_the_cap() -> None:
    assert [backoff(n, 5, 60).total_seconds() for n in (1, 2, 3, 4, 5, 9)] == [5, 10, 20, 40, 60, 60]


def _msk(hour: int, minute: int = 0, day: int = 10) -> dt.datetime:
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=MOSCOW)


NIGHT = (dt.time(23, 0), dt.time(8, 0))


@pytest.mark.parametrize(("now", "hours", "until"), [
    (_msk(23, 30), NIGHT, _msk(8, day=11)),
    (_msk(2, 0), NIGHT, _msk(8)),
    (_msk(8, 0), NIGHT, None),
    (_msk(22, 59), NIGHT, None),
    (_msk(14, 0), (dt.time(13, 0), dt.time(15, 0)), _msk(15)),
    (_msk(16, 0), (dt.time(13, 0), dt.time(15, 0)), None),
    (_msk(2, 0), None, None),
    (_msk(2, 0), (dt.time(8, 0), dt.time(8, 0)), None),
])
def test_quiet_hours_in_moscow_time(now: dt.datetime, hours: tuple[dt.time, dt.time] | None,
                                    until: dt.datetime | None) -> None:
    result = quiet_until(now.astimezone(dt.UTC), hours)
    assert result == (None if until is None else until.astimezone(dt.UTC))


def test_reminders_skip_quiet_hours_and_sellers_choose_their_own() -> None:
    interval = dt.timedelta(minutes=2)
    assert next_reminder_at(_msk(22, 59), interval, NIGHT) == _msk(8, day=11)
    assert next_reminder_at(_msk(12, 0), interval, NIGHT) == _msk(12, 2)
    assert quiet_hours_of({"quiet_hours": {"start": "00:00", "end": "07:00"}}, NIGHT) == (dt.time(0), dt.time(7))
    assert quiet_hours_of({"quiet_hours": None}, NIGHT) is None
    assert quiet_hours_of({}, NIGHT) == NIGHT
    assert quiet_hours_of({"quiet_hours": {"start": "bad"}}, NIGHT) == NIGHT
