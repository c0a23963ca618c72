"""The market simulation: slots open at random, live seconds to hours and are taken by competitors.

Every random draw happens while processing an event in sandbox-time order, so the market depends only on
the seed and on the sandbox times that ``step()`` reaches — not on how often or from where it is called.
"""

from __future__ import annotations

import heapq
import random
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from wbsupply.domain.statuses import BoxType
from wbsupply.sandbox.clock import MSK, SandboxClock
from wbsupply.sandbox.models import Slot
from wbsupply.sandbox.warehouses import Warehouse

SlotKey = tuple[int, date, BoxType]


@dataclass(frozen=True)
class SimulationConfig:
    open_rate_per_min: float = 5.0  # slot openings across the whole market per sandbox minute
    # (weight, shortest, longest seconds): most slots vanish within seconds, a few stay for hours
    lifetime_buckets: tuple[tuple[float, float, float], ...] = (
        (0.5, 3, 45), (0.35, 60, 900), (0.15, 1800, 4 * 3600),
    )
    # (coefficient, weight): free acceptance is the rare prize, paid ×1..×20 is common
    coefficient_weights: tuple[tuple[int, float], ...] = (
        (0, 0.12), (1, 0.1), (2, 0.08), (3, 0.08), (5, 0.1), (7, 0.1), (10, 0.14), (15, 0.14), (20, 0.14),
    )
    capacity_range: tuple[int, int] = (1, 4)
    competitor_take_rate_per_min: float = 0.5  # per open simulated slot with coefficient 1: bookings/minute
    free_take_factor: float = 4.0  # free slots are taken this many times faster, ×c slots 2/(1+c) as fast
    initial_open_share: float = 0.02  # share of the calendar already open (paid, long-lived) at start
    horizon_days: int = 30

    @classmethod
    def frozen(cls) -> SimulationConfig:
        """No random openings and no competitors: tests open and close slots themselves."""
        return cls(open_rate_per_min=0, competitor_take_rate_per_min=0, initial_open_share=0)


@dataclass(order=True)
class _Event:
    at: datetime
    seq: int
    kind: str = field(compare=False)  # "open" | "close" | "take"
    key: SlotKey | None = field(compare=False, default=None)
    generation: int = field(compare=False, default=0)


class SimulationMixin:
    """Part of :class:`~wbsupply.sandbox.market.Market`: owns the slot table and the event queue."""

    _lock: threading.RLock
    clock: SandboxClock
    sim: SimulationConfig
    warehouses: tuple[Warehouse, ...]

    def _init_simulation(self, seed: int) -> None:
        self._slots: dict[SlotKey, Slot] = {}
        self._events: list[_Event] = []
        self._seq = 0
        self._rng = random.Random(seed)
        self._sim_time = self.clock.now()
        self._sim_day = self._sim_time.astimezone(MSK).date()
        self._weights = [w.popularity for w in self.warehouses]
        self._initial_fill()
        if self.sim.open_rate_per_min > 0:
            self._schedule("open", self._sim_time + self._wait(self.sim.open_rate_per_min))

    def step(self) -> int:
        """Advance the simulation to ``clock.now()``; returns the number of events processed."""
        with self._lock:
            now, processed = self.clock.now(), 0
            while self._events and self._events[0].at <= now:
                event = heapq.heappop(self._events)
                self._sim_time = event.at
                self._shift_calendar(event.at.astimezone(MSK).date())  # midnight falls where it falls
                self._apply(event)
                processed += 1
            self._sim_time = max(self._sim_time, now)
            self._shift_calendar(now.astimezone(MSK).date())
            return processed

    # -- events ----------------------------------------------------------------------------------------
    def _schedule(self, kind: str, at: datetime, key: SlotKey | None = None, generation: int = 0) -> None:
        self._seq += 1
        heapq.heappush(self._events, _Event(at, self._seq, kind, key, generation))

    def _wait(self, rate_per_min: float) -> timedelta:
        return timedelta(seconds=self._rng.expovariate(rate_per_min / 60))

    def _apply(self, event: _Event) -> None:
        if event.kind == "open":
            self._random_opening(event.at)
            self._schedule("open", event.at + self._wait(self.sim.open_rate_per_min))
            return
        assert event.key is not None
        slot = self._slots.get(event.key)
        if slot is None or slot.generation != event.generation or not slot.is_open:
            return  # the slot was closed, re-opened or booked out meanwhile
        if event.kind == "close":
            slot.close()
        elif event.kind == "take":
            slot.capacity -= 1
            if slot.capacity <= 0:
                slot.close()
            else:
                self._schedule_take(slot, event.at)

    def _random_opening(self, at: datetime) -> None:
        rng, sim = self._rng, self.sim
        warehouse = rng.choices(self.warehouses, weights=self._weights)[0]
        box_type = rng.choice(warehouse.box_types)
        day = at.astimezone(MSK).date() + timedelta(days=rng.randrange(1, sim.horizon_days))
        coefficient = rng.choices([c for c, _ in sim.coefficient_weights],
                                  weights=[w for _, w in sim.coefficient_weights])[0]
        bucket = rng.choices(sim.lifetime_buckets, weights=[b[0] for b in sim.lifetime_buckets])[0]
        lifetime = rng.uniform(bucket[1], bucket[2])
        capacity = rng.randint(*sim.capacity_range)
        slot = self._put_slot(warehouse.id, day, box_type, coefficient, capacity, at, lifetime, simulated=True)
        self._schedule_take(slot, at)

    def _schedule_take(self, slot: Slot, at: datetime) -> None:
        rate = self.sim.competitor_take_rate_per_min
        if rate <= 0 or not slot.simulated:
            return
        rate *= self.sim.free_take_factor if slot.coefficient == 0 else 2 / (1 + slot.coefficient)
        self._schedule("take", at + self._wait(rate), (slot.warehouse_id, slot.date, slot.box_type),
                       slot.generation)

    def _put_slot(self, warehouse_id: int, day: date, box_type: BoxType, coefficient: int, capacity: int,
                  at: datetime, lifetime_s: float | None, simulated: bool = False) -> Slot:
        key = (warehouse_id, day, box_type)
        slot = self._slots.setdefault(key, Slot(warehouse_id, day, box_type))
        slot.coefficient, slot.allow_unload, slot.capacity = coefficient, True, capacity
        slot.simulated = simulated
        slot.generation += 1
        slot.closes_at = at + timedelta(seconds=lifetime_s) if lifetime_s is not None else None
        if slot.closes_at is not None:
            self._schedule("close", slot.closes_at, key, slot.generation)
        if capacity <= 0:
            slot.close()
        return slot

    def _initial_fill(self) -> None:
        """Paid, long-lived slots already open when the sandbox starts, like a real morning calendar."""
        share = self.sim.initial_open_share
        if share <= 0:
            return
        rng, start = self._rng, self._sim_time
        for warehouse in self.warehouses:
            for box_type in warehouse.box_types:
                for offset in range(1, self.sim.horizon_days):
                    if rng.random() >= share * warehouse.popularity:
                        continue
                    coefficient = rng.choice((1, 2, 3, 5, 8, 10, 12, 15, 20))
                    slot = self._put_slot(warehouse.id, self._sim_day + timedelta(days=offset), box_type,
                                          coefficient, rng.randint(2, 8), start, rng.uniform(3600, 12 * 3600),
                                          simulated=True)
                    self._schedule_take(slot, start)

    def _shift_calendar(self, today: date) -> None:
        """At Moscow midnight yesterday's slots leave the calendar."""
        if today == self._sim_day:
            return
        self._sim_day = today
        for key in [k for k in self._slots if k[1] < today]:
            del self._slots[key]
