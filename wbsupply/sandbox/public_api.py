"""The WB public API of the sandbox: the methods wbsupply uses, conforming to the official OpenAPI specs.

Every method authenticates the ``Authorization`` header (a sandbox seller's API token, bare or ``Bearer``),
then takes a token from that seller account's bucket for the method, then answers. Coefficients, options and
warehouses answer WB's "temporarily disabled" 404 while ``market.public_api_disabled`` is set.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from wbsupply.domain.statuses import BoxType
from wbsupply.sandbox import problems, ratelimit
from wbsupply.sandbox.clock import MSK
from wbsupply.sandbox.market import Market
from wbsupply.sandbox.models import Seller
from wbsupply.sandbox.ratelimit import Limit, RateLimiter
from wbsupply.sandbox.supplies_view import FilterError, parse_filter, supply_details, supply_record

INT64_MAX = 2**63 - 1
MAX_GOOD_QUANTITY = 999_999


class _Denied(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def build_router(market: Market, limiter: RateLimiter) -> APIRouter:
    router = APIRouter(tags=["WB public API"])

    def admit(request: Request, limit: Limit, can_be_disabled: bool = False,
              origin: str = problems.SUPPLY_ORIGIN) -> tuple[Seller, dict[str, str]]:
        """Authenticate, rate-limit, honour the disabled switch; returns the seller and rate headers."""
        now = market.clock.now()
        header = request.headers.get("authorization", "").strip()
        token = header[7:].strip() if header.lower().startswith("bearer ") else header
        if not token:
            raise _Denied(problems.unauthorized("empty Authorization header", now))
        seller = market.seller_by_token(token)
        if seller is None:
            raise _Denied(problems.unauthorized("token problem; token is not valid", now))
        decision = limiter.acquire(seller.id, limit)
        if not decision.allowed:
            raise _Denied(problems.too_many_requests(limit.name, now, decision.headers()))
        if can_be_disabled and market.public_api_disabled:
            raise _Denied(problems.disabled(now, origin))
        return seller, decision.headers()

    def guarded(limit: Limit, can_be_disabled: bool = False, origin: str = problems.SUPPLY_ORIGIN) -> Any:
        def decorate(handler: Any) -> Any:
            async def endpoint(request: Request) -> Response:
                try:
                    seller, headers = admit(request, limit, can_be_disabled, origin)
                except _Denied as denied:
                    return denied.response
                response: Response = await handler(request, seller)
                for name, value in headers.items():
                    response.headers.setdefault(name, value)
                return response

            endpoint.__name__ = handler.__name__
            endpoint.__doc__ = handler.__doc__
            return endpoint

        return decorate

    @guarded(ratelimit.PING, origin="s2s-api-auth-catalog")
    async def ping(request: Request, seller: Seller) -> Response:
        """Connection check (``getPing``)."""
        now = market.clock.now().astimezone(MSK).replace(microsecond=0)
        return JSONResponse({"TS": now.isoformat(), "Status": "OK"})

    @guarded(ratelimit.COEFFICIENTS, can_be_disabled=True, origin="tariffs")
    async def acceptance_coefficients(request: Request, seller: Seller) -> Response:
        """Acceptance coefficients for 14 days (``getV1AcceptanceCoefficients``)."""
        raw = request.query_params.get("warehouseIDs")
        ids: list[int] | None = None
        if raw is not None:
            try:
                ids = [int(part) for part in raw.split(",")]
            except ValueError:
                return problems.method_error(400, "Неверный формат warehouseIDs")
        return JSONResponse(market.coefficients(ids, days=14))

    @guarded(ratelimit.WAREHOUSES, can_be_disabled=True)
    async def warehouses(request: Request, seller: Seller) -> Response:
        """WB warehouses (``getV1Warehouses``)."""
        return JSONResponse([
            {"ID": w.id, "name": w.name, "address": w.address, "workTime": w.work_time, "isActive": w.is_active,
             "isTransitActive": w.is_transit_active}
            for w in market.warehouses
        ])

    @guarded(ratelimit.OPTIONS, can_be_disabled=True)
    async def acceptance_options(request: Request, seller: Seller) -> Response:
        """Which warehouses and packagings accept these goods (``postV1AcceptanceOptions``)."""
        raw_id = request.query_params.get("warehouseID")
        try:
            only = int(raw_id) if raw_id is not None else None
        except ValueError:
            return problems.method_error(400, "Неверный формат warehouseID")
        try:
            goods = json.loads(await request.body())
        except ValueError:
            goods = None
        if not isinstance(goods, list) or not goods or len(goods) > 5000 or not all(
                isinstance(g, dict) for g in goods):
            return problems.method_error(400, "Неверный формат тела запроса")
        known = {b for s in seller.suppliers for d in market.list_drafts(s.id) for b, _ in d.goods}
        result = [_options_for(market, good, known, only) for good in goods]
        body: dict[str, Any] = {"result": result}
        if any(item.get("isError") for item in result):
            body["requestId"] = problems.request_id()
        return JSONResponse(body)

    @guarded(ratelimit.SUPPLIES)
    async def supplies(request: Request, seller: Seller) -> Response:
        """The seller's supplies and preorders, newest first (``postV1Supplies``)."""
        limit = _int_param(request, "limit", 1000)
        if limit is None or not 1 <= limit <= 1000:
            return problems.method_error(400, "Неверный формат limit")
        offset = _int_param(request, "offset", 0)
        if offset is None or offset < 0:
            return problems.method_error(400, "Неверный формат offset")
        raw = await request.body()
        try:
            filters = parse_filter(json.loads(raw) if raw.strip() else None)
        except ValueError as error:  # FilterError, or JSON that does not parse
            detail = str(error) if isinstance(error, FilterError) else "Неверный формат тела запроса"
            return problems.method_error(400, detail)
        found = [p for p in market.supplies_of_seller(seller.id) if filters.matches(p)]
        found.sort(key=lambda p: (p.created_at, p.id), reverse=True)
        return JSONResponse([supply_record(p, seller) for p in found[offset:offset + limit]])

    @guarded(ratelimit.SUPPLY_DETAILS)
    async def supply(request: Request, seller: Seller) -> Response:
        """Details of one supply or preorder (``getV1SuppliesId``)."""
        raw_id = request.path_params["ID"]
        if not raw_id.isdigit():
            return problems.method_error(400, "неверный формат id (должен быть int64)")
        supply_id = int(raw_id)
        if supply_id > INT64_MAX:
            return problems.method_error(400, "id выходит за рамки int64")
        flag = request.query_params.get("isPreorderID", "false").lower()
        if flag not in ("true", "false"):
            return problems.method_error(400, "Неверный формат isPreorderID")
        if market.faults.is_blind({s.id for s in seller.suppliers}):  # fault "blind": WB cannot tell for a while
            return problems.problem(503, "service unavailable", "supply service is temporarily unavailable",
                                    market.clock.now(), origin=problems.SUPPLY_ORIGIN)
        mine = market.supplies_of_seller(seller.id)
        if flag == "true":
            found = next((p for p in mine if p.id == supply_id), None)
            if found is not None and found.supply_id is not None:
                return problems.method_error(400, f"fail to get supply details: по заказу {supply_id} найдена "
                                                  f"поставка {found.supply_id}. Используйте поиск по ID поставки")
        else:
            found = next((p for p in mine if p.supply_id == supply_id), None)
        if found is None:
            return problems.method_error(404, f"поставка {supply_id} не найдена")
        return JSONResponse(supply_details(found, seller, market.warehouse(found.warehouse_id)))

    router.add_api_route("/ping", ping, methods=["GET"])
    router.add_api_route("/api/tariffs/v1/acceptance/coefficients", acceptance_coefficients, methods=["GET"])
    router.add_api_route("/api/v1/warehouses", warehouses, methods=["GET"])
    router.add_api_route("/api/v1/acceptance/options", acceptance_options, methods=["POST"])
    router.add_api_route("/api/v1/supplies", supplies, methods=["POST"])
    router.add_api_route("/api/v1/supplies/{ID}", supply, methods=["GET"])
    return router


def _int_param(request: Request, name: str, default: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        return None


def _options_for(market: Market, good: dict[str, Any], known: set[str], only: int | None) -> dict[str, Any]:
    barcode = str(good.get("barcode", ""))
    quantity = good.get("quantity")
    if not barcode or not (barcode in known or (barcode.isdigit() and 8 <= len(barcode) <= 14)):
        return _option_error(barcode, "barcode validation error", f"barcode {barcode} is not found")
    if not isinstance(quantity, int) or not 1 <= quantity <= MAX_GOOD_QUANTITY:
        return _option_error(barcode, "quantity validation error",
                             f"quantity must be from 1 to {MAX_GOOD_QUANTITY}")
    warehouses = []
    for w in market.warehouses:
        # stable per barcode: a product is accepted by about two thirds of the warehouses
        if (only is not None and w.id != only) or zlib.crc32(f"{barcode}:{w.id}".encode()) % 3 == 0:
            continue
        warehouses.append({
            "warehouseID": w.id,
            "canBox": BoxType.BOXES in w.box_types,
            "canMonopallet": BoxType.MONOPALLETS in w.box_types,
            "canSupersafe": BoxType.SUPERSAFE in w.box_types,
            "isBoxOnPallet": BoxType.BOXES_ON_PALLET in w.box_types,
        })
    return {"barcode": barcode, "warehouses": warehouses}


def _option_error(barcode: str, title: str, detail: str) -> dict[str, Any]:
    return {"barcode": barcode, "warehouses": None, "error": {"title": title, "detail": detail}, "isError": True}
