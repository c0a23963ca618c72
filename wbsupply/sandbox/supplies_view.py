"""Preorders and supplies as WB's supplies API shows them, and parsing of its list filters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from wbsupply.domain.statuses import BoxType
from wbsupply.sandbox.clock import MSK
from wbsupply.sandbox.models import Preorder, Seller
from wbsupply.sandbox.warehouses import Warehouse

DATE_TYPES = ("factDate", "createDate", "supplyDate", "updatedDate")
ACCEPTANCE_BASE_COST = 500  # ₽ per unit of acceptance coefficient, for the preliminary acceptanceCost


class FilterError(ValueError):
    """A malformed filter; the message is WB's ``detail`` text."""


@dataclass(frozen=True)
class DateFilter:
    type: str
    date_from: date | None
    date_till: date | None


@dataclass(frozen=True)
class SuppliesFilter:
    dates: tuple[DateFilter, ...] = ()
    status_ids: tuple[int, ...] = ()

    def matches(self, preorder: Preorder) -> bool:
        if self.status_ids and preorder.status_id not in self.status_ids:
            return False
        for f in self.dates:
            value = _date_of(preorder, f.type)
            if value is None or (f.date_from and value < f.date_from) or (f.date_till and value > f.date_till):
                return False
        return True


def _date_of(preorder: Preorder, kind: str) -> date | None:
    if kind == "createDate":
        return preorder.created_at.astimezone(MSK).date()
    if kind == "updatedDate":
        return preorder.updated_at.astimezone(MSK).date() if preorder.updated_at else None
    if kind == "supplyDate":
        return preorder.supply_date
    return None  # factDate: nothing is ever shipped in the sandbox


def _parse_date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(str(value)[:10])  # WB accepts a date or the date part of a timestamp
    except ValueError:
        raise FilterError(f'ошибка при считывании даты "{value}". Дата должна быть в формате ISO Date: 2006-01-02'
                          ) from None


def parse_filter(body: Any) -> SuppliesFilter:
    if body is None:
        return SuppliesFilter()
    if not isinstance(body, dict):
        raise FilterError("Неверный формат тела запроса")
    dates = []
    for item in body.get("dates") or []:
        kind = item.get("type") if isinstance(item, dict) else None
        if kind not in DATE_TYPES:
            raise FilterError("Выберите значение параметра 'Type' из списка: 'factDate createDate supplyDate "
                              "updatedDate'")
        dates.append(DateFilter(kind, _parse_date(item.get("from")), _parse_date(item.get("till"))))
    statuses = body.get("statusIDs") or []
    if not isinstance(statuses, list):
        raise FilterError("Неверный формат statusIDs")
    for i, status in enumerate(statuses):
        if not isinstance(status, int) or isinstance(status, bool) or not 1 <= status <= 6:
            raise FilterError(f"Выберите значение параметра 'StatusIDs[{i}]' из списка: '1 2 3 4 5 6'")
    return SuppliesFilter(tuple(dates), tuple(statuses))


def _msk(moment: datetime | None) -> str | None:
    return moment.astimezone(MSK).replace(microsecond=0).isoformat() if moment else None


def _msk_day(day: date | None) -> str | None:
    return datetime.combine(day, time(), MSK).isoformat() if day else None


def _box_fields(box_type: BoxType) -> dict[str, Any]:
    if box_type is BoxType.QR:
        return {"boxTypeID": 0}  # a QR supply is "virtual" for the supplies API
    if box_type in (BoxType.BOXES, BoxType.BOXES_ON_PALLET):
        return {"boxTypeID": 2, "isBoxOnPallet": box_type is BoxType.BOXES_ON_PALLET}
    return {"boxTypeID": box_type.wb_box_type_id}


def supply_record(preorder: Preorder, seller: Seller) -> dict[str, Any]:
    """One item of ``POST /api/v1/supplies`` (``models.Supply``)."""
    return {
        "phone": seller.masked_phone,
        "supplyID": preorder.supply_id,
        "preorderID": preorder.id,
        "createDate": _msk(preorder.created_at),
        "supplyDate": _msk_day(preorder.supply_date),
        "factDate": None,
        "updatedDate": _msk(preorder.updated_at),
        "statusID": preorder.status_id,
        **_box_fields(preorder.box_type),
    }


def supply_details(preorder: Preorder, seller: Seller, warehouse: Warehouse) -> dict[str, Any]:
    """``GET /api/v1/supplies/{ID}`` (``models.SupplyDetails``)."""
    box = _box_fields(preorder.box_type)
    planned = preorder.coefficient is not None
    details: dict[str, Any] = {
        "phone": seller.masked_phone,
        "statusID": preorder.status_id,
        "boxTypeID": box["boxTypeID"],
        "createDate": _msk(preorder.created_at),
        "supplyDate": _msk_day(preorder.supply_date),
        "factDate": None,
        "updatedDate": _msk(preorder.updated_at),
        "warehouseID": warehouse.id,
        "warehouseName": warehouse.name,
        "actualWarehouseID": None,
        "actualWarehouseName": "",
        "transitWarehouseID": None,
        "transitWarehouseName": "",
        "acceptanceCost": float((preorder.coefficient or 0) * ACCEPTANCE_BASE_COST) if planned else None,
        "paidAcceptanceCoefficient": float(preorder.coefficient or 0) if planned else None,
        "rejectReason": None,
        "supplierAssignName": next((s.name for s in seller.suppliers if s.id == preorder.supplier_id), None),
        "storageCoef": str(warehouse.storage_coef),
        "deliveryCoef": str(warehouse.delivery_coef),
        "quantity": preorder.quantity,
        "readyForSaleQuantity": 0,
        "acceptedQuantity": 0,
        "unloadingQuantity": 0,
        "depersonalizedQuantity": 0,
    }
    if box["boxTypeID"] == 0:
        details["virtualTypeID"] = 4  # QR-поставка
    if "isBoxOnPallet" in box:
        details["isBoxOnPallet"] = box["isBoxOnPallet"]
    return details
