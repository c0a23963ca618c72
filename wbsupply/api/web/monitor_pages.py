"""Admin panel: «Мониторинг» — the live slot source, WB's API state and the monitor accounts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from wbsupply.api.deps import AdminUser, ContextDep, Csrf, SessionDep
from wbsupply.api.logic import monitor_admin
from wbsupply.api.web.forms import attempt, read_form
from wbsupply.api.web.render import page, redirect
from wbsupply.store import User

router = APIRouter(prefix="/admin/monitor", include_in_schema=False, dependencies=[Csrf])


def _page(request: Request, user: User, session: Any, context: Any, error: str = "", status_code: int = 200,
          phone: str = "") -> Response:
    return page(request, "admin/monitor.html", user, status_code=status_code,
                live=monitor_admin.live(context.monitor), accounts=monitor_admin.views(session),
                error=error, phone=phone)


@router.get("", response_class=HTMLResponse)
def monitor_page(request: Request, user: AdminUser, session: SessionDep, context: ContextDep) -> Response:
    return _page(request, user, session, context)


async def _action(request: Request, user: User, session: Any, context: Any, fn: Any, *args: Any) -> Response:
    _, error = await attempt(fn, session, user, *args)
    if error is None:
        return redirect("/admin/monitor")
    if error.status_code == 404:
        raise error
    phone = str(args[0]) if fn is monitor_admin.add else ""
    return await run_in_threadpool(_page, request, user, session, context, error.message, error.status_code, phone)


@router.post("")
async def connect(request: Request, user: AdminUser, session: SessionDep, context: ContextDep) -> Response:
    form = await read_form(request)
    return await _action(request, user, session, context, monitor_admin.add, form.get("phone", ""),
                         form.get("label", ""), form.get("requests_per_minute"))


@router.post("/{account_id}/step")
async def step(request: Request, account_id: int, user: AdminUser, session: SessionDep,
               context: ContextDep) -> Response:
    form = await read_form(request)
    return await _action(request, user, session, context, monitor_admin.submit_step, account_id,
                         form.get("kind", ""), form.get("value"))


@router.post("/{account_id}/{action}")
async def toggle(request: Request, account_id: int, action: str, user: AdminUser, session: SessionDep,
                 context: ContextDep) -> Response:
    if action not in ("pause", "resume"):
        return redirect("/admin/monitor")
    return await _action(request, user, session, context, monitor_admin.set_enabled, account_id, action == "resume")
