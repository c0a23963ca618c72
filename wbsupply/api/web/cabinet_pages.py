"""Cabinet pages beyond the basics: the notification feed, a task's own page with its history, API tokens."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import col, select

from wbsupply.api.deps import Csrf, CurrentUser, DbId, SessionDep
from wbsupply.api.logic import bookings, notifications, tasks, users
from wbsupply.api.web.forms import attempt, read_form
from wbsupply.api.web.render import page, redirect
from wbsupply.notify import feed
from wbsupply.notify.kinds import Group
from wbsupply.store import EventLog, WbAccount
from wbsupply.store.types import utcnow

router = APIRouter(include_in_schema=False, dependencies=[Csrf])


@router.get("/notifications", response_class=HTMLResponse)
def notification_feed(request: Request, user: CurrentUser, session: SessionDep, group: str = "") -> Response:
    chosen = Group(group) if group in Group.__members__.values() else None
    seen = feed.seen_id(user.notification_prefs)
    items = feed.feed_for(session, user.id or 0, 100, group=chosen, seen=seen)
    response = page(request, "feed.html", user, items=items, groups=list(Group), group=chosen)
    # After drawing, what was new is marked read on this page. The GET's session only reads (a deferred SQLite
    # transaction cannot turn into a writer once another writer committed): the mark is its own write.
    newest = feed.newest_id(session, user.id or 0)
    session.rollback()
    with request.app.state.writing_sessions() as writing:
        notifications.mark_feed_read(writing, user.id or 0, newest)
    return response


@router.get("/tasks/{task_id}", response_class=HTMLResponse)
def task_page(request: Request, task_id: DbId, user: CurrentUser, session: SessionDep) -> Response:
    task = tasks.get_task(session, user, task_id)
    account = session.get(WbAccount, task.account_id)
    racing = [session.get(WbAccount, int(racer)) for racer in (task.spec or {}).get("racers") or {}]
    racers = [row.label or row.phone for row in racing if row is not None and row.owner_id == user.id]
    history = session.exec(select(EventLog).where(col(EventLog.task_id) == task_id)
                           .order_by(col(EventLog.at).desc(), col(EventLog.id).desc()).limit(100)).all()
    # What the seller was told about this task (a notify-only task's slots live only there).
    notices = [item for item in feed.feed_for(session, user.id or 0, 200)
               if item.link and item.link.rstrip("/").endswith(f"/tasks/{task_id}")]
    lines = [_history_line(row) for row in history] + [
        {"at": item.at, "text": f"Уведомление: {item.title}", "level": "INFO", "slot": {}, "supply_id": None,
         "reason": None, "detail": item.text} for item in notices]
    lines.sort(key=lambda line: _utc(line["at"]), reverse=True)
    return page(request, "task.html", user, task=tasks.task_view(task), account=account, racers=racers,
                history=lines,
                bookings=bookings.list_bookings(session, user, task_id=task_id, all_states=True),
                attempts=task.attempts)


# The bot's journal is in English (for operators); the seller reads it in Russian.
_HISTORY_WORDS = {
    "booked": "Забронировано",
    "supply moved": "Поставка перенесена на лучший слот",
    "quota exceeded": "Лимит тарифа исчерпан — бронирование не начато",
    "slot taken by someone else": "Слот заняли раньше нас — ищем дальше",
    "booking not confirmed by WB": "WB не подтвердил бронирование — ищем дальше, бронирование не списано",
    "interrupted booking reconciled with WB": "Прерванное бронирование сверено с WB",
    "paused by the seller": "Вы поставили задачу на паузу",
    "resumed by the seller": "Вы возобновили задачу",
    "cancelled by the seller": "Вы отменили задачу",
    "edited by the seller": "Вы изменили условия задачи",
    "edited and restarted by the seller": "Вы исправили задачу и запустили её снова",
    "booking not ours: elsewhere": "Поставка в WB запланирована не на слот бота — бронирование не засчитано",
    "booking not ours: gone": "Заказа нет в кабинете WB — бронирование не засчитано",
    "booking not ours: claimed by another task": "Эта поставка уже забронирована другой задачей — не засчитано",
    "task unworkable": "Черновика или заказа нет в кабинете WB — бронирование не засчитано",
    "task failed before booking": "Задача остановлена до бронирования: черновика или заказа нет в кабинете WB",
    "booking failed before plan/add": "Бронирование не удалось до запроса в WB — ищем дальше, бронирование не списано",
    "interrupted booking released": "Бронирование прервалось до запроса в WB — бронирование не списано",
}


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _history_line(row: EventLog) -> dict[str, Any]:
    text = _HISTORY_WORDS.get(row.message)
    if text is None and row.message.startswith("booking interrupted"):
        text = "Бронирование прервалось — проверяем в WB"
    payload = row.payload or {}
    slot = payload.get("slot") or {}
    return {"at": row.at, "text": text or row.message, "level": row.level, "slot": slot,
            "supply_id": payload.get("supply_id"), "reason": payload.get("reason")}


@router.get("/tokens", response_class=HTMLResponse)
def token_page(request: Request, user: CurrentUser, session: SessionDep, created: str = "", error: str = ""
               ) -> Response:
    return page(request, "tokens.html", user, tokens=users.list_tokens(session, user), created=created,
                error=error, now=utcnow(), max_tokens=users.MAX_TOKENS)


@router.post("/tokens")
async def token_create(request: Request, user: CurrentUser, session: SessionDep) -> Response:
    form = await read_form(request)
    name = str(form.get("name") or "").strip() or "без названия"
    token, error = await attempt(users.issue_token, session, user, name)
    if error is not None or token is None:
        return token_page(request, user, session, error=error.message if error else "")
    return token_page(request, user, session, created=token)  # shown once: only its hash is stored


@router.post("/tokens/{token_id}/revoke")
def token_revoke_one(token_id: DbId, user: CurrentUser, session: SessionDep) -> Response:
    users.revoke_token(session, user, token_id)
    return redirect("/tokens")


@router.post("/tokens/revoke")
def token_revoke(user: CurrentUser, session: SessionDep) -> Response:
    users.revoke_tokens(session, user)
    return redirect("/tokens")
