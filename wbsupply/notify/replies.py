"""Russian replies of the Telegram bot's commands (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from wbsupply.domain.statuses import BotStatus, TaskPhase
from wbsupply.notify.messages import box_label, mask_phone

COMMANDS = {
    "status": "Состояние ботов и лимита",
    "tasks": "Активные задачи",
    "new": "Новая задача одной строкой (/new без параметров — подсказка)",
    "pause": "Приостановить поиск (все задачи или /pause N)",
    "resume": "Возобновить поиск (все задачи или /resume N)",
    "help": "Что умеет бот",
}

HELP = (
    "Я присылаю уведомления wbsupply: о забронированных поставках, найденных слотах, потере входа в WB "
    "и исчерпанном лимите.\n\n"
    "/status — состояние ботов и лимита\n"
    "/tasks — активные задачи\n"
    "/new — новая задача (по тем же правилам, что в кабинете; /new без параметров — подсказка)\n"
    "/pause — приостановить поиск слотов (/pause 12 — только задачу №12)\n"
    "/resume — возобновить поиск (/resume 12)\n"
    "/help — эта справка\n\n"
    "Если WB прислал код подтверждения, отправьте его сюда обычным сообщением."
)
NOT_LINKED = ("Этот чат не привязан к кабинету wbsupply. Откройте «Настройки» в кабинете, получите код и "
              "отправьте сюда: /start КОД")
LINK_FAILED = "Код не подошёл: он неверный, уже использован или устарел. Получите новый код в настройках кабинета."
NO_CODE_EXPECTED = ("Сейчас ни один аккаунт WB не ждёт кода. Чтобы войти заново, нажмите «Подключить заново» "
                    "в уведомлении или в кабинете на странице «Подключение WB».")
ACKNOWLEDGED = "Принято, больше не напоминаю"
ACK_UNKNOWN = "Это уведомление уже неактуально"
RECONNECT_STARTED = "Запросили код у Wildberries. Когда придёт SMS, пришлите код сюда (только цифры)."


def linked(email: str) -> str:
    return f"Готово: чат привязан к кабинету {email}. Сюда будут приходить уведомления.\n\n{HELP}"


@dataclass(frozen=True)
class AccountLine:
    id: int
    phone: str
    label: str
    status: BotStatus


@dataclass(frozen=True)
class TaskLine:
    id: int
    phase: TaskPhase
    box_type: str | None
    warehouses: int
    message: str | None


def status(accounts: Sequence[AccountLine], tasks_by_phase: dict[TaskPhase, int], used: int, limit: int) -> str:
    lines = ["Аккаунты WB:"]
    lines += [f"• {a.label or mask_phone(a.phone)} (№{a.id}): {a.status.label}" for a in accounts] or ["• нет"]
    lines.append("")
    lines.append("Задачи: " + (", ".join(f"{p.label} — {n}" for p, n in tasks_by_phase.items()) or "нет"))
    lines.append(f"Бронирований в этом месяце: {used} из {limit}")
    return "\n".join(lines)


def tasks(items: Sequence[TaskLine]) -> str:
    if not items:
        return "Активных задач нет. Создайте задачу в кабинете."
    lines = ["Активные задачи:"]
    for task in items:
        note = f" — {task.message}" if task.message else ""
        lines.append(f"№{task.id}: {task.phase.label}, {box_label(task.box_type)}, складов: {task.warehouses}{note}")
    return "\n".join(lines)


def paused(ids: Sequence[int]) -> str:
    return f"Приостановлено задач: {len(ids)} ({_ids(ids)})" if ids else "Нечего приостанавливать: нет задач в поиске."


def resumed(ids: Sequence[int]) -> str:
    if not ids:
        return "Нечего возобновлять: нет приостановленных задач."
    return f"Возобновлено задач: {len(ids)} ({_ids(ids)})"


def code_submitted(account: AccountLine) -> str:
    return f"Код передан боту аккаунта {account.label or mask_phone(account.phone)}. Проверяем…"


def code_ambiguous(accounts: Sequence[AccountLine]) -> str:
    choices = "\n".join(f"/code {a.id} КОД — {a.label or mask_phone(a.phone)}" for a in accounts)
    return f"Код ждут несколько аккаунтов. Укажите, для какого:\n{choices}"


def _ids(ids: Sequence[int]) -> str:
    return ", ".join(f"№{i}" for i in ids)
