"""Whose booking is it: WB's word on a preorder against the slot we tried to book (pure, no I/O).

A booking is **ours** only when WB shows our preorder planned on exactly the slot we booked for — the same
warehouse, date and box type — *and* we asked WB for it (``plan/add`` was sent for this attempt). Anything
else is not ours, whatever WB's status says:

- not planned: WB did not book (the slot went to someone else, the answer was an error) → back to watching;
- planned on another warehouse, date or box type, or planned without our asking → it was planned elsewhere
  (by the seller in the cabinet, by another tool) → the task fails with that reason;
- the preorder is gone → the task fails.

In every not-ours case the quota unit goes back to the seller. Recovery after a crash and the confirmation
right after ``plan/add`` both decide through :func:`judge`, so they can never disagree.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from wbsupply.domain.ruformat import ru_date
from wbsupply.domain.slots import SlotKey
from wbsupply.domain.statuses import BoxType, TaskMode
from wbsupply.domain.tasks import SupplyTaskSpec

STATUS_NOT_PLANNED = 1  # WB's preorder statusID «Не запланировано»; 2 and above are planned or later
STATUS_PLANNED = 2  # «Запланировано»: the only status a supply can still be moved from (plan/update)


@dataclass(frozen=True)
class WbPreorder:
    """What WB says about one preorder (cabinet ``supply/getPreorder`` or the public supplies API)."""

    status_id: int
    supply_id: int | None = None
    warehouse_id: int | None = None
    supply_date: dt.date | None = None
    box_type: BoxType | None = None
    warehouse_name: str | None = None
    coefficient: float | None = None  # the acceptance coefficient WB charges for it (None: WB did not say)

    @property
    def planned(self) -> bool:
        return self.status_id > STATUS_NOT_PLANNED

    @property
    def movable(self) -> bool:
        """Planned and nothing shipped yet: WB can still move it to another date (``plan/update``)."""
        return self.status_id == STATUS_PLANNED and None not in (self.warehouse_id, self.supply_date, self.box_type)


class Verdict(StrEnum):
    OURS = "ours"  # planned on exactly our slot, at our request: count it
    NOT_BOOKED = "not_booked"  # WB did not plan it: release, keep watching
    ELSEWHERE = "elsewhere"  # planned, but not by us or not on our slot: release, fail the task
    GONE = "gone"  # WB has no such preorder: release, fail the task


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    reason: str = ""  # Russian, for the seller, when it is not ours

    @property
    def ours(self) -> bool:
        return self.verdict is Verdict.OURS


def mismatches(wb: WbPreorder, slot: SlotKey) -> list[str]:
    """Which of warehouse, date and box type differ between WB's planned supply and our slot."""
    found = []
    if wb.warehouse_id != slot.warehouse_id:
        found.append("склад")
    if wb.supply_date != slot.date:
        found.append("дата")
    if wb.box_type is not slot.box_type:  # unknown (None) counts as different
        found.append("тип поставки")
    return found


def judge(wb: WbPreorder | None, slot: SlotKey, *, asked: bool, preorder_id: int | None = None) -> Judgement:
    """Ours, not booked, planned elsewhere or gone — see the module docstring."""
    number = f" {preorder_id}" if preorder_id is not None else ""
    if wb is None:
        return Judgement(Verdict.GONE, f"Заказ{number} не найден в кабинете WB")
    if not wb.planned:
        return Judgement(Verdict.NOT_BOOKED, "WB не подтвердил бронирование: поставка не запланирована")
    where = _where(wb)
    if not asked:
        return Judgement(Verdict.ELSEWHERE,
                         f"Поставка по заказу{number} уже запланирована в кабинете WB без бота{where}")
    differ = mismatches(wb, slot)
    if differ:
        return Judgement(Verdict.ELSEWHERE,
                         f"Поставка по заказу{number} запланирована в кабинете WB не на выбранный ботом слот"
                         f"{where} (не совпадает: {', '.join(differ)})")
    return Judgement(Verdict.OURS)


IMPROVE_OPTION = "«После бронирования переносить поставку»"  # the task form's field (API: improve)


def planned_by_hand_text(preorder_id: int, wb: WbPreorder, *, offer: bool) -> str:
    """Why a task on a preorder the seller already planned stops, and (``offer``) how the bot can improve it."""
    text = f"Поставка по заказу {preorder_id} уже запланирована в кабинете WB{_where(wb)}"
    if not wb.movable:
        return f"{text}. WB уже не переносит её на другую дату"
    if offer:
        text += (f". Чтобы бот искал для неё слот лучше, нажмите «Исправить и запустить», включите {IMPROVE_OPTION} "
                 "и сохраните: бот перенесёт её, не списывая бронирование тарифа")
    return text


def adopted_text(preorder_id: int, wb: WbPreorder) -> str:
    """The task took over the supply the seller planned by hand (see control.bookings.adopt)."""
    assert wb.supply_date is not None
    where = wb.warehouse_name or f"склад {wb.warehouse_id}"
    supply = f", поставка № {wb.supply_id}" if wb.supply_id else ""
    return (f"Поставка по заказу {preorder_id} уже запланирована на {ru_date(wb.supply_date)} ({where}{supply}) — "
            "бот ищет слот лучше. Бронирование тарифа не списано")


def _where(wb: WbPreorder) -> str:
    parts = []
    if wb.warehouse_name or wb.warehouse_id:
        parts.append(wb.warehouse_name or f"склад {wb.warehouse_id}")
    if wb.supply_date:
        parts.append(ru_date(wb.supply_date))
    if wb.supply_id:
        parts.append(f"поставка № {wb.supply_id}")
    return f" ({', '.join(parts)})" if parts else ""


def claim_key(spec: SupplyTaskSpec) -> str | None:
    """What a booking task holds in WB: its preorder, else its draft. One draft or preorder, one task — a
    second task on it would plan the same supply twice (or count one supply twice). Notify-only tasks book
    nothing and hold nothing."""
    if spec.mode is not TaskMode.BOOK:
        return None
    if spec.preorder_id is not None:
        return claim_key_of("preorder", str(spec.preorder_id))
    if spec.draft_id:
        return claim_key_of("draft", spec.draft_id)
    return None


def claims_of(spec: SupplyTaskSpec) -> list[tuple[int, str]]:
    """Every (WB account, draft or preorder) a booking task may plan a supply from: its own, and each racing
    account's draft. Each is one task's alone, or two tasks could plan (and count) one supply twice."""
    main = claim_key(spec)
    if main is None:
        return []
    racers = sorted((int(account), claim_key_of("draft", draft)) for account, draft in spec.racers.items())
    return [(int(spec.account_id), main), *racers]


def claim_key_of(kind: str, ident: str) -> str:
    return f"{kind}:{ident.strip().lower()}"[:120]


def claim_words(key: str) -> str:
    kind, _, value = key.partition(":")
    return f"заказ {value}" if kind == "preorder" else f"черновик «{value[:60]}»"
