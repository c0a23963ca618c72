"""What WB says about a preorder (status, supply, warehouse, date, box type), asked independently of the
browser when possible; :func:`wbsupply.domain.booking.judge` then decides whether the booking is ours.

With the seller's API token: WB's public supplies API (``GET /api/v1/supplies/{ID}?isPreorderID=``); a
preorder that became a supply is answered there with a 400 naming the supply, whose own record then shows
statusID 2 («Запланировано»), the warehouse, the date and the box type. Without a token, or while the API is
rate-limited (30 requests a minute) or down: the cabinet's ``supply/getPreorder``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Protocol

from wbsupply.domain.booking import STATUS_NOT_PLANNED, WbPreorder
from wbsupply.domain.statuses import BoxType
from wbsupply.wb import cabinet_spec as spec
from wbsupply.wb.api_client import WbApiClient, WbApiError
from wbsupply.worker.cabinet import Cabinet, RpcFailure

STATUS_PLANNED = 2
_SUPPLY_IN_DETAIL = re.compile(r"поставк\w*\s+(\d+)", re.IGNORECASE)

__all__ = ["STATUS_NOT_PLANNED", "STATUS_PLANNED", "ApiConfirmer", "CabinetConfirmer", "Confirmer", "FirstAnswer",
           "WbUnreachable", "supply_id_from_detail"]


class WbUnreachable(Exception):
    """WB could not tell (network, rate limit, 5xx): keep the booking marker and ask again later."""


def supply_id_from_detail(detail: str) -> int | None:
    """WB's 400 for a preorder that already became a supply names it: «…найдена поставка 123…»."""
    found = _SUPPLY_IN_DETAIL.search(detail or "")
    return int(found.group(1)) if found else None


def _day(value: Any) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _box(value: Any, box_type_id: Any = None, on_pallet: bool = False) -> BoxType | None:
    if value:
        try:
            return BoxType(str(value))
        except ValueError:
            return None
    if box_type_id is None:
        return None
    try:
        return BoxType.from_wb(int(box_type_id) or None, bool(on_pallet))
    except (TypeError, ValueError):
        return None


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _float(value: Any) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


class Confirmer(Protocol):
    async def state(self, preorder_id: int, supply_id: int | None = None) -> WbPreorder | None:
        """WB's preorder; None when WB has no such preorder; WbUnreachable when WB cannot tell."""


class ApiConfirmer:
    def __init__(self, client: WbApiClient, token: str) -> None:
        self._client, self._token = client, token

    async def state(self, preorder_id: int, supply_id: int | None = None) -> WbPreorder | None:
        try:
            if supply_id is None:
                try:
                    record = await self._client.supply(self._token, preorder_id, is_preorder=True)
                except WbApiError as exc:
                    supply_id = supply_id_from_detail(exc.detail) if exc.status == 400 else None
                    if supply_id is None:
                        raise
                else:
                    return self._preorder(record, None)
            record = await self._client.supply(self._token, supply_id, is_preorder=False)
        except WbApiError as exc:
            raise WbUnreachable(str(exc)) from exc
        return self._preorder(record, supply_id)

    @staticmethod
    def _preorder(record: dict[str, Any], supply_id: int | None) -> WbPreorder:
        box_id = record.get("boxTypeID")
        return WbPreorder(
            status_id=int(record.get("statusID") or 0), supply_id=supply_id,
            warehouse_id=_int(record.get("warehouseID")), supply_date=_day(record.get("supplyDate")),
            box_type=_box(None, box_id if box_id is not None else None, bool(record.get("isBoxOnPallet"))),
            warehouse_name=record.get("warehouseName") or None,
            coefficient=_float(record.get("paidAcceptanceCoefficient")),
        )


class CabinetConfirmer:
    def __init__(self, cabinet: Cabinet) -> None:
        self._cabinet = cabinet

    async def state(self, preorder_id: int, supply_id: int | None = None) -> WbPreorder | None:
        try:
            record = await self._cabinet.preorder(preorder_id)
        except RpcFailure as failure:
            if failure.code == spec.RPC_ERR_NOT_FOUND:
                return None
            raise WbUnreachable(f"cabinet: {failure}") from failure
        except Exception as exc:
            raise WbUnreachable(f"cabinet: {type(exc).__name__}") from exc
        return WbPreorder(
            status_id=int(record.get("statusID") or 0), supply_id=_int(record.get("supplyID")),
            warehouse_id=_int(record.get("warehouseID")), supply_date=_day(record.get("supplyDate")),
            box_type=_box(record.get("boxType"), record.get("boxTypeID")),
            warehouse_name=record.get("warehouseName") or None,
            coefficient=_float(record.get("paidAcceptanceCoefficient")),
        )


class FirstAnswer:
    """Ask ``primary`` (WB's API); if WB cannot tell there (rate limit, outage), ask ``fallback`` (the cabinet)."""

    def __init__(self, primary: Confirmer, fallback: Confirmer) -> None:
        self._primary, self._fallback = primary, fallback

    async def state(self, preorder_id: int, supply_id: int | None = None) -> WbPreorder | None:
        try:
            return await self._primary.state(preorder_id, supply_id)
        except WbUnreachable:
            return await self._fallback.state(preorder_id, supply_id)
