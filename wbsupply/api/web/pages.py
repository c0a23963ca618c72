"""The seller's cabinet pages (Russian, server-rendered). Logic lives in ``wbsupply.api.logic``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from wbsupply.api.deps import (
    ContextDep,
    Csrf,
    CurrentUser,
    DbId,
    OptionalUser,
    ReadSessionDep,
    SessionDep,
    client_ip,
    run_db,
)
from wbsupply.api.logic import bookings, notifications, slots, tasks, users, wb
from wbsupply.api.logic.usage import usage_view
from wbsupply.api.logic.warehouses import picker
from wbsupply.api.session_cookie import clear_session_cookie, set_session_cookie
from wbsupply.api.web.forms import attempt, picked_warehouses, read_form
from wbsupply.api.web.render import page, redirect
from wbsupply.domain.statuses import BoxType, Role, TaskPhase
from wbsupply.store import User

router = APIRouter(include_in_schema=False, dependencies=[Csrf])


def _safe_next(target: str | None) -> str:
    # Only local paths: an open redirect after login would be a phishing helper.
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, user: OptionalUser, next: str = "/") -> Response:
    if user is not None:
        return redirect(_safe_next(next))
    return page(request, "login.html", None, next=_safe_next(next))


@router.post("/login")
async def login(request: Request, session: ReadSessionDep) -> Response:
    form = await read_form(request)
    user, error = await attempt(users.authenticate, session, form.get("email", ""), form.get("password", ""),
                                client_ip(request), secret=request.app.state.secret_key)
    if error is not None or user is None:
        status = error.status_code if error else 401
        retry_after = getattr(error, "retry_after", None)
        response: Response = page(request, "login.html", None, status_code=status, error=error.message if error else "",
                        email=form.get("email", ""), next=_safe_next(form.get("next")))
        if retry_after is not None:
            response.headers["Retry-After"] = str(retry_after)
        return response
    target = _safe_next(form.get("next"))
    if target == "/" and user.role is Role.ADMIN:
        target = "/admin"  # the operator's start page; their own cabinet is one click away
    response = redirect(target)
    set_session_cookie(request, response, user)
    return response


@router.post("/logout")
def logout(user: OptionalUser, session: SessionDep) -> Response:
    if user is not None:
        users.end_sessions(session, user)
    response = redirect("/login")
    clear_session_cookie(response)
    return response


@router.get("/invite/{token}", response_class=HTMLResponse)
def invite_form(request: Request, token: str, session: SessionDep) -> Response:
    invitation = users.find_invitation(session, token)
    return page(request, "invite.html", None, token=token, email=invitation.email or "")


@router.post("/invite/{token}")
async def invite_accept(request: Request, token: str, session: SessionDep) -> Response:
    form = await read_form(request)
    user, error = await attempt(users.accept_invitation, session, token, form.get("email", ""),
                                form.get("password", ""))
    if error is not None or user is None:
        return page(request, "invite.html", None, status_code=error.status_code if error else 400, token=token,
                    email=form.get("email", ""), error=error.message if error else "")
    response = redirect("/")
    set_session_cookie(request, response, user)
    return response


@router.get("/", response_class=HTMLResponse)
async def dashboard(request: Request, user: CurrentUser, session: SessionDep) -> Response:
    # The cabinet's hot page: all its reads in one step, on the event loop where the database allows.
    return await run_db(request, session, _dashboard, request, user, session)


def _dashboard(request: Request, user: User, session: Any) -> Response:
    accounts = [wb.view(session, account, with_message=False) for account in wb.list_accounts(session, user)]
    recent = bookings.list_bookings(session, user, limit=20)
    supply_of = {b["task_id"]: b["supply_id"] for b in reversed(recent)}
    # Active tasks, and the ones booked lately: «Забронировано» with the supply number is what a seller looks for.
    shown = [dict(t, supply_id=supply_of.get(t["id"])) for t in tasks.list_task_views(session, user, limit=40)
             if not t["is_final"] or (t["phase"] == TaskPhase.BOOKED.value and t["id"] in supply_of)][:20]
    return page(request, "dashboard.html", user, accounts=accounts, tasks=shown, bookings=recent[:5],
                usage=usage_view(session, user), is_admin=user.role is Role.ADMIN)


# --- WB accounts ----------------------------------------------------------------------------------------


def _wb_page(request: Request, user: User, session: Any, error: str = "", status_code: int = 200,
             phone: str = "") -> Response:
    accounts = [wb.view(session, account) for account in wb.list_accounts(session, user)]
    return page(request, "wb.html", user, status_code=status_code, accounts=accounts,
                max_accounts=wb.max_accounts(user), warning=wb.BAN_RISK_WARNING, error=error, phone=phone)


@router.get("/wb", response_class=HTMLResponse)
def wb_accounts(request: Request, user: CurrentUser, session: SessionDep) -> Response:
    return _wb_page(request, user, session)


async def _wb_action(request: Request, user: User, session: Any, fn: Any, *args: Any) -> Response:
    """Run a WB-account action from a form; its error is shown on the page (someone else's account: 404)."""
    _, error = await attempt(fn, session, user, *args)
    if error is None:
        return redirect("/wb")
    if error.status_code == 404:
        raise error
    return await run_in_threadpool(_wb_page, request, user, session, error.message, error.status_code,
                                   str(args[0]) if fn is wb.add_account else "")


@router.post("/wb/connect")
async def wb_connect(request: Request, user: CurrentUser, session: SessionDep) -> Response:
    form = await read_form(request)
    return await _wb_action(request, user, session, wb.add_account, form.get("phone", ""), form.get("label", ""),
                            form.get("accept_risk") == "on")


@router.post("/wb/{account_id}/step")
async def wb_step(request: Request, account_id: DbId, user: CurrentUser, session: SessionDep) -> Response:
    form = await read_form(request)
    return await _wb_action(request, user, session, wb.submit_step, account_id, form.get("kind", ""),
                            form.get("value"))


@router.post("/wb/{account_id}/api-token")
async def wb_api_token(request: Request, account_id: DbId, user: CurrentUser, session: SessionDep) -> Response:
    form = await read_form(request)
    return await _wb_action(request, user, session, wb.set_api_token, account_id, form.get("token"),
                            request.app.state.secret_key)


@router.post("/wb/{account_id}/disconnect")
def wb_disconnect(account_id: DbId, user: CurrentUser, session: SessionDep) -> Response:
    wb.disconnect(session, user, account_id)
    return redirect("/wb")


# --- tasks ----------------------------------------------------------------------------------------------


@router.get("/tasks", response_class=HTMLResponse)
def task_list(request: Request, user: CurrentUser, session: SessionDep) -> Response:
    return page(request, "tasks.html", user, tasks=tasks.list_task_views(session, user))


def _task_form(request: Request, user: User, session: Any, *, form: dict[str, Any], task_id: int | None = None,
               errors: list[str] | None = None, status_code: int = 200) -> Response:
    chosen = picked_warehouses(form) if "wh" in form else list(form.get("warehouses", []))
    ids = [w for w in chosen if isinstance(w, int)]
    box_type = form.get("box_type") if form.get("box_type") in set(BoxType) else None  # a forged form's value
    stats = slots.history_stats(session, warehouse_ids=ids, box_type=box_type) if ids else []
    accounts = wb.list_accounts(session, user)
    supplies = [(account, wb.cabinet_supplies(session, user, account.id or 0)) for account in accounts]
    return page(request, "task_form.html", user, status_code=status_code, form=form, task_id=task_id,
                errors=errors or [], accounts=accounts, warehouses=picker(),
                chosen={w: n + 1 for n, w in enumerate(ids)}, box_types=list(BoxType),
                chances=slots.chances_text(stats, open_now=slots.open_now_in_process(request.app.state)),
                supplies=supplies, task_claim=_claim_of(form))


def _claim_of(form: dict[str, Any]) -> str:
    """What the task being edited holds now (its own draft or preorder stays selectable in the list)."""
    if form.get("preorder_id"):
        return f"preorder:{form['preorder_id']}"
    return f"draft:{form['draft_id']}" if form.get("draft_id") else ""


@router.get("/tasks/new", response_class=HTMLResponse)
def task_new(request: Request, user: CurrentUser, session: SessionDep) -> Response:
    return _task_form(request, user, session, form={"box_type": "boxes", "max_coefficient": "0", "mode": "book"})


@router.post("/tasks/new")
async def task_create(request: Request, user: CurrentUser, session: SessionDep) -> Response:
    form = await read_form(request)
    data = tasks.form_to_data(form, picked_warehouses(form))
    _, error = await attempt(tasks.check_planned_pick, session, user, data)
    task = None
    if error is None:
        task, error = await attempt(tasks.create_task, session, user, data)
    if error is not None or task is None:
        return _task_form(request, user, session, form=form, errors=error.errors if error else [],
                          status_code=error.status_code if error else 400)
    return redirect("/tasks")


@router.get("/tasks/{task_id}/edit", response_class=HTMLResponse)
def task_edit(request: Request, task_id: DbId, user: CurrentUser, session: SessionDep) -> Response:
    task = tasks.get_task(session, user, task_id)
    form = {key: value for key, value in task.spec.items() if value is not None}
    form["skip_dates"] = ", ".join(form.get("skip_dates", []))
    form["weekdays"] = [str(day) for day in form.get("weekdays", [])]
    form["deadline"] = (form.get("deadline") or "")[:16]
    form["account_id"] = str(task.account_id)
    form.update({f"racer_{account_id}": draft for account_id, draft in (form.pop("racers", None) or {}).items()})
    return _task_form(request, user, session, form=form, task_id=task_id)


@router.post("/tasks/{task_id}")
async def task_update(request: Request, task_id: DbId, user: CurrentUser, session: SessionDep) -> Response:
    form = await read_form(request)
    data = tasks.form_to_data(form, picked_warehouses(form))
    # The form sends the whole spec: fields left blank must be cleared, not kept from the old spec.
    cleared = {name: None for name in tasks.OPTIONAL_FORM_FIELDS}
    blank: dict[str, list[str]] = {"weekdays": [], "skip_dates": []}
    _, error = await attempt(tasks.check_planned_pick, session, user, data)
    if error is None:
        _, error = await attempt(tasks.update_task, session, user, task_id, {**cleared, **blank, **data})
    if error is not None:
        if error.status_code == 404:
            raise error
        return _task_form(request, user, session, form=form, task_id=task_id, errors=error.errors,
                          status_code=error.status_code)
    return redirect(f"/tasks/{task_id}")


@router.post("/tasks/{task_id}/{action}")
def task_action(request: Request, task_id: DbId, action: str, user: CurrentUser, session: SessionDep) -> Response:
    actions = {"pause": tasks.pause_task, "resume": tasks.resume_task, "cancel": tasks.cancel_task,
               "delete": tasks.delete_task}
    if action not in actions:
        tasks.get_task(session, user, task_id)  # 404 for someone else's task, whatever the action
        return redirect("/tasks")
    actions[action](session, user, task_id)
    if action == "delete":
        return redirect("/tasks")
    return redirect(f"/tasks/{task_id}" if request.query_params.get("back") == "task" else "/tasks")


# --- calendar, bookings, settings, honesty --------------------------------------------------------------


@router.get("/calendar", response_class=HTMLResponse)
async def calendar(request: Request, user: CurrentUser, session: SessionDep, context: ContextDep,
                   box_type: BoxType = BoxType.BOXES) -> Response:
    snapshot = await context.feed.get_calendar()
    grid = slots.calendar_grid(snapshot, box_type, slots.today_moscow())
    stats = await run_in_threadpool(slots.history_stats, session, box_type=box_type.value)
    now_open = slots.open_now(snapshot)
    for item in stats:
        item["open_now"] = (item["warehouse_id"], item["box_type"]) in now_open
    return page(request, "calendar.html", user, grid=grid, stats=stats[:40], box_types=list(BoxType),
                box_type=box_type)


@router.get("/bookings", response_class=HTMLResponse)
def booking_list(request: Request, user: CurrentUser, session: SessionDep) -> Response:
    return page(request, "bookings.html", user, bookings=bookings.list_bookings(session, user))


@router.get("/settings", response_class=HTMLResponse)
def settings_page(request: Request, user: CurrentUser, context: ContextDep, code: str = "",
                  saved: bool = False) -> Response:
    return page(request, "settings.html", user, prefs=notifications.prefs_view(user), events=notifications.EVENTS,
                code=code, saved=saved, usage=None, bot=context.settings.telegram_bot_username)


@router.post("/settings")
async def settings_save(request: Request, user: CurrentUser, session: SessionDep) -> Response:
    form = await read_form(request)
    channels = {name: form.get(f"ch_{name}") == "on" for name in notifications.CHANNELS}
    events = {name: form.get(f"ev_{name}") == "on" for name in notifications.EVENTS}
    await run_in_threadpool(notifications.update_prefs, session, user, channels, events)
    return redirect("/settings?saved=1")


@router.post("/settings/telegram")
def telegram_code(request: Request, user: CurrentUser, session: SessionDep, context: ContextDep) -> Response:
    code = notifications.new_link_code(session, user)
    return settings_page(request, user, context, code=code.code)


@router.post("/settings/password")
async def password_change(request: Request, user: CurrentUser, session: SessionDep) -> Response:
    form = await read_form(request)
    _, error = await attempt(users.change_password, session, user, form.get("old_password", ""),
                             form.get("new_password", ""))
    if error is not None:
        return page(request, "settings.html", user, status_code=error.status_code,
                    prefs=notifications.prefs_view(user), events=notifications.EVENTS, password_error=error.message,
                    bot=request.app.state.context.settings.telegram_bot_username)
    response = redirect("/settings?saved=1")
    set_session_cookie(request, response, user)
    return response


@router.get("/honesty", response_class=HTMLResponse)
def honesty(request: Request, user: OptionalUser) -> Response:
    return page(request, "honesty.html", user, phases=list(TaskPhase))
