"""The cabinet's JSON-RPC services: supplies, calendars, the coefficient report and booking (``plan/*``).

Every call is ``POST {RPC_BASE}/<service>`` with ``{"params": …, "jsonrpc": "2.0", "id": …}`` and answers
``{"jsonrpc": "2.0", "id": …, "result": …}`` or ``{…, "error": {"code", "message"}}``; a call without a
valid session gets HTTP 401 with an error body. ``plan/add`` and ``plan/update`` also need a solved
proof-of-work token (``wbsupply.sandbox.pow``) in the captcha header.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from wbsupply.domain.statuses import BoxType
from wbsupply.sandbox.cabinet.web import current_session
from wbsupply.sandbox.clock import MSK
from wbsupply.sandbox.faults import PlanCall
from wbsupply.sandbox.models import STATUS_NOT_PLANNED, InvalidState, MarketError, NotFound, SlotUnavailable
from wbsupply.sandbox.pow import ChallengeBook
from wbsupply.wb import cabinet_spec as spec

CALENDAR_DAYS = 30


class AnswerLost(Exception):
    """The request was done, but its answer never reaches the caller (an empty HTTP 502)."""


class RpcError(Exception):
    def __init__(self, code: int, message: str, http_status: int = 200, data: Any = None) -> None:
        super().__init__(message)
        self.code, self.message, self.http_status, self.data = code, message, http_status, data


def _param(params: dict[str, Any], name: str, kind: Callable[[Any], Any]) -> Any:
    if params.get(name) is None:
        raise RpcError(spec.RPC_ERR_INVALID_PARAMS, f"missing param {name}")
    try:
        return kind(params[name])
    except (TypeError, ValueError) as exc:
        raise RpcError(spec.RPC_ERR_INVALID_PARAMS, f"invalid param {name}") from exc


def _date(value: Any) -> date:
    return date.fromisoformat(str(value)[:10])


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def preorder_json(market: Any, preorder: Any) -> dict[str, Any]:
    warehouse = next((w for w in market.warehouses if w.id == preorder.warehouse_id), None)
    return {
        "preorderID": preorder.id,
        "draftID": preorder.draft_id,
        "warehouseID": preorder.warehouse_id,
        "warehouseName": warehouse.name if warehouse else None,
        "boxType": preorder.box_type.value,
        "boxTypeName": preorder.box_type.label,
        "boxTypeID": preorder.box_type.wb_box_type_id,
        "statusID": preorder.status_id,
        "statusName": spec.STATUS_LABELS.get(preorder.status_id, preorder.status_label),
        "supplyID": preorder.supply_id,
        "supplyDate": _iso(preorder.supply_date),
        "quantity": preorder.quantity,
        "createdAt": _iso(preorder.created_at),
    }


def draft_json(draft: Any) -> dict[str, Any]:
    return {
        "draftID": draft.id,
        "goods": [{"barcode": barcode, "quantity": qty} for barcode, qty in draft.goods],
        "quantity": draft.quantity,
        "createdAt": _iso(draft.created_at),
    }


class Services:
    """One method per JSON-RPC service; ``sid`` is the supplier the session acts for."""

    def __init__(self, market: Any) -> None:
        self.market = market
        self.challenges = ChallengeBook()

    def acceptance_costs(self, sid: int, params: dict[str, Any], request: Request) -> Any:
        preorder_id = _param(params, "preorderID", int)
        today = self.market.clock.now().astimezone(MSK).date()
        date_from = _date(params["dateFrom"]) if params.get("dateFrom") else today
        date_to = _date(params["dateTo"]) if params.get("dateTo") else date_from + timedelta(CALENDAR_DAYS - 1)
        days = self.market.acceptance_costs(sid, preorder_id, date_from, date_to)
        return {"costs": [
            {"date": d.date.isoformat(), "coefficient": d.coefficient, "allowUnload": d.allow_unload,
             "logisticsCoefficient": d.logistics_coefficient, "storageCoefficient": d.storage_coefficient,
             "palletsLeft": d.capacity_left if d.allow_unload else 0}
            for d in days
        ]}

    def coefficients_report(self, sid: int, params: dict[str, Any], request: Request) -> Any:
        ids = params.get("warehouseIDs")
        warehouse_ids = [int(i) for i in ids] if ids else None
        days = int(params.get("days") or CALENDAR_DAYS)
        return {"report": self.market.coefficients(warehouse_ids, days=min(days, CALENDAR_DAYS))}

    def list_supplies(self, sid: int, params: dict[str, Any], request: Request) -> Any:
        return {
            "drafts": [draft_json(d) for d in self.market.list_drafts(sid)],
            "preorders": [preorder_json(self.market, p) for p in self.market.list_preorders(sid)],
        }

    def get_preorder(self, sid: int, params: dict[str, Any], request: Request) -> Any:
        if self.market.faults.is_blind(sid):
            raise RpcError(-32000, "Сервис временно недоступен", http_status=503)
        return preorder_json(self.market, self.market.preorder(sid, _param(params, "preorderID", int)))

    def create_draft(self, sid: int, params: dict[str, Any], request: Request) -> Any:
        goods = []
        for item in params.get("goods") or []:
            barcode = str(item.get("barcode", "")).strip()
            quantity = int(item.get("quantity", 0))
            if not barcode.isdigit() or quantity <= 0:
                raise RpcError(spec.RPC_ERR_INVALID_PARAMS, "Укажите баркод и количество больше нуля")
            goods.append((barcode, quantity))
        if not goods:
            raise RpcError(spec.RPC_ERR_INVALID_PARAMS, "Добавьте хотя бы один товар")
        return {"draftID": self.market.create_draft(sid, goods).id}

    def create_preorder(self, sid: int, params: dict[str, Any], request: Request) -> Any:
        preorder = self.market.create_preorder(
            sid, _param(params, "draftID", str), _param(params, "warehouseID", int),
            _param(params, "boxType", BoxType),
        )
        return {"preorderID": preorder.id}

    def warehouses(self, sid: int, params: dict[str, Any], request: Request) -> Any:
        return [{"ID": w.id, "name": w.name, "address": w.address, "boxTypes": [b.value for b in w.box_types]}
                for w in self.market.warehouses]

    def challenge(self, sid: int, params: dict[str, Any], request: Request) -> Any:
        difficulty = int(self.market.pow_difficulty)
        return {"challenge": self.challenges.issue(difficulty), "difficulty": difficulty}

    def _move(self, sid: int, preorder_id: int, day: date) -> Any:
        market, outcome = self.market, "failed"
        already = any(p.id == preorder_id and p.status_id != STATUS_NOT_PLANNED for p in market.list_preorders(sid))
        try:
            market.reschedule(sid, preorder_id, day)
            outcome = "moved"
        except SlotUnavailable as taken:
            outcome = "slot_unavailable"
            raise RpcError(spec.RPC_ERR_SLOT_UNAVAILABLE, spec.TEXT_SLOT_TAKEN, data=taken.reason) from taken
        except InvalidState:
            outcome = "refused"
            raise
        finally:
            market.faults.record(PlanCall(sid, preorder_id, day, market.clock.now(), None, outcome, already),
                                 update=True)
        return preorder_json(market, market.preorder(sid, preorder_id))

    def plan_add(self, sid: int, params: dict[str, Any], request: Request) -> Any:
        """``plan/add`` with the injected faults of the control API (see :mod:`wbsupply.sandbox.faults`)."""
        preorder_id = _param(params, "preorderID", int)
        day = _param(params, "deliveryDate", _date)
        if not self.challenges.redeem(request.headers.get(spec.CAPTCHA_HEADER)):
            raise RpcError(spec.RPC_ERR_CAPTCHA, spec.TEXT_CAPTCHA_FAILED, http_status=403)
        market, fault = self.market, self.market.faults.take(sid)
        kind = fault.kind if fault else None

        def record(outcome: str, already: bool) -> None:
            market.faults.record(PlanCall(sid, preorder_id, day, market.clock.now(), kind, outcome, already))

        try:
            already = market.preorder(sid, preorder_id).status_id != STATUS_NOT_PLANNED
        except NotFound:
            record("not_found", False)
            raise
        if fault is not None and kind == "fail_before":
            record("failed", already)
            raise RpcError(-32000, "Внутренняя ошибка сервиса", http_status=500)
        if fault is not None and kind == "slow":
            time.sleep(fault.delay_s)
        if kind == "competitor":
            market.competitor_takes(sid, preorder_id, day)
        if kind == "seller_first":
            market.plan_by_hand(sid, preorder_id, day)
        if fault is not None and kind == "timeout" and not fault.book:
            record("failed", already)
            time.sleep(fault.delay_s)
            raise RpcError(-32000, "Gateway Timeout", http_status=504)
        try:
            market.book(sid, preorder_id, day)
        except SlotUnavailable as taken:
            record("slot_unavailable", already)
            raise RpcError(spec.RPC_ERR_SLOT_UNAVAILABLE, spec.TEXT_SLOT_TAKEN, data=taken.reason) from taken
        except InvalidState:
            record("refused", already)
            raise
        record("booked", already)
        if fault is not None and kind == "blind":
            market.faults.blind(sid, fault.delay_s)
        if kind in ("fail_after", "blind"):
            raise AnswerLost()
        if fault is not None and kind == "timeout":
            time.sleep(fault.delay_s)
        return preorder_json(market, market.preorder(sid, preorder_id))

    def plan_update(self, sid: int, params: dict[str, Any], request: Request) -> Any:
        """``plan/update`` with the injected faults of its method (see :mod:`wbsupply.sandbox.faults`)."""
        preorder_id = _param(params, "preorderID", int)
        day = _param(params, "deliveryDate", _date)
        if not self.challenges.redeem(request.headers.get(spec.CAPTCHA_HEADER)):
            raise RpcError(spec.RPC_ERR_CAPTCHA, spec.TEXT_CAPTCHA_FAILED, http_status=403)
        fault = self.market.faults.take(sid, "plan/update")
        kind = fault.kind if fault else None
        if fault is not None and kind == "fail_before":
            raise RpcError(-32000, "Внутренняя ошибка сервиса", http_status=500)
        if fault is not None and kind == "slow":
            time.sleep(fault.delay_s)
        if fault is not None and kind == "timeout" and not fault.book:
            time.sleep(fault.delay_s)
            raise RpcError(-32000, "Gateway Timeout", http_status=504)
        result = self._move(sid, preorder_id, day)
        if fault is not None and kind == "blind":
            self.market.faults.blind(sid, fault.delay_s)
        if kind in ("fail_after", "blind"):
            raise AnswerLost()
        if fault is not None and kind == "timeout":
            time.sleep(fault.delay_s)
        return result

    def table(self) -> dict[str, Callable[[int, dict[str, Any], Request], Any]]:
        return {
            spec.RPC_ACCEPTANCE_COSTS: self.acceptance_costs,
            spec.RPC_COEFFICIENTS_REPORT: self.coefficients_report,
            spec.RPC_LIST_SUPPLIES: self.list_supplies,
            spec.RPC_GET_PREORDER: self.get_preorder,
            spec.RPC_CREATE_DRAFT: self.create_draft,
            spec.RPC_CREATE_PREORDER: self.create_preorder,
            spec.RPC_WAREHOUSES: self.warehouses,
            spec.RPC_CAPTCHA_CHALLENGE: self.challenge,
            spec.RPC_PLAN_ADD: self.plan_add,
            spec.RPC_PLAN_UPDATE: self.plan_update,
        }


def _reply(rpc_id: Any, result: Any = None, error: RpcError | None = None) -> JSONResponse:
    if error is None:
        return JSONResponse({"jsonrpc": "2.0", "id": rpc_id, "result": result})
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.data is not None:
        body["data"] = error.data
    return JSONResponse({"jsonrpc": "2.0", "id": rpc_id, "error": body}, status_code=error.http_status)


def build_rpc_router(market: Any) -> APIRouter:
    router = APIRouter()
    services = Services(market).table()

    @router.post(spec.RPC_BASE + "/{service:path}")
    async def call(service: str, request: Request) -> Response:
        try:
            body = json.loads(await request.body() or b"null")
        except ValueError:
            return _reply(None, error=RpcError(-32700, "parse error", http_status=400))
        rpc_id = body.get("id") if isinstance(body, dict) else None
        if not isinstance(body, dict) or body.get("jsonrpc") != "2.0":
            return _reply(rpc_id, error=RpcError(-32600, "invalid request", http_status=400))
        # The market is thread-safe but blocking (one lock): keep it off the event loop.
        return await run_in_threadpool(dispatch, service, body, request)

    def dispatch(service: str, body: dict[str, Any], request: Request) -> Response:
        rpc_id = body.get("id")
        try:
            handler = services.get(service)
            if handler is None:
                raise RpcError(spec.RPC_ERR_METHOD_NOT_FOUND, f"method {service} not found", http_status=404)
            session = current_session(market, request)
            if session is None:
                raise RpcError(spec.RPC_ERR_UNAUTHORIZED, "unauthorized", http_status=401)
            params = body.get("params") or {}
            if not isinstance(params, dict):
                raise RpcError(spec.RPC_ERR_INVALID_PARAMS, "params must be an object")
            return _reply(rpc_id, handler(session.supplier_id, params, request))
        except RpcError as error:
            return _reply(rpc_id, error=error)
        except AnswerLost:
            return Response(status_code=502)
        except NotFound as missing:
            return _reply(rpc_id, error=RpcError(spec.RPC_ERR_NOT_FOUND, str(missing)))
        except MarketError as refused:  # e.g. planning a supply that is already planned
            return _reply(rpc_id, error=RpcError(spec.RPC_ERR_REFUSED, str(refused)))
        except (ValueError, TypeError, AttributeError) as malformed:
            return _reply(rpc_id, error=RpcError(spec.RPC_ERR_INVALID_PARAMS, f"invalid params: {malformed}"))

    return router
