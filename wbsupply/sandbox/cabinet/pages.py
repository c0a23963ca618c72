"""The cabinet's pages (supplies list, drafts, preorders) and its static files."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, Response

from wbsupply.domain.statuses import BoxType
from wbsupply.sandbox.cabinet.web import STATIC_DIR, current_session, login_redirect, redirect, render
from wbsupply.wb import cabinet_spec as spec

STATIC_FILES = {"cabinet.js": "text/javascript", "cabinet.css": "text/css"}


def build_pages_router(market: Any) -> APIRouter:
    router = APIRouter()

    @router.get(spec.ROOT)
    def root() -> Response:
        return redirect(spec.SUPPLIES_PATH)

    @router.get(spec.SUPPLIES_PATH)
    def supplies(request: Request) -> Response:
        session = current_session(market, request)
        if session is None:
            return login_redirect(request)
        if len(session.seller.suppliers) > 1 and spec.COOKIE_SUPPLIER not in request.cookies:
            return redirect(f"{spec.SUPPLIER_SELECT_PATH}?next={spec.SUPPLIES_PATH}")
        sid = session.supplier_id
        warehouses = {w.id: w for w in market.warehouses}
        preorders = sorted(market.list_preorders(sid), key=lambda p: p.created_at, reverse=True)
        drafts = sorted(market.list_drafts(sid), key=lambda d: d.created_at, reverse=True)
        supplier = next(s for s in session.seller.suppliers if s.id == sid)
        return render(request, "supplies.html", session=session, supplier=supplier, drafts=drafts,
                      preorders=preorders, warehouses=warehouses, box_types=list(BoxType))

    @router.get(spec.STATIC_PREFIX + "/{name}")
    def static(name: str) -> Response:
        if name not in STATIC_FILES:
            raise HTTPException(404)
        return FileResponse(STATIC_DIR / name, media_type=STATIC_FILES[name],
                            headers={"Cache-Control": "no-cache"})

    return router
