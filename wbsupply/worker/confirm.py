"""Whether WB has a preorder planned, asked independently of the browser when possible.

With the seller's API token: WB's public supplies API (``GET /api/v1/supplies/{ID}?isPreorderID=``); a
preorder that became a supply is answered there with a 400 naming the supply, whose own record then shows
statusID 2 («Запланировано»). Without a token, or while the API is rate-limited (30 requests a minute) or
down: the cabinet's ``supply/getPreorder``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from wbsupply.wb.api_client import WbApiClient, WbApiError
from wbsupply.worker.cabinet import Cabinet

STATUS_NOT_PLANNED = 1
STATUS_PLANNED = 2
_SUPPLY_IN_DETAIL = re.compile(r"поставк\w*\s+(\d+)", re.IGNORECASE)


class WbUnreachable(Exception):
    """WB could not tell (network, rate limit, 5xx): keep the booking marker and ask again later."""


@dataclass(frozen=True)
class PreorderState:
    planned: bool
    supply_id: int | None = None
    status_id: int | None = None


def supply_id_from_detail(detail: str) -> int | None:
    """WB's 400 for a preorder that already became a supply names it: «…найдена поставка 123…»."""
    found = _SUPPLY_IN_DETAIL.search(detail or "")
    return int(found.group(1)) if found else None


class Confirmer(Protocol):
    async def state(self, preorder_id: int, supply_id: int | None = None) -> PreorderState: ...


class ApiConfirmer:
    def __init__(self, client: WbApiClient, token: str) -> None:
        self._client, self._token = client, token

    async def state(self, preorder_id: int, supply_id: int | None = None) -> PreorderState:
        try:
            if supply_id is None:
                try:
                    record = await self._client.supply(self._token, preorder_id, is_preorder=True)
                except WbApiError as exc:
                    supply_id = supply_id_from_detail(exc.detail) if exc.status == 400 else None
                    if supply_id is None:
                        raise
                else:
                    status = int(record.get("statusID") or 0)
                    return PreorderState(status >= STATUS_PLANNED, None, status)
            record = await self._client.supply(self._token, supply_id, is_preorder=False)
        except WbApiError as exc:
            raise WbUnreachable(str(exc)) from exc
        status = int(record.get("statusID") or 0)
        return PreorderState(status >= STATUS_PLANNED, supply_id, status)


class CabinetConfirmer:
    def __init__(self, cabinet: Cabinet) -> None:
        self._cabinet = cabinet

    async def state(self, preorder_id: int, supply_id: int | None = None) -> PreorderState:
        try:
            record = await self._cabinet.preorder(preorder_id)
        except Exception as exc:
            raise WbUnreachable(f"cabinet: {type(exc).__name__}") from exc
        status = int(record.get("statusID") or 0)
        found = record.get("supplyID")
        return PreorderState(status >= STATUS_PLANNED, int(found) if found else None, status)


class FirstAnswer:
    """Ask ``primary`` (WB's API); if WB cannot tell there (rate limit, outage), ask ``fallback`` (the cabinet)."""

    def __init__(self, primary: Confirmer, fallback: Confirmer) -> None:
        self._primary, self._fallback = primary, fallback

    async def state(self, preorder_id: int, supply_id: int | None = None) -> PreorderState:
        try:
            return await self._primary.state(preorder_id, supply_id)
        except WbUnreachable:
            return await self._fallback.state(preorder_id, supply_id)
