"""Control API of the sandbox: JSON under ``/sandbox/...``, no authentication (tests, demos, staging).

Dates are ISO ``YYYY-MM-DD`` (Moscow calendar days); ``box_type`` is ``boxes | monopallets | supersafe | qr |
boxes_on_pallet`` or a WB ``boxTypeID`` (2, 5, 6). Errors: 404 unknown object, 409 refused by the market
(closed slot, wrong status), 422 malformed body. A preorder made without ``draft_id`` gets a fresh draft (of
``goods`` or one default product); it starts «Не запланировано». ``slots/open`` defaults: coefficient 0,
capacity 1, no lifetime (open until closed, booked out or taken). The public-API switch makes coefficients,
options and warehouses answer WB's "temporarily disabled" 404.

| method and path | body / query | does |
|---|---|---|
| ``GET /sandbox/state`` | | clock, speed, seed, switch, counts |
| ``POST /sandbox/sellers`` | ``{name?, phone?, suppliers?: 1}`` | new seller: id, phone, ``api_token``, suppliers |
| ``GET /sandbox/sellers`` | | all sellers with tokens |
| ``POST /sandbox/drafts`` | ``{supplier_id, goods: [{barcode, quantity}]}`` | new draft (``draftID``) |
| ``POST /sandbox/preorders`` | ``{supplier_id, warehouse_id, box_type, draft_id?, goods?}`` | new preorder |
| ``GET /sandbox/preorders?supplier_id=`` | | preorders and supplies of one supplier |
| ``GET /sandbox/slots`` | ``?warehouse_id=&date=&box_type=`` | one slot, or every open slot without a query |
| ``POST /sandbox/slots/open`` | ``{warehouse_id, date, box_type, coefficient?, capacity?, lifetime_s?}`` | open now |
| ``POST /sandbox/slots/close`` | ``{warehouse_id, date, box_type}`` | close it (as if competitors took it) |
| ``POST /sandbox/slots/capacity`` | ``{warehouse_id, date, box_type, capacity}`` | bookings the open slot still takes |
| ``GET /sandbox/bookings`` | | every booking and reschedule made in the cabinet |
| ``POST /sandbox/sessions/expire`` | ``{seller_id, include_refresh?: true}`` | expire cabinet sessions |
| ``POST /sandbox/login/captcha`` | ``{phone, on?: true}`` | demand a captcha before the next code |
| ``POST /sandbox/login/block`` | ``{phone, hours}`` | block code requests (0 unblocks) |
| ``GET /sandbox/sms?phone=`` | | SMS codes sent, newest first |
| ``GET /sandbox/inbox`` | | the same as a Russian HTML page |
| ``POST /sandbox/public-api`` | ``{disabled: bool}`` | WB's "temporarily disabled" 404 switch |
| ``POST /sandbox/faults`` | ``{kind, count?: 1, delay_s?, supplier_id?, book?: true, method?: "plan/add"}`` | arm a \
``plan/add`` (or ``plan/update``) fault |
| ``GET /sandbox/faults`` | | armed faults and every ``plan/add`` / ``plan/update`` call so far |
| ``DELETE /sandbox/faults`` | | disarm all faults |
| ``POST /sandbox/clock/advance`` | ``{seconds}`` | jump the sandbox clock forward |
| ``POST /sandbox/step`` | | run the market simulation up to now |
| ``POST /sandbox/reset`` | | forget everything, restart the market from the seed |

Interactive documentation of all sandbox routes: ``GET /sandbox/docs``.
"""

from __future__ import annotations

import html
from dataclasses import asdict
from datetime import date
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from wbsupply.domain.statuses import BoxType
from wbsupply.sandbox.clock import MSK
from wbsupply.sandbox.faults import FAULT_KINDS, Fault
from wbsupply.sandbox.market import Market
from wbsupply.sandbox.models import MarketError, NotFound, Preorder, Seller, Slot
from wbsupply.sandbox.ratelimit import RateLimiter

DEFAULT_GOODS = [{"barcode": "2040000000017", "quantity": 10}]


class SellerIn(BaseModel):
    name: str | None = None
    phone: str | None = None
    suppliers: int = Field(1, ge=1, le=10)


class GoodIn(BaseModel):
    barcode: str
    quantity: int = Field(ge=1, le=999_999)


class DraftIn(BaseModel):
    supplier_id: int
    goods: list[GoodIn] = Field(min_length=1)


class PreorderIn(BaseModel):
    supplier_id: int
    warehouse_id: int
    box_type: str | int = "boxes"
    draft_id: str | None = None
    goods: list[GoodIn] | None = None


class SlotKeyIn(BaseModel):
    warehouse_id: int
    date: date
    box_type: str | int = "boxes"


class SlotOpenIn(SlotKeyIn):
    coefficient: int = Field(0, ge=0, le=20)
    capacity: int = Field(1, ge=1)
    lifetime_s: float | None = Field(None, gt=0)


class CapacityIn(SlotKeyIn):
    capacity: int = Field(ge=0)


class ExpireIn(BaseModel):
    seller_id: int
    include_refresh: bool = True


class CaptchaIn(BaseModel):
    phone: str
    on: bool = True


class BlockIn(BaseModel):
    phone: str
    hours: int = Field(ge=0)


class SwitchIn(BaseModel):
    disabled: bool


class FaultIn(BaseModel):
    kind: str = Field(description="one of " + ", ".join(FAULT_KINDS))
    count: int = Field(1, ge=1, le=1000)
    delay_s: float = Field(0.0, ge=0, le=600)
    supplier_id: int | None = None
    book: bool = True
    method: str = Field("plan/add", description="plan/add or plan/update")


class AdvanceIn(BaseModel):
    seconds: float = Field(ge=0)


def box_type_of(value: str | int) -> BoxType:
    try:
        if isinstance(value, int) or value.isdigit():
            return BoxType.from_wb(int(value))
        return BoxType(value)
    except ValueError:
        raise HTTPException(422, f"unknown box type {value!r}") from None


def seller_json(seller: Seller) -> dict[str, Any]:
    return {"id": seller.id, "name": seller.name, "phone": seller.phone, "api_token": seller.api_token,
            "suppliers": [asdict(s) for s in seller.suppliers]}


def preorder_json(p: Preorder) -> dict[str, Any]:
    return {"id": p.id, "supplier_id": p.supplier_id, "draft_id": p.draft_id, "warehouse_id": p.warehouse_id,
            "box_type": p.box_type.value, "status_id": p.status_id, "status": p.status_label,
            "supply_id": p.supply_id, "supply_date": p.supply_date, "coefficient": p.coefficient,
            "quantity": p.quantity, "created_at": p.created_at, "updated_at": p.updated_at}


def slot_json(s: Slot) -> dict[str, Any]:
    return {"warehouse_id": s.warehouse_id, "date": s.date, "box_type": s.box_type.value,
            "coefficient": s.coefficient, "allow_unload": s.allow_unload, "capacity": s.capacity,
            "is_open": s.is_open, "closes_at": s.closes_at, "simulated": s.simulated}


def build_router(market: Market, limiter: RateLimiter) -> APIRouter:
    router = APIRouter(prefix="/sandbox", tags=["sandbox control"])

    def call(fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except NotFound as error:
            raise HTTPException(404, str(error)) from None
        except MarketError as error:
            raise HTTPException(409, str(error)) from None
        except ValueError as error:
            raise HTTPException(422, str(error)) from None

    @router.get("/state")
    def state() -> dict[str, Any]:
        now = market.clock.now()
        return {"now": now, "today_msk": now.astimezone(MSK).date(), "speed": market.clock.speed,
                "seed": market.seed, "public_api_disabled": market.public_api_disabled,
                "pow_difficulty": market.pow_difficulty, "sellers": len(market.sellers()),
                "open_slots": len(market.open_slots()), "bookings": len(market.bookings())}

    @router.post("/sellers", status_code=201)
    def create_seller(body: SellerIn) -> dict[str, Any]:
        return seller_json(call(market.create_seller, body.name, body.phone, body.suppliers))

    @router.get("/sellers")
    def sellers() -> list[dict[str, Any]]:
        return [seller_json(s) for s in market.sellers()]

    @router.post("/drafts", status_code=201)
    def create_draft(body: DraftIn) -> dict[str, Any]:
        draft = call(market.create_draft, body.supplier_id, [(g.barcode, g.quantity) for g in body.goods])
        return {"id": draft.id, "supplier_id": draft.supplier_id, "created_at": draft.created_at,
                "goods": [{"barcode": b, "quantity": q} for b, q in draft.goods]}

    @router.post("/preorders", status_code=201)
    def create_preorder(body: PreorderIn) -> dict[str, Any]:
        draft_id = body.draft_id
        if draft_id is None:
            goods = [(g.barcode, g.quantity) for g in body.goods] if body.goods else [
                (g["barcode"], g["quantity"]) for g in DEFAULT_GOODS]
            draft_id = call(market.create_draft, body.supplier_id, goods).id
        preorder = call(market.create_preorder, body.supplier_id, draft_id, body.warehouse_id,
                        box_type_of(body.box_type))
        return preorder_json(preorder)

    @router.get("/preorders")
    def preorders(supplier_id: int) -> list[dict[str, Any]]:
        return [preorder_json(p) for p in market.list_preorders(supplier_id)]

    @router.get("/slots")
    def slots(warehouse_id: int | None = None, date: date | None = None,
              box_type: str = "boxes") -> Any:
        if warehouse_id is None or date is None:
            return [slot_json(s) for s in market.open_slots()]
        return slot_json(call(market.slot, warehouse_id, date, box_type_of(box_type)))

    @router.post("/slots/open")
    def open_slot(body: SlotOpenIn) -> dict[str, Any]:
        return slot_json(call(market.open_slot, body.warehouse_id, body.date, box_type_of(body.box_type),
                              body.coefficient, body.capacity, body.lifetime_s))

    @router.post("/slots/close")
    def close_slot(body: SlotKeyIn) -> dict[str, Any]:
        return slot_json(call(market.close_slot, body.warehouse_id, body.date, box_type_of(body.box_type)))

    @router.post("/slots/capacity")
    def set_capacity(body: CapacityIn) -> dict[str, Any]:
        return slot_json(call(market.set_capacity, body.warehouse_id, body.date, box_type_of(body.box_type),
                              body.capacity))

    @router.get("/bookings")
    def bookings() -> list[dict[str, Any]]:
        return [{**asdict(b), "box_type": b.box_type.value} for b in market.bookings()]

    @router.post("/sessions/expire")
    def expire_sessions(body: ExpireIn) -> dict[str, Any]:
        call(market.seller, body.seller_id)
        return {"expired": market.expire_sessions(body.seller_id, body.include_refresh)}

    @router.post("/login/captcha")
    def force_captcha(body: CaptchaIn) -> dict[str, Any]:
        market.force_captcha(body.phone, body.on)
        return {"phone": body.phone, "captcha": body.on}

    @router.post("/login/block")
    def block_login(body: BlockIn) -> dict[str, Any]:
        market.block_login(body.phone, body.hours)
        return {"phone": body.phone, "blocked_hours": body.hours}

    @router.get("/sms")
    def sms(phone: str | None = None) -> list[dict[str, Any]]:
        return [asdict(m) for m in market.inbox(phone)]

    @router.get("/inbox", response_class=HTMLResponse)
    def inbox_page(phone: str | None = None) -> str:
        return _inbox_html(market, phone)

    @router.post("/public-api")
    def switch_public_api(body: SwitchIn) -> dict[str, Any]:
        market.public_api_disabled = body.disabled
        return {"public_api_disabled": market.public_api_disabled}

    @router.post("/faults", status_code=201)
    def arm_fault(body: FaultIn) -> dict[str, Any]:
        fault = call(market.faults.add, Fault(body.kind, body.count, body.delay_s, body.supplier_id, body.book,
                                                 body.method))
        return asdict(fault)

    @router.get("/faults")
    def faults() -> dict[str, Any]:
        return {"armed": market.faults.armed(), "kinds": list(FAULT_KINDS),
                "plan_calls": [asdict(c) for c in list(market.faults.calls)],
                "update_calls": [asdict(c) for c in list(market.faults.update_calls)]}

    @router.delete("/faults")
    def disarm_faults() -> dict[str, Any]:
        market.faults.clear()
        return {"armed": []}

    @router.post("/clock/advance")
    def advance(body: AdvanceIn) -> dict[str, Any]:
        now = market.clock.advance(body.seconds)
        return {"now": now, "events": market.step()}

    @router.post("/step")
    def step() -> dict[str, Any]:
        return {"events": market.step(), "now": market.clock.now()}

    @router.post("/reset")
    def reset() -> dict[str, Any]:
        market.reset()
        limiter.reset()
        return {"reset": True, "now": market.clock.now()}

    return router


def _inbox_html(market: Market, phone: str | None) -> str:
    rows = "".join(
        f"<tr><td>{m.sent_at.astimezone(MSK):%d.%m.%Y %H:%M:%S}</td><td>{html.escape(m.phone)}</td>"
        f"<td class='code'>{m.code}</td><td>{html.escape(m.text)}</td></tr>"
        for m in market.inbox(phone)
    ) or "<tr><td colspan='4'>Сообщений пока нет</td></tr>"
    return f"""<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><meta http-equiv="refresh" content="3">
<title>Песочница WB — входящие СМС</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.4em .8em}}.code{{font:bold 1.4em monospace;color:#7d0fa8}}</style>
</head><body><h1>Входящие СМС песочницы</h1>
<p>Коды для входа в личный кабинет продавца. Страница обновляется каждые 3 секунды.</p>
<table><thead><tr><th>Время (МСК)</th><th>Телефон</th><th>Код</th><th>Текст</th></tr></thead>
<tbody>{rows}</tbody></table></body></html>"""
