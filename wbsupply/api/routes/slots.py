"""The 30-day slot calendar and slot history statistics (public to signed-in users: market data, not theirs)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from wbsupply.api.deps import ContextDep, CurrentUser, SessionDep
from wbsupply.api.logic import slots
from wbsupply.api.routes.outputs import StatsOut
from wbsupply.api.routes.schemas import WarehouseFilter
from wbsupply.domain.statuses import BoxType

router = APIRouter(prefix="/slots", tags=["slots"])


@router.get("/calendar", response_model=dict[str, Any])
async def calendar(_: CurrentUser, context: ContextDep, box_type: BoxType = BoxType.BOXES) -> dict[str, Any]:
    return slots.calendar_grid(await context.feed.get_calendar(), box_type, slots.today_moscow())


@router.get("/stats", response_model=StatsOut)
async def stats(
    _: CurrentUser,
    session: SessionDep,
    context: ContextDep,
    days: int = Query(default=slots.STATS_DAYS, ge=1, le=90),
    warehouse_id: Annotated[list[WarehouseFilter] | None, Query(max_length=50)] = None,
    box_type: BoxType | None = None,
) -> dict[str, Any]:
    items = await run_in_threadpool(slots.history_stats, session, days=days, warehouse_ids=warehouse_id,
                                    box_type=box_type.value if box_type else None)
    open_now = slots.open_now(await context.feed.get_calendar())
    return {"days": days, "stats": items, "chances": slots.chances_text(items, days, open_now)}
