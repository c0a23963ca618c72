"""The admin panel pages: overview (load, statistics, charts), alerts, sellers and invitations, bots, errors."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from wbsupply.api.deps import AdminUser, ContextDep, Csrf, DbId, SessionDep
from wbsupply.api.logic import admin, phone_guard, users
from wbsupply.api.logic import admin_views as views
from wbsupply.api.logic.wb import AUTH_LABELS
from wbsupply.api.security import new_password
from wbsupply.api.web import charts
from wbsupply.api.web.forms import attempt, read_form
from wbsupply.api.web.render import page, redirect
from wbsupply.domain.statuses import Role
from wbsupply.notify import feed

router = APIRouter(prefix="/admin", include_in_schema=False, dependencies=[Csrf])


@router.get("", response_class=HTMLResponse)
def overview(request: Request, user: AdminUser, session: SessionDep, context: ContextDep) -> Response:
    chart_data = {
        "per_day": charts.bars(views.bookings_per_day(session), title="Бронирования по дням", every=2),
        "detection": charts.bars(views.detection_lag(context.monitor), unit=" слотов",
                                 title="Задержка обнаружения открытых слотов, с", every=2),
        "lag": charts.bars(views.booking_lag(session), unit=" с", title="От открытия слота до брони, с",
                           every=5),
        "memory": charts.bars(views.memory_per_bot(session), unit=" МБ", title="Память ботов, МБ"),
        "hours": charts.bars(views.openings_by_hour(session), title="Открытия слотов по часам (МСК)", every=3),
        "load": charts.bars(request.app.state.load_history.hourly(), title="Нагрузка сервера по часам",
                            every=2),
    }
    return page(request, "admin/overview.html", user, load=admin.server_load(context.settings.data_dir),
                stats=admin.booking_stats(session), components=views.component_status(context.status),
                usage=views.seller_usage(session), charts=chart_data)


@router.get("/alerts", response_class=HTMLResponse)
def alerts(request: Request, user: AdminUser, session: SessionDep) -> Response:
    seen = feed.seen_id(user.notification_prefs)
    items = feed.feed_for(session, user.id or 0, 100, admin_only=True, seen=seen)
    troubled = [b for b in admin.bots(session) if b["status"] == "ERROR" or b["restart_count"]]
    return page(request, "admin/alerts.html", user, items=items, troubled=troubled)


def _sellers_page(request: Request, user: AdminUser, session: SessionDep, status_code: int = 200,
                  **extra: object) -> Response:
    return page(request, "admin/sellers.html", user, status_code=status_code, users=users.list_users(session),
                plans=users.PLAN_LIMITS, invitations=users.list_invitations(session), **extra)


@router.get("/sellers", response_class=HTMLResponse)
def sellers(request: Request, user: AdminUser, session: SessionDep) -> Response:
    return _sellers_page(request, user, session)


def _plan_limit(form: dict[str, Any], default: int | None) -> int | None:
    """The form's tariff; anything but a plan's number (``abc``) becomes -1, which the logic refuses with the
    list of plans, instead of silently turning into the default."""
    raw = str(form.get("plan_limit", "")).strip()
    if not raw:
        return default
    return int(raw) if raw.isdigit() and len(raw) <= 9 else -1


@router.post("/sellers")
async def seller_create(request: Request, user: AdminUser, session: SessionDep) -> Response:
    form = await read_form(request)
    password = form.get("password") or new_password()
    plan = _plan_limit(form, 5)
    created, error = await attempt(users.create_user, session, form.get("email", ""), password,
                                   role=Role.SELLER, plan_limit=plan)
    if error is not None or created is None:
        return _sellers_page(request, user, session, status_code=error.status_code if error else 400,
                             error=error.message if error else "")
    shown = None if form.get("password") else password  # shown once, never stored in clear
    return _sellers_page(request, user, session, created=created, created_password=shown)


@router.post("/sellers/{user_id}")
async def seller_update(request: Request, user_id: DbId, user: AdminUser, session: SessionDep) -> Response:
    form = await read_form(request)
    plan = _plan_limit(form, None)
    active = {"on": True, "off": False}.get(str(form.get("active", "")))
    _, error = await attempt(users.update_user, session, user, user_id, plan_limit=plan, active=active)
    if error is not None:
        return _sellers_page(request, user, session, status_code=error.status_code, error=error.message)
    return redirect("/admin/sellers")


@router.post("/invitations")
async def invite(request: Request, user: AdminUser, session: SessionDep) -> Response:
    form = await read_form(request)
    plan = _plan_limit(form, 5)
    result, error = await attempt(users.create_invitation, session, user, email=form.get("email") or None,
                                  plan_limit=plan)
    if error is not None or result is None:
        return _sellers_page(request, user, session, status_code=error.status_code if error else 400,
                             error=error.message if error else "")
    link = str(request.base_url).rstrip("/") + f"/invite/{result[1]}"
    return _sellers_page(request, user, session, invite_link=link)


@router.get("/bots", response_class=HTMLResponse)
def bots(request: Request, user: AdminUser, session: SessionDep) -> Response:
    return page(request, "admin/bots.html", user, bots=admin.bots(session), success=views.bot_success(session),
                auth_labels=AUTH_LABELS, proof_needed=phone_guard.PROOF_NEEDED)


@router.post("/bots/{account_id}/approve-phone")
def approve_phone(account_id: DbId, user: AdminUser, session: SessionDep) -> Response:
    phone_guard.approve(session, account_id)
    return redirect("/admin/bots")


@router.post("/bots/{account_id}/{action}")
def bot_action(account_id: DbId, action: str, user: AdminUser, session: SessionDep) -> Response:
    admin.bot_action(session, user, account_id, action)
    return redirect("/admin/bots")


@router.get("/errors", response_class=HTMLResponse)
def errors(request: Request, user: AdminUser, session: SessionDep) -> Response:
    return page(request, "admin/errors.html", user, errors=views.errors(session),
                failed=views.failed_bookings(session))
