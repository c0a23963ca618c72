"""The sandbox market: the whole state of the emulated WB behind one lock.

The public API, the control API and the seller cabinet are thin views over one :class:`Market`. Every
method takes the lock, so a booking is atomic with respect to the simulation and to other bookings, and
every time comes from the :class:`SandboxClock`.
"""

from __future__ import annotations

import random
import threading
import uuid
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from wbsupply.domain.statuses import BoxType
from wbsupply.sandbox.accounts import AccountsMixin
from wbsupply.sandbox.clock import SandboxClock
from wbsupply.sandbox.faults import FaultBook
from wbsupply.sandbox.models import (
    STATUS_NOT_PLANNED,
    STATUS_PLANNED,
    Booking,
    DayCost,
    Draft,
    InvalidState,
    NotFound,
    Preorder,
    Slot,
    SlotUnavailable,
)
from wbsupply.sandbox.simulation import SimulationConfig, SimulationMixin
from wbsupply.sandbox.warehouses import WAREHOUSES, Warehouse

PUBLIC_BOX_TYPES = (BoxType.BOXES, BoxType.MONOPALLETS, BoxType.SUPERSAFE, BoxType.QR)  # in coefficients
FIRST_PREORDER_ID = 34_600_000
FIRST_SUPPLY_ID = 26_600_000


class Market(AccountsMixin, SimulationMixin):
    def __init__(
        self,
        seed: int = 42,
        clock: SandboxClock | None = None,
        warehouses: tuple[Warehouse, ...] = WAREHOUSES,
        pow_difficulty: int = 12,
        sim: SimulationConfig | None = None,
    ) -> None:
        self._lock = threading.RLock()
        self.seed = seed
        self.clock = clock or SandboxClock()
        self.warehouses = tuple(warehouses)
        self.pow_difficulty = pow_difficulty  # leading zero bits of sha256 for the plan/add captcha
        self.sim = sim or SimulationConfig()
        self.faults = FaultBook()
        self.reset()

    def reset(self) -> None:
        """Forget everything (sellers, supplies, slots) and restart the simulation from the seed."""
        with self._lock:
            self.public_api_disabled = False
            self.faults.reset()
            self._warehouse_by_id = {w.id: w for w in self.warehouses}
            # separate streams: creating sellers must not change what the market does
            self._acc_rng = random.Random(f"{self.seed}/accounts")
            self._init_accounts()
            self._drafts: dict[str, Draft] = {}
            self._preorders: dict[int, Preorder] = {}
            self._bookings: list[Booking] = []
            self._next_preorder_id = FIRST_PREORDER_ID
            self._next_supply_id = FIRST_SUPPLY_ID
            self._init_simulation(self.seed)

    # -- warehouses ------------------------------------------------------------------------------------
    def warehouse(self, warehouse_id: int) -> Warehouse:
        try:
            return self._warehouse_by_id[warehouse_id]
        except KeyError:
            raise NotFound(f"Склад {warehouse_id} не найден") from None

    def calendar_days(self, days: int) -> list[date]:
        today = self.clock.today_msk()
        return [today + timedelta(days=i) for i in range(days)]

    # -- drafts and preorders --------------------------------------------------------------------------
    def create_draft(self, supplier_id: int, goods: list[tuple[str, int]]) -> Draft:
        with self._lock:
            self.supplier_owner(supplier_id)
            if not goods or any(q < 1 for _, q in goods):
                raise InvalidState("В черновике должен быть хотя бы один товар с количеством от 1")
            draft_id = str(uuid.UUID(int=self._acc_rng.getrandbits(128), version=4))
            draft = Draft(draft_id, supplier_id, [(str(b), int(q)) for b, q in goods], self.clock.now())
            self._drafts[draft_id] = draft
            return draft

    def list_drafts(self, supplier_id: int) -> list[Draft]:
        with self._lock:
            return [d for d in self._drafts.values() if d.supplier_id == supplier_id]

    def draft(self, supplier_id: int, draft_id: str) -> Draft:
        with self._lock:
            draft = self._drafts.get(draft_id)
            if draft is None or draft.supplier_id != supplier_id:
                raise NotFound(f"Черновик {draft_id} не найден")
            return draft

    def create_preorder(self, supplier_id: int, draft_id: str, warehouse_id: int, box_type: BoxType) -> Preorder:
        with self._lock:
            draft = self.draft(supplier_id, draft_id)
            warehouse = self.warehouse(warehouse_id)
            box_type = BoxType(box_type)
            if box_type not in warehouse.box_types:
                raise InvalidState(f"Склад {warehouse.name} не принимает тип поставки «{box_type.label}»")
            self._next_preorder_id += 1
            now = self.clock.now()
            preorder = Preorder(self._next_preorder_id, supplier_id, draft_id, warehouse_id, box_type,
                                STATUS_NOT_PLANNED, None, None, now, quantity=draft.quantity)
            self._preorders[preorder.id] = preorder
            return replace(preorder)

    def list_preorders(self, supplier_id: int) -> list[Preorder]:
        with self._lock:
            return [replace(p) for p in self._preorders.values() if p.supplier_id == supplier_id]

    def preorder(self, supplier_id: int, preorder_id: int) -> Preorder:
        with self._lock:
            return replace(self._own_preorder(supplier_id, preorder_id))

    def _own_preorder(self, supplier_id: int, preorder_id: int) -> Preorder:
        preorder = self._preorders.get(preorder_id)
        if preorder is None or preorder.supplier_id != supplier_id:
            raise NotFound(f"Заказ {preorder_id} не найден")
        return preorder

    def supplies_of_seller(self, seller_id: int) -> list[Preorder]:
        """Every preorder/supply of all legal entities of one seller account (what its API token sees)."""
        with self._lock:
            suppliers = {s.id for s in self.seller(seller_id).suppliers}
            return [replace(p) for p in self._preorders.values() if p.supplier_id in suppliers]

    # -- calendars -------------------------------------------------------------------------------------
    def _slot_view(self, warehouse_id: int, day: date, box_type: BoxType) -> Slot:
        slot = self._slots.get((warehouse_id, day, box_type))
        return replace(slot) if slot is not None else Slot(warehouse_id, day, box_type)

    def slot(self, warehouse_id: int, date: date, box_type: BoxType) -> Slot:
        with self._lock:
            self.step()
            self.warehouse(warehouse_id)
            return self._slot_view(warehouse_id, date, BoxType(box_type))

    def open_slots(self) -> list[Slot]:
        with self._lock:
            self.step()
            return sorted((replace(s) for s in self._slots.values() if s.is_open),
                          key=lambda s: (s.date, s.warehouse_id, s.box_type))

    def acceptance_costs(self, supplier_id: int, preorder_id: int, date_from: date, date_to: date) -> list[DayCost]:
        with self._lock:
            self.step()
            preorder = self._own_preorder(supplier_id, preorder_id)
            warehouse = self.warehouse(preorder.warehouse_id)
            days, day = [], date_from
            while day <= date_to:
                slot = self._slot_view(warehouse.id, day, preorder.box_type)
                days.append(DayCost(day, slot.coefficient if slot.is_open else -1, slot.is_open, slot.capacity,
                                    warehouse.delivery_coef if slot.is_open else None,
                                    warehouse.storage_coef if slot.is_open else None))
                day += timedelta(days=1)
            return days

    def coefficients(self, warehouse_ids: list[int] | None = None, days: int = 14) -> list[dict[str, Any]]:
        """Records exactly in the shape of WB's ``models.AcceptanceCoefficient`` (unknown ids are skipped)."""
        with self._lock:
            self.step()
            chosen = [w for w in self.warehouses if warehouse_ids is None or w.id in set(warehouse_ids)]
            records = []
            for day in self.calendar_days(days):
                for warehouse in chosen:
                    for box_type in PUBLIC_BOX_TYPES:
                        if box_type in warehouse.box_types:
                            records.append(_coefficient_record(warehouse, self._slot_view(warehouse.id, day,
                                                                                            box_type)))
            return records

    # -- booking ---------------------------------------------------------------------------------------
    def book(self, supplier_id: int, preorder_id: int, date: date) -> Preorder:
        """Plan the preorder into its warehouse's slot on ``date``; atomic: one unit of capacity or nothing."""
        with self._lock:
            preorder = self._own_preorder(supplier_id, preorder_id)
            if preorder.status_id != STATUS_NOT_PLANNED:
                raise InvalidState(f"Поставка по заказу {preorder_id} уже запланирована")
            coefficient = self._take_unit(preorder, date)
            self._next_supply_id += 1
            preorder.supply_id = self._next_supply_id
            self._plan(preorder, date, coefficient, rescheduled=False)
            return replace(preorder)

    def reschedule(self, supplier_id: int, preorder_id: int, date: date) -> Preorder:
        """Move a planned supply to another date of the same warehouse (the old slot is not given back)."""
        with self._lock:
            preorder = self._own_preorder(supplier_id, preorder_id)
            if preorder.status_id != STATUS_PLANNED:
                raise InvalidState(f"Поставка по заказу {preorder_id} ещё не запланирована")
            if preorder.supply_date == date:
                return replace(preorder)
            coefficient = self._take_unit(preorder, date)
            self._plan(preorder, date, coefficient, rescheduled=True)
            return replace(preorder)

    def _take_unit(self, preorder: Preorder, day: date) -> int:
        self.step()
        slot = self._slots.get((preorder.warehouse_id, day, preorder.box_type))
        if day < self.clock.today_msk() or slot is None or not (slot.allow_unload and slot.coefficient >= 0):
            raise SlotUnavailable("Приёмка на эту дату недоступна")
        if slot.capacity <= 0:
            raise SlotUnavailable("Слот уже заняли: лимит приёмки на эту дату исчерпан")
        coefficient = slot.coefficient
        slot.capacity -= 1
        if slot.capacity == 0:
            slot.close()
        return coefficient

    def _plan(self, preorder: Preorder, day: date, coefficient: int, rescheduled: bool, by_hand: bool = False) -> None:
        now = self.clock.now()
        assert preorder.supply_id is not None
        preorder.status_id, preorder.supply_date, preorder.coefficient = STATUS_PLANNED, day, coefficient
        preorder.updated_at = now
        seller = self.supplier_owner(preorder.supplier_id)
        self._bookings.append(Booking(preorder.supply_id, preorder.id, preorder.supplier_id, seller.id,
                                      preorder.warehouse_id, day, preorder.box_type, coefficient, now,
                                      rescheduled, by_hand))

    def competitor_takes(self, supplier_id: int, preorder_id: int, day: date) -> None:
        """Someone else books the last units of the preorder's slot on ``day`` (fault ``competitor``)."""
        with self._lock:
            preorder = self._own_preorder(supplier_id, preorder_id)
            slot = self._slots.get((preorder.warehouse_id, day, preorder.box_type))
            if slot is not None:
                slot.close()

    def plan_by_hand(self, supplier_id: int, preorder_id: int, day: date) -> Preorder | None:
        """The seller plans the preorder in the cabinet on another date than ``day`` (fault ``seller_first``);
        None if it was planned already."""
        with self._lock:
            preorder = self._own_preorder(supplier_id, preorder_id)
            if preorder.status_id != STATUS_NOT_PLANNED:
                return None
            self._next_supply_id += 1
            preorder.supply_id = self._next_supply_id
            self._plan(preorder, day + timedelta(days=1), 0, rescheduled=False, by_hand=True)
            return replace(preorder)

    def bookings(self) -> list[Booking]:
        with self._lock:
            return list(self._bookings)

    # -- control ---------------------------------------------------------------------------------------
    def open_slot(self, warehouse_id: int, date: date, box_type: BoxType, coefficient: int = 0,
                  capacity: int = 1, lifetime_s: float | None = None) -> Slot:
        with self._lock:
            self.step()
            self.warehouse(warehouse_id)
            slot = self._put_slot(warehouse_id, date, BoxType(box_type), coefficient, capacity,
                                  self.clock.now(), lifetime_s)
            return replace(slot)

    def close_slot(self, warehouse_id: int, date: date, box_type: BoxType) -> Slot:
        with self._lock:
            self.step()
            slot = self._slots.get((warehouse_id, date, BoxType(box_type)))
            if slot is not None:
                slot.close()
            return self._slot_view(warehouse_id, date, BoxType(box_type))

    def set_capacity(self, warehouse_id: int, date: date, box_type: BoxType, capacity: int) -> Slot:
        """Change how many more bookings an open slot takes (0 closes it)."""
        with self._lock:
            self.step()
            slot = self._slots.get((warehouse_id, date, BoxType(box_type)))
            if slot is None or not (slot.allow_unload and slot.coefficient >= 0):
                raise SlotUnavailable("Слот закрыт")
            slot.capacity = capacity
            if capacity <= 0:
                slot.close()
            return replace(slot)

    def snapshot(self) -> dict[str, Any]:
        """Everything that defines the market's slot state, for determinism checks and debugging."""
        with self._lock:
            self.step()
            return {f"{k[0]}/{k[1].isoformat()}/{k[2].value}": (s.coefficient, s.allow_unload, s.capacity)
                    for k, s in sorted(self._slots.items()) if s.is_open}


def _coefficient_record(warehouse: Warehouse, slot: Slot) -> dict[str, Any]:
    is_open = slot.is_open
    record: dict[str, Any] = {
        "date": f"{slot.date.isoformat()}T00:00:00Z",
        "coefficient": slot.coefficient if is_open else -1,
        "warehouseID": warehouse.id,
        "warehouseName": warehouse.name,
        "allowUnload": is_open,
    }
    if slot.box_type.wb_box_type_id is not None:  # WB omits boxTypeID for QR supplies
        record["boxTypeID"] = slot.box_type.wb_box_type_id
    # WB sends tariffs only where acceptance is possible, strings of numbers, null otherwise
    pallet = slot.box_type is BoxType.MONOPALLETS
    record.update({
        "storageCoef": str(warehouse.storage_coef) if is_open else None,
        "deliveryCoef": str(warehouse.delivery_coef) if is_open else None,
        "deliveryBaseLiter": warehouse.delivery_base_liter if is_open else None,
        "deliveryAdditionalLiter": warehouse.delivery_additional_liter if is_open else None,
        "storageBaseLiter": (warehouse.storage_per_pallet if pallet else warehouse.storage_base_liter)
        if is_open else None,
        "storageAdditionalLiter": None if pallet or not is_open else warehouse.storage_additional_liter,
        "isSortingCenter": warehouse.is_sorting_center,
    })
    return record
