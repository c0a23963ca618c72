"""Enumerations shared by every layer: box types, task phases, bot statuses, modes, tariffs.

Values are stable strings: they are stored in the database, written into Kubernetes custom resources and
sent over the API, so renaming one is a migration.
"""

from __future__ import annotations

from enum import StrEnum


class BoxType(StrEnum):
    """Supply type as the seller chooses it in the WB cabinet."""

    BOXES = "boxes"  # Короба, WB boxTypeID 2
    MONOPALLETS = "monopallets"  # Монопаллеты, 5
    SUPERSAFE = "supersafe"  # Суперсейф, 6
    QR = "qr"  # QR-поставка с коробами: WB omits boxTypeID
    BOXES_ON_PALLET = "boxes_on_pallet"  # Поштучная палета (isBoxOnPallet)

    @property
    def label(self) -> str:
        return _BOX_LABELS[self]

    @property
    def wb_box_type_id(self) -> int | None:
        """The ``boxTypeID`` of WB's public coefficients API (None where WB sends no id)."""
        return _WB_BOX_TYPE_IDS.get(self)

    @classmethod
    def from_wb(cls, box_type_id: int | None, is_box_on_pallet: bool = False) -> BoxType:
        if is_box_on_pallet:
            return cls.BOXES_ON_PALLET
        if box_type_id is None:
            return cls.QR
        for box_type, wb_id in _WB_BOX_TYPE_IDS.items():
            if wb_id == box_type_id:
                return box_type
        if box_type_id == 1:  # WB's supplies API still reports legacy boxes as 1
            return cls.BOXES
        raise ValueError(f"unknown WB boxTypeID {box_type_id!r}")


_BOX_LABELS = {
    BoxType.BOXES: "Короба",
    BoxType.MONOPALLETS: "Монопаллеты",
    BoxType.SUPERSAFE: "Суперсейф",
    BoxType.QR: "QR-поставка",
    BoxType.BOXES_ON_PALLET: "Поштучная палета",
}
_WB_BOX_TYPE_IDS = {BoxType.BOXES: 2, BoxType.MONOPALLETS: 5, BoxType.SUPERSAFE: 6}


class TaskPhase(StrEnum):
    PENDING = "Pending"
    WATCHING = "Watching"
    BOOKING = "Booking"
    BOOKED = "Booked"
    FAILED = "Failed"
    EXPIRED = "Expired"
    QUOTA_EXCEEDED = "QuotaExceeded"
    CANCELLED = "Cancelled"

    @property
    def label(self) -> str:
        return _PHASE_LABELS[self]

    @property
    def is_final(self) -> bool:
        return self in {TaskPhase.BOOKED, TaskPhase.FAILED, TaskPhase.EXPIRED, TaskPhase.CANCELLED}


# A task in these phases is the bots' work (counted against the seller's active tasks, listed as active).
ACTIVE_PHASES = frozenset({TaskPhase.PENDING, TaskPhase.WATCHING, TaskPhase.BOOKING, TaskPhase.QUOTA_EXCEEDED})

_PHASE_LABELS = {
    TaskPhase.PENDING: "Ожидает запуска",
    TaskPhase.WATCHING: "Ищем слот",
    TaskPhase.BOOKING: "Бронируем",
    TaskPhase.BOOKED: "Забронировано",
    TaskPhase.FAILED: "Ошибка",
    TaskPhase.EXPIRED: "Срок истёк",
    TaskPhase.QUOTA_EXCEEDED: "Лимит тарифа исчерпан",
    TaskPhase.CANCELLED: "Отменено",
}


class BotStatus(StrEnum):
    INITIALIZING = "INITIALIZING"
    WAITING_AUTH = "WAITING_AUTH"
    ACTIVE = "ACTIVE"
    ERROR = "ERROR"
    STOPPED = "STOPPED"

    @property
    def label(self) -> str:
        return _BOT_LABELS[self]


_BOT_LABELS = {
    BotStatus.INITIALIZING: "Создание бота",
    BotStatus.WAITING_AUTH: "Ожидание авторизации",
    BotStatus.ACTIVE: "Активен",
    BotStatus.ERROR: "Ошибка",
    BotStatus.STOPPED: "Остановлен",
}


class TaskMode(StrEnum):
    BOOK = "book"
    NOTIFY = "notify"


class Role(StrEnum):
    SELLER = "seller"
    ADMIN = "admin"
