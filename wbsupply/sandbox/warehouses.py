"""WB warehouses of the sandbox: WB's reference table (:mod:`wbsupply.wb.warehouses`) with the simulation's
box types, hours and popularity; tariffs derived deterministically from the id."""

from __future__ import annotations

from dataclasses import dataclass

from wbsupply.domain.statuses import BoxType
from wbsupply.wb import warehouses as wb

_ALL_TYPES = (BoxType.BOXES, BoxType.MONOPALLETS, BoxType.SUPERSAFE, BoxType.QR, BoxType.BOXES_ON_PALLET)
_SC_TYPES = (BoxType.BOXES, BoxType.QR)  # sorting centres take boxes only


@dataclass(frozen=True)
class Warehouse(wb.Warehouse):
    """A WB warehouse (id, name, address, kind, how busy) as the sandbox simulates it."""

    box_types: tuple[BoxType, ...] = _ALL_TYPES
    work_time: str = "24/7"
    is_active: bool = True
    is_transit_active: bool = False

    @property
    def popularity(self) -> float:
        """Relative share of the market's slot openings: as busy as on WB."""
        return self.busy

    # Tariffs vary by warehouse but must stay stable between runs, hence derived from the id.
    @property
    def delivery_coef(self) -> int:
        return 100 + (self.id * 7) % 16 * 10

    @property
    def storage_coef(self) -> int:
        return 100 + (self.id * 11) % 13 * 10

    @property
    def delivery_base_liter(self) -> str:
        return f"{46 * self.delivery_coef / 100:.2f}"

    @property
    def delivery_additional_liter(self) -> str:
        return f"{14 * self.delivery_coef / 100:.2f}"

    @property
    def storage_base_liter(self) -> str:
        return f"{0.08 * self.storage_coef / 100:.2f}"

    @property
    def storage_per_pallet(self) -> str:
        return f"{2.5 * self.storage_coef:.2f}"

    @property
    def storage_additional_liter(self) -> str:
        return f"{0.08 * self.storage_coef / 100:.2f}"


_TRANSIT = frozenset({507, 218210})  # warehouses that also take transit supplies


def _simulated(ref: wb.Warehouse) -> Warehouse:
    """The sandbox's warehouse on WB's reference data: box types, hours and popularity of the simulation."""
    if ref.is_sorting_center:
        return Warehouse(ref.id, ref.name, ref.address, is_sorting_center=True, busy=ref.busy, box_types=_SC_TYPES,
                         work_time="09:00-21:00")
    return Warehouse(ref.id, ref.name, ref.address, busy=ref.busy, is_transit_active=ref.id in _TRANSIT)


WAREHOUSES: tuple[Warehouse, ...] = tuple(_simulated(ref) for ref in wb.WAREHOUSES)
