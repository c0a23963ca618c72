"""Tariff, usage this month, bookings history and live status of the caller."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from wbsupply.api.deps import CurrentUser, SessionDep
from wbsupply.api.logic import bookings, live
from wbsupply.api.logic.usage import usage_view
from wbsupply.api.routes.outputs import UsageOut

router = APIRouter(tags=["usage"])


@router.get("/usage", response_model=UsageOut)
def usage(user: CurrentUser, session: SessionDep) -> dict[str, Any]:
    return usage_view(session, user)


@router.get("/bookings", response_model=list[dict[str, Any]])
def list_bookings(user: CurrentUser, session: SessionDep) -> list[dict[str, Any]]:
    return bookings.list_bookings(session, user)


@router.get("/live", response_model=dict[str, Any])
def live_status(user: CurrentUser, session: SessionDep) -> JSONResponse:
    """What the cabinet polls every few seconds: task phases, bot statuses, usage (JSON-native: no encoder)."""
    return JSONResponse(live.snapshot(session, user))
