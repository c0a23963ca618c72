"""Supply tasks of the caller. Bodies are typed and limited by ``TaskIn``; the domain checks how the fields fit
together, so that messages are the cabinet's own."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import JSONResponse

from wbsupply.api.deps import Csrf, CurrentUser, DbId, SessionDep, run_db
from wbsupply.api.logic import idempotency, tasks
from wbsupply.api.routes.outputs import TaskOut
from wbsupply.api.routes.schemas import TaskIn

router = APIRouter(prefix="/tasks", tags=["tasks"], dependencies=[Csrf])


@router.get("", response_model=list[TaskOut])
async def list_tasks(request: Request, user: CurrentUser, session: SessionDep, active: bool = False) -> JSONResponse:
    # The API's hot path: one read, on the event loop where the database allows (deps.run_db). Views are
    # JSON-native already: skip FastAPI's encoder, which costs the event loop more than the query.
    views = await run_db(request, session, tasks.list_task_views, session, user, active_only=active)
    return JSONResponse(views)


@router.post("", status_code=201, response_model=TaskOut)
def create_task(
    body: TaskIn, user: CurrentUser, session: SessionDep, response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=200, description=(
        "Any unique string; a retry with the same key within a day returns the task already created"))] = None,
) -> JSONResponse | dict[str, object]:
    if not idempotency_key:
        return tasks.task_view(tasks.create_task(session, user, body.as_data()))
    task, replayed = idempotency.once(session, user, idempotency_key,
                                      lambda: tasks.create_task(session, user, body.as_data()))
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return tasks.task_view(task)


@router.get("/{task_id}", response_model=TaskOut)
def get_task(task_id: DbId, user: CurrentUser, session: SessionDep) -> dict[str, object]:
    return tasks.task_view(tasks.get_task(session, user, task_id))


@router.patch("/{task_id}", response_model=TaskOut)
def update_task(task_id: DbId, body: TaskIn, user: CurrentUser, session: SessionDep) -> dict[str, object]:
    return tasks.task_view(tasks.update_task(session, user, task_id, body.as_data()))


@router.post("/{task_id}/pause", response_model=TaskOut)
def pause(task_id: DbId, user: CurrentUser, session: SessionDep) -> dict[str, object]:
    return tasks.task_view(tasks.pause_task(session, user, task_id))


@router.post("/{task_id}/resume", response_model=TaskOut)
def resume(task_id: DbId, user: CurrentUser, session: SessionDep) -> dict[str, object]:
    return tasks.task_view(tasks.resume_task(session, user, task_id))


@router.post("/{task_id}/cancel", response_model=TaskOut)
def cancel(task_id: DbId, user: CurrentUser, session: SessionDep) -> dict[str, object]:
    return tasks.task_view(tasks.cancel_task(session, user, task_id))


@router.delete("/{task_id}", status_code=204)
def delete(task_id: DbId, user: CurrentUser, session: SessionDep) -> Response:
    tasks.delete_task(session, user, task_id)
    return Response(status_code=204)
