"""SupplyTask admission: validate the spec with the domain model, assign the bot, check quota and deadline.

``admit`` is pure: it takes the task and what the operator knows of its SellerBot (from a kopf index)
and returns the phase/message/labels to write. The worker owns Watching/Booking/Booked; the operator
only moves a task where the domain state machine allows it.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from wbsupply.domain.machines import can_move
from wbsupply.domain.schedule import moscow_today
from wbsupply.domain.statuses import TaskPhase
from wbsupply.domain.tariffs import Plan, QuotaExceeded, month_of
from wbsupply.domain.tasks import SupplyTaskSpec, check_against_today, russian_errors
from wbsupply.kube.names import LABEL_BOT, bot_label

_CAMEL_HUMP = re.compile(r"(?<!^)(?=[A-Z])")
# The domain spec has no bot (the runtime assigns it), no owner and no pause (columns of the task row).
CRD_ONLY_FIELDS = frozenset({"sellerBotRef", "seller", "paused"})


@dataclasses.dataclass(frozen=True)
class BotInfo:
    """What a SupplyTask needs to know of its SellerBot (kept in a kopf index, no API reads)."""

    account_id: str
    plan: Plan
    bookings_this_month: int

    @classmethod
    def from_sellerbot(cls, spec: Mapping[str, Any], status: Mapping[str, Any]) -> BotInfo:
        return cls(
            account_id=str(spec["wbAccountRef"]["accountId"]),
            plan=Plan(spec["tariff"]),
            bookings_this_month=int(status.get("bookingsThisMonth") or 0),
        )


@dataclasses.dataclass(frozen=True)
class Admission:
    phase: TaskPhase | None  # None: leave the phase as it is
    message: str = ""
    labels: dict[str, str] = dataclasses.field(default_factory=dict)

    def status_patch(self) -> dict[str, Any]:
        if self.phase is None:
            return {}
        return {"phase": self.phase.value, "message": self.message}


def snake_case(name: str) -> str:
    return _CAMEL_HUMP.sub("_", name).lower()


def to_domain(spec: Mapping[str, Any]) -> SupplyTaskSpec:
    """The CRD spec (camelCase) as the domain model; raises pydantic's ValidationError."""
    data = {snake_case(key): value for key, value in spec.items() if key not in CRD_ONLY_FIELDS}
    return SupplyTaskSpec.model_validate(data)


def _target(current: TaskPhase | None, target: TaskPhase, message: str, labels: dict[str, str]) -> Admission:
    """Move to ``target`` if it is a change the domain state machine allows; otherwise leave the phase."""
    if current is None or can_move(current, target):
        return Admission(target, message, labels)
    return Admission(None, labels=labels)


def admit(spec: Mapping[str, Any], phase: str | None, bot: BotInfo | None, now: datetime.datetime) -> Admission:
    current = TaskPhase(phase) if phase else None
    if current is not None and current.is_final:
        return Admission(None)
    bot_name = str((spec.get("sellerBotRef") or {}).get("name", ""))
    labels = {LABEL_BOT: bot_label(bot_name)} if bot_name else {}
    try:
        domain = to_domain(spec)
    except ValidationError as exc:
        return _target(current, TaskPhase.FAILED, "; ".join(russian_errors(exc)), labels)
    if domain.is_expired(now):
        return _target(current, TaskPhase.EXPIRED, "Срок задачи истёк", labels)
    if current is None:
        problems = check_against_today(domain, moscow_today(now), now)
        if problems:
            return _target(current, TaskPhase.FAILED, "; ".join(problems), labels)
    if bot is None:
        return _target(current, TaskPhase.PENDING, f"Ожидает бота {bot_name}", labels)
    if bot.account_id != domain.account_id:
        message = f"Задача для аккаунта WB {domain.account_id}, а бот {bot_name} работает с {bot.account_id}"
        return _target(current, TaskPhase.FAILED, message, labels)
    limit = bot.plan.monthly_bookings
    if bot.bookings_this_month >= limit:
        return _target(current, TaskPhase.QUOTA_EXCEEDED, QuotaExceeded(month_of(now), limit).message_ru, labels)
    if current in (None, TaskPhase.QUOTA_EXCEEDED):
        return _target(current, TaskPhase.PENDING, "Ожидает запуска", labels)
    return Admission(None, labels=labels)
