"""Records and errors of the sandbox market (plain dataclasses; the market owns and mutates them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from wbsupply.domain.statuses import BoxType

STATUS_NOT_PLANNED = 1  # «Не запланировано»
STATUS_PLANNED = 2  # «Запланировано»
STATUS_LABELS = {
    1: "Не запланировано",
    2: "Запланировано",
    3: "Отгрузка разрешена",
    4: "Идёт приёмка",
    5: "Принято",
    6: "Отгружено на воротах",
}


class MarketError(Exception):
    """Base of everything the market refuses; ``str(error)`` is a Russian text fit for the UI."""


class NotFound(MarketError):
    pass


class UnknownPhone(MarketError):
    def __init__(self, phone: str) -> None:
        super().__init__(f"Номер {phone} не зарегистрирован")
        self.phone = phone


class LoginBlocked(MarketError):
    def __init__(self, hours: int) -> None:
        super().__init__(f"Слишком много попыток входа. Вход заблокирован на {hours} ч.")
        self.hours = hours


class CaptchaRequired(MarketError):
    def __init__(self) -> None:
        super().__init__("Подтвердите, что вы не робот")


class WrongCode(MarketError):
    def __init__(self) -> None:
        super().__init__("Неверный код")


class CodeExpired(MarketError):
    def __init__(self) -> None:
        super().__init__("Срок действия кода истёк, запросите новый")


class SessionExpired(MarketError):
    def __init__(self) -> None:
        super().__init__("Сессия истекла, войдите снова")


class SlotUnavailable(MarketError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidState(MarketError):
    """The operation does not fit the object's status (e.g. planning an already planned supply)."""


@dataclass
class Supplier:
    id: int
    name: str
    inn: str


@dataclass
class Seller:
    id: int
    name: str
    phone: str  # +7XXXXXXXXXX
    api_token: str
    suppliers: list[Supplier]

    @property
    def masked_phone(self) -> str:
        """The phone as WB's supplies API shows it: ``+7 916 *** 44 44``."""
        p = self.phone
        return f"{p[:2]} {p[2:5]} *** {p[8:10]} {p[10:12]}"


@dataclass(frozen=True)
class Sms:
    phone: str
    text: str
    code: str
    sent_at: datetime


@dataclass(frozen=True)
class SessionTokens:
    access_token: str  # cookie WBTokenV3
    validation_key: str  # cookie wbx-validation-key
    refresh_token: str  # refresh cookie
    supplier_id: int
    access_expires_at: datetime
    refresh_expires_at: datetime


@dataclass
class Session:
    seller: Seller
    supplier_id: int
    access_token: str
    validation_key: str
    refresh_token: str
    access_expires_at: datetime
    refresh_expires_at: datetime
    revoked: bool = False

    def tokens(self) -> SessionTokens:
        return SessionTokens(self.access_token, self.validation_key, self.refresh_token, self.supplier_id,
                             self.access_expires_at, self.refresh_expires_at)


@dataclass(frozen=True)
class Draft:
    id: str  # WB draftID is a UUID
    supplier_id: int
    goods: list[tuple[str, int]]  # (barcode, quantity)
    created_at: datetime

    @property
    def quantity(self) -> int:
        return sum(q for _, q in self.goods)


@dataclass
class Preorder:
    id: int
    supplier_id: int
    draft_id: str
    warehouse_id: int
    box_type: BoxType
    status_id: int
    supply_id: int | None
    supply_date: date | None
    created_at: datetime
    quantity: int = 0
    updated_at: datetime | None = None
    coefficient: int | None = None  # acceptance coefficient of the booked slot

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status_id]


@dataclass
class Slot:
    """One acceptance slot (warehouse × Moscow date × box type); closed ⇔ coefficient -1 or no unload."""

    warehouse_id: int
    date: date
    box_type: BoxType
    coefficient: int = -1
    allow_unload: bool = False
    capacity: int = 0  # bookings still possible in this slot
    closes_at: datetime | None = None
    simulated: bool = False  # opened by the market simulation (competitors take from it)
    generation: int = 0  # bumped on every (re)opening so stale scheduled events are ignored

    @property
    def is_open(self) -> bool:
        return self.allow_unload and self.coefficient >= 0 and self.capacity > 0

    def close(self) -> None:
        self.coefficient, self.allow_unload, self.capacity, self.closes_at = -1, False, 0, None


@dataclass(frozen=True)
class DayCost:
    date: date
    coefficient: int
    allow_unload: bool
    capacity_left: int
    logistics_coefficient: int | None
    storage_coefficient: int | None = None


@dataclass(frozen=True)
class Booking:
    supply_id: int
    preorder_id: int
    supplier_id: int
    seller_id: int
    warehouse_id: int
    date: date
    box_type: BoxType
    coefficient: int
    booked_at: datetime
    rescheduled: bool = False
    by_hand: bool = False  # the seller planned it in the cabinet themselves (a fault of the control API)


@dataclass
class LoginState:
    """Per-phone login bookkeeping: throttle window, block, captcha, pending code."""

    requests: list[datetime] = field(default_factory=list)
    blocked_until: datetime | None = None
    captcha_forced: bool = False
    captcha_answer: str | None = None
    captcha_solved: bool = False
    code: str | None = None
    code_expires_at: datetime | None = None
    wrong_attempts: int = 0
