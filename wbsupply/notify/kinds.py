"""The one vocabulary of notice kinds: producers, the renderer (:mod:`wbsupply.notify.messages`), the notifier
and the cabinet feed all name a notice by a :class:`NoticeKind` and read its traits from here.

Every kind has a producer where its event happens (``tests/notify/test_kinds.py`` checks it):

- worker: booked, slot_found, slot_lost, booking_failed, task_expired, quota_exceeded, auth_lost,
  auth_code_needed;
- supervisor (embedded) and operator hook (cluster): bot_error, bot_crash_loop;
- monitor: monitor_degraded, wb_api_disabled (through :func:`wbsupply.notify.outbox.alert_admins`);
- runtime (``wbsupply up``): component_failed, when a component fails and is restarted;
- notifier: telegram_blocked.

Pure: no I/O, no database, safe to import from the worker and the monitor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class NoticeKind(StrEnum):
    BOOKED = "booked"
    SLOT_FOUND = "slot_found"
    SLOT_LOST = "slot_lost"
    BOOKING_FAILED = "booking_failed"
    TASK_EXPIRED = "task_expired"
    QUOTA_EXCEEDED = "quota_exceeded"
    AUTH_LOST = "auth_lost"
    AUTH_CODE_NEEDED = "auth_code_needed"
    BOT_ERROR = "bot_error"
    TELEGRAM_BLOCKED = "telegram_blocked"
    BOT_CRASH_LOOP = "bot_crash_loop"
    MONITOR_DEGRADED = "monitor_degraded"
    WB_API_DISABLED = "wb_api_disabled"
    COMPONENT_FAILED = "component_failed"


class Group(StrEnum):
    """The cabinet feed's filters; also the groups of the seller's notification switches."""

    BOOKED = "booked"
    SLOT_FOUND = "slot_found"
    FAILED = "failed"
    AUTH_LOST = "auth_lost"
    QUOTA = "quota"
    SERVICE = "service"  # about the service itself (admins), or the channel (telegram_blocked)

    @property
    def label(self) -> str:
        return _GROUP_LABELS[self]


_GROUP_LABELS = {
    Group.BOOKED: "Бронирования",
    Group.SLOT_FOUND: "Найденные слоты",
    Group.FAILED: "Неудачи",
    Group.AUTH_LOST: "Вход в WB и боты",
    Group.QUOTA: "Тариф",
    Group.SERVICE: "Сервис",
}


@dataclass(frozen=True)
class Traits:
    group: Group
    urgent: bool = False  # stops the seller's bookings until they act: reminded until acknowledged
    email: bool = False  # must not be missed even without Telegram
    admin: bool = False  # for the service's operators, not a seller


TRAITS: dict[NoticeKind, Traits] = {
    NoticeKind.BOOKED: Traits(Group.BOOKED),
    NoticeKind.SLOT_FOUND: Traits(Group.SLOT_FOUND),
    NoticeKind.SLOT_LOST: Traits(Group.FAILED),
    NoticeKind.BOOKING_FAILED: Traits(Group.FAILED),
    NoticeKind.TASK_EXPIRED: Traits(Group.FAILED),
    NoticeKind.QUOTA_EXCEEDED: Traits(Group.QUOTA, email=True),
    NoticeKind.AUTH_LOST: Traits(Group.AUTH_LOST, urgent=True, email=True),
    NoticeKind.AUTH_CODE_NEEDED: Traits(Group.AUTH_LOST, urgent=True, email=True),
    NoticeKind.BOT_ERROR: Traits(Group.AUTH_LOST, urgent=True),
    NoticeKind.TELEGRAM_BLOCKED: Traits(Group.SERVICE),
    NoticeKind.BOT_CRASH_LOOP: Traits(Group.SERVICE, admin=True),
    NoticeKind.MONITOR_DEGRADED: Traits(Group.SERVICE, admin=True),
    NoticeKind.WB_API_DISABLED: Traits(Group.SERVICE, admin=True),
    NoticeKind.COMPONENT_FAILED: Traits(Group.SERVICE, admin=True),
}

URGENT_KINDS = frozenset(kind.value for kind, t in TRAITS.items() if t.urgent)
EMAIL_KINDS = frozenset(kind.value for kind, t in TRAITS.items() if t.email)
ADMIN_KINDS = frozenset(kind.value for kind, t in TRAITS.items() if t.admin)
# The seller's switches (wbsupply.api.logic.notifications.EVENTS) name groups; service notices cannot be muted.
PREF_EVENT_OF_KIND = {kind.value: t.group.value for kind, t in TRAITS.items() if t.group is not Group.SERVICE}


def group_of(kind: str) -> Group:
    try:
        return TRAITS[NoticeKind(kind)].group
    except ValueError:
        return Group.SERVICE


@dataclass(frozen=True)
class Notice:
    """A message for the seller (and optionally the admins): facts only, the words come from
    :func:`wbsupply.notify.messages.render` so that every channel says the same."""

    user_id: int
    kind: NoticeKind
    dedup_key: str
    payload: dict[str, Any] = field(default_factory=dict)
    admins: bool = False  # also tell the service's admins (their cabinet feed)
