"""Supply tasks of the caller. Bodies are validated by the domain so that messages are the cabinet's own."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse

from wbsupply.api.deps import Csrf, CurrentUser, SessionDep, run_db
from wbsupply.api.logic import tasks

router = APIRouter(prefix="/tasks", tags=["tasks"], dependencies=[Csrf])

TaskBody = Annotated[
    dict[str, Any],
    Body(
        examples=[{"account_id": 1, "draft_id": "d-1", "warehouses": [507, 117501], "box_type": "boxes",
                   "lead_time_days": 7, "max_coefficient": 1, "mode": "book"}]
    ),
]


@router.get("", response_model=None)
async def list_tasks(request: Request, user: CurrentUser, session: SessionDep, active: bool = False) -> JSONResponse:
    # The API's hot path: one read, on the event loop where the database allows (deps.run_db). Views are
    # JSON-native already: skip FastAPI's encoder, which costs the event loop more than the query.
    views = await run_db(request, session, tasks.list_task_views, session, user, active_only=active)
    return JSONResponse(views)


@router.post("", status_code=201, response_model=None)
def create_task(body: TaskBody, user: CurrentUser, session: SessionDep) -> dict[str, Any]:
    return tasks.task_view(tasks.create_task(session, user, body))


@router.get("/{task_id}", response_model=None)
def get_task(task_id: int, user: CurrentUser, session: SessionDep) -> dict[str, Any]:
    return tasks.task_view(tasks.get_task(session, user, task_id))


@router.patch("/{task_id}", response_model=None)
def update_task(task_id: int, body: TaskBody, user: CurrentUser, session: SessionDep) -> dict[str, Any]:
    return tasks.task_view(tasks.update_task(session, user, task_id, body))


@router.post("/{task_id}/pause", response_model=None)
def pause(task_id: int, user: CurrentUser, session: SessionDep) -> dict[str, Any]:
    return tasks.task_view(tasks.pause_task(session, user, task_id))


@router.post("/{task_id}/resume", response_model=None)
def resume(task_id: int, user: CurrentUser, session: SessionDep) -> dict[str, Any]:
    return tasks.task_view(tasks.resume_task(session, user, task_id))


@router.post("/{task_id}/cancel", response_model=None)
def cancel(task_id: int, user: CurrentUser, session: SessionDep) -> dict[str, Any]:
    return tasks.task_view(tasks.cancel_task(session, user, task_id))
