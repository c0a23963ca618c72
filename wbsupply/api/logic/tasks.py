"""The task-command service: create, edit, pause, resume, cancel and delete a seller's supply task.

The JSON API, the cabinet's pages and Telegram all call these functions, so that a command behaves the same
whichever way it came, and each command ends as a change of the task's ``SupplyTask`` custom resource in the
cluster (see :mod:`wbsupply.api.logic.control`). Always scoped to the owner. ``paused`` is an explicit
state of the task (a column and ``spec.paused`` of its SupplyTask), not a message text.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlmodel import Session, col, select

from wbsupply.api.errors import Conflict, Invalid, NotFound
from wbsupply.api.logic import control, warehouses, wb
from wbsupply.api.logic.warehouses import warehouse_names
from wbsupply.domain.booking import claim_key, claim_words, claims_of
from wbsupply.domain.machines import SELLER_PAUSED_MESSAGE, can_move
from wbsupply.domain.schedule import moscow_today
from wbsupply.domain.statuses import ACTIVE_PHASES, BoxType, TaskMode, TaskPhase
from wbsupply.domain.tasks import SupplyTaskSpec, check_against_today, russian_errors
from wbsupply.store import EventLog, SupplyTask, User, claims
from wbsupply.store.types import MAX_ROW_ID, utcnow

NOT_FOUND = "Задача не найдена"
# A failed task is editable too: the seller fixes it (e.g. picks an existing draft) and it starts again.
EDITABLE = frozenset({TaskPhase.PENDING, TaskPhase.WATCHING, TaskPhase.QUOTA_EXCEEDED, TaskPhase.FAILED})
ACTIVE = ACTIVE_PHASES
RESTARTED_MESSAGE = "Задача исправлена и запущена снова"
_BOX_LABELS = {box.value: box.label for box in BoxType}
MAX_ACTIVE_TASKS = 200  # per seller; a runaway script must not flood the bots


def parse_spec(session: Session, data: dict[str, Any], account_id: int) -> SupplyTaskSpec:
    """The domain spec from client data, or 422 with the domain's Russian messages."""
    data = {key: value for key, value in data.items() if key != "account_id"}
    try:
        spec = SupplyTaskSpec.model_validate({**data, "account_id": str(account_id)})
    except ValidationError as exc:
        messages = russian_errors(exc)
        raise Invalid(messages[0], errors=messages) from None
    # WB's reference table, and warehouses the table lacks once the monitor has seen their slots.
    beyond = [warehouse_id for warehouse_id in spec.warehouses if warehouse_id not in warehouses.REFERENCE]
    seen = warehouses.seen_by_monitor(session, beyond)
    unknown = [str(warehouse_id) for warehouse_id in beyond if warehouse_id not in seen]
    if unknown:
        raise Invalid(f"Неизвестный склад WB: {', '.join(unknown[:5])}")
    now = utcnow()
    problems = check_against_today(spec, moscow_today(now), now)
    if problems:
        raise Invalid(problems[0], errors=problems)
    return spec


def _account_id_of(data: dict[str, Any]) -> int:
    value = data.get("account_id")
    if isinstance(value, bool) or value in (None, ""):
        raise Invalid("Выберите аккаунт WB, для которого создаётся задача")
    try:
        account_id = int(value)
    except (TypeError, ValueError):
        raise Invalid("Аккаунт WB: неверное значение") from None
    if not 1 <= account_id <= MAX_ROW_ID:
        raise NotFound(wb.NOT_FOUND)
    return account_id


def create_task(session: Session, user: User, data: dict[str, Any]) -> SupplyTask:
    account = wb.get_account(session, user, _account_id_of(data))
    spec = parse_spec(session, data, account.id or 0)
    _check_racers(session, user, spec)
    active = session.exec(
        select(SupplyTask.id).where(col(SupplyTask.owner_id) == user.id, col(SupplyTask.phase).in_(ACTIVE))
    ).all()
    if len(active) >= MAX_ACTIVE_TASKS:
        raise Conflict(f"Слишком много активных задач (не больше {MAX_ACTIVE_TASKS})")
    held = claims_of(spec)
    _refuse_claimed(session, held, None)
    try:
        return control.submit_task(session, user, account, spec, claim=claim_key(spec), claims=held)
    except sa.exc.IntegrityError:  # a concurrent request claimed it between our check and our insert
        session.rollback()
        _refuse_claimed(session, held, None)
        raise


def check_planned_pick(session: Session, user: User, data: dict[str, Any]) -> None:
    """The cabinet's form: a preorder the bot saw already planned in WB is taken over only to be moved to a
    better slot (never booked again), so a booking task on it must say where to move it (``improve``)."""
    preorder = str(data.get("preorder_id") or "").strip()
    if not preorder or data.get("improve") or data.get("mode") == TaskMode.NOTIFY:
        return
    try:
        listing = wb.cabinet_supplies(session, user, _account_id_of(data))
    except (Invalid, NotFound):
        return  # the task's own checks say what is wrong with the account
    if any(str(p.get("id")) == preorder and p.get("planned") for p in listing["preorders"]):
        raise Invalid(f"Заказ {preorder} уже запланирован в кабинете WB: бот не бронирует его заново, а переносит "
                      "на лучший слот. Выберите, куда переносить, в поле «После бронирования переносить поставку»")


def _check_racers(session: Session, user: User, spec: SupplyTaskSpec) -> None:
    """Racing accounts must be the seller's own: another seller's account is "not found", like a missing one."""
    for account_id in spec.racers:
        if not 1 <= int(account_id) <= MAX_ROW_ID:
            raise NotFound(wb.NOT_FOUND)
        wb.get_account(session, user, int(account_id))


def _refuse_claimed(session: Session, held: list[tuple[int, str]], task_id: int | None) -> None:
    """409 when another task already holds one of the task's drafts or preorders (active or booked): its own,
    or a racing account's draft — as that task's own or as one of its racers'."""
    for account_id, claim in held:
        other = claims.holder(session, account_id, claim, besides=task_id)
        if other is None:
            continue
        label = phase_label(other.phase, other.paused)
        state = "уже забронирована" if other.phase is TaskPhase.BOOKED else f"в работе («{label}»)"
        raise Conflict(f"{claim_words(claim).capitalize()} уже выбран в задаче № {other.id}, она {state}. "
                       "Одна поставка — одна задача: выберите другой черновик или заказ, либо отмените ту задачу")


_VIEW_COLUMNS = (
    SupplyTask.id, SupplyTask.account_id, SupplyTask.phase, SupplyTask.paused, SupplyTask.message, SupplyTask.spec,
    SupplyTask.deadline, SupplyTask.created_at, SupplyTask.booked_warehouse_id, SupplyTask.booked_warehouse_name,
    SupplyTask.booked_date, SupplyTask.booked_coefficient, SupplyTask.booked_at, SupplyTask.moves,
)


def _views_query(active_only: bool) -> sa.Select[Any]:
    query = sa.select(*(col(column) for column in _VIEW_COLUMNS)).where(
        col(SupplyTask.owner_id) == sa.bindparam("owner_id")
    )
    if active_only:
        query = query.where(col(SupplyTask.phase).in_(sorted(ACTIVE)))
    return query.order_by(col(SupplyTask.id).desc()).limit(sa.bindparam("limit"))


# Built once: building and coercing a statement costs more than SQLite takes to run it.
_VIEWS_QUERY = {active_only: _views_query(active_only) for active_only in (False, True)}


def list_task_views(session: Session, user: User, *, active_only: bool = False, limit: int = 500
                    ) -> list[dict[str, Any]]:
    """The caller's tasks as views, newest first. Plain rows, not ORM objects: the list is the API's hot path."""
    names = warehouse_names()
    rows = session.execute(_VIEWS_QUERY[active_only], {"owner_id": user.id, "limit": limit})
    return [task_view(row, names) for row in rows]


def get_task(session: Session, user: User, task_id: int) -> SupplyTask:
    task = session.get(SupplyTask, task_id)
    if task is None or task.owner_id != user.id:
        raise NotFound(NOT_FOUND)
    return task


def update_task(session: Session, user: User, task_id: int, data: dict[str, Any]) -> SupplyTask:
    task = get_task(session, user, task_id)
    if task.phase not in EDITABLE:
        raise Conflict(f"Задачу в состоянии «{task.phase.label}» изменить нельзя")
    merged = {**task.spec, **data}
    account = wb.get_account(session, user, _account_id_of(merged))
    spec = parse_spec(session, merged, account.id or 0)
    _check_racers(session, user, spec)
    held = claims_of(spec)
    _refuse_claimed(session, held, task.id)
    before = control.snapshot(task, control.TASK_FIELDS)
    restarted = task.phase is TaskPhase.FAILED
    task.account_id = account.id or 0
    task.spec = spec.model_dump(mode="json")
    task.deadline = spec.deadline
    task.claim_key = claim_key(spec)
    if restarted:  # Failed → Pending: the bot checks the fixed task and watches again
        task.phase, task.message = TaskPhase.PENDING, RESTARTED_MESSAGE
    session.add(task)
    session.add(EventLog(source="api", user_id=task.owner_id, account_id=task.account_id, task_id=task.id,
                         message="edited and restarted by the seller" if restarted else "edited by the seller"))
    try:
        claims.take(session, task.id or 0, held)
        session.commit()
    except sa.exc.IntegrityError:
        session.rollback()
        _refuse_claimed(session, held, task.id)
        raise
    control.publish_task(session, task, before)
    return task


def _change(session: Session, task: SupplyTask, message: str | None, phase: TaskPhase | None = None,
            *, action: str = "", paused: bool | None = None, publish: bool = True) -> SupplyTask:
    """Save the seller's change and publish it to the control plane (the SupplyTask CR in the cluster)."""
    before = control.snapshot(task, control.TASK_FIELDS)
    if phase is not None:
        task.phase = phase
    if paused is not None:
        task.paused = paused
    task.message = message
    session.add(task)
    if action:  # the task's page shows its history: the seller's own steps belong in it
        session.add(EventLog(source="api", user_id=task.owner_id, account_id=task.account_id, task_id=task.id,
                             message=f"{action} by the seller"))
    session.commit()
    if publish:
        control.publish_task(session, task, before)
    return task


def _move(session: Session, task: SupplyTask, target: TaskPhase, message: str | None, refusal: str,
          *, action: str = "", paused: bool | None = None) -> SupplyTask:
    if not can_move(task.phase, target):
        raise Conflict(refusal.format(phase=task.phase.label))
    return _change(session, task, message, target, action=action, paused=paused)


def pause_task(session: Session, user: User, task_id: int) -> SupplyTask:
    """Pause: the task waits in Pending, marked paused, and the bot leaves it alone until it is resumed."""
    task = get_task(session, user, task_id)
    if task.paused:
        return task
    if task.phase is TaskPhase.PENDING:  # not a transition: only the flag changes
        return _change(session, task, SELLER_PAUSED_MESSAGE, action="paused", paused=True)
    refusal = "Задачу в состоянии «{phase}» нельзя приостановить"
    return _move(session, task, TaskPhase.PENDING, SELLER_PAUSED_MESSAGE, refusal, action="paused", paused=True)


def resume_task(session: Session, user: User, task_id: int) -> SupplyTask:
    """Lift the pause: Pending, not paused, so the bot takes the task up as soon as it is logged in."""
    task = get_task(session, user, task_id)
    if not task.paused:
        if task.phase in ACTIVE:
            return task
        raise Conflict(f"Задачу в состоянии «{task.phase.label}» нельзя возобновить")
    return _change(session, task, None, action="resumed", paused=False)


def cancel_task(session: Session, user: User, task_id: int) -> SupplyTask:
    """Cancelled for good: the row stays as history, its SupplyTask is deleted (nothing left to reconcile)."""
    task = get_task(session, user, task_id)
    if task.phase is TaskPhase.CANCELLED:
        return task
    if task.phase is TaskPhase.BOOKING:
        raise Conflict("Бот уже бронирует слот по этой задаче — отменить её сейчас нельзя")
    if not can_move(task.phase, TaskPhase.CANCELLED):
        raise Conflict(f"Задачу в состоянии «{task.phase.label}» отменить нельзя")
    control.withdraw_task(task)  # first: a refusal of the cluster leaves the task as it was
    return _change(session, task, "Отменено вами", TaskPhase.CANCELLED, action="cancelled", paused=False,
                   publish=False)


def delete_task(session: Session, user: User, task_id: int) -> None:
    """Delete a task that is not being booked and holds no booking; its SupplyTask is deleted first."""
    task = get_task(session, user, task_id)
    if task.phase is TaskPhase.BOOKING:
        raise Conflict("Бот уже бронирует слот по этой задаче — удалить её сейчас нельзя")
    if task.phase is TaskPhase.BOOKED:
        raise Conflict("Забронированная задача остаётся в истории бронирований, удалить её нельзя")
    control.withdraw_task(task)
    session.add(EventLog(source="api", user_id=task.owner_id, account_id=task.account_id,
                         message=f"task {task.id} deleted by the seller"))
    session.delete(task)
    session.commit()


PAUSED_LABEL = "Приостановлена"


def phase_label(phase: TaskPhase, paused: bool) -> str:
    """What the seller reads: a paused task says so (in the state machine it waits in Pending)."""
    return PAUSED_LABEL if paused else phase.label


def task_view(task: Any, names: dict[int, str] | None = None) -> dict[str, Any]:
    """A task (ORM object or a row of ``_VIEW_COLUMNS``) as the API and the pages show it."""
    names = names if names is not None else warehouse_names()
    spec = task.spec or {}
    box = spec.get("box_type")
    return {
        "id": task.id,
        "account_id": task.account_id,
        "phase": task.phase.value,
        "phase_label": phase_label(task.phase, bool(task.paused)),
        "is_final": task.phase.is_final,
        "paused": bool(task.paused),
        "message": task.message,
        "spec": spec,
        "warehouses": [{"id": w, "name": names.get(w, f"Склад {w}")} for w in spec.get("warehouses", [])],
        "box_type_label": _BOX_LABELS.get(str(box), box),
        "mode_label": "Только уведомить" if spec.get("mode") == TaskMode.NOTIFY else "Бронировать",
        "improve_label": IMPROVE_LABELS.get(str(spec.get("improve")), ""),
        "booked": None
        if task.booked_date is None
        else {
            "warehouse_id": task.booked_warehouse_id,
            "warehouse_name": task.booked_warehouse_name,
            "date": task.booked_date.isoformat(),
            "coefficient": task.booked_coefficient,
            "at": task.booked_at.isoformat() if task.booked_at else None,
        },
        "moves": task.moves,  # times the booked supply was moved to a better slot
        "deadline": task.deadline.isoformat() if task.deadline else None,
        "created_at": task.created_at.isoformat(),
    }


# Form fields copied as typed (blank ones left out); the optional ones are cleared when an edit blanks them.
OPTIONAL_FORM_FIELDS = ("date_from", "date_to", "lead_time_days", "max_logistics_coefficient",
                        "max_storage_coefficient", "min_days_ahead", "pallet_count", "deadline", "draft_id",
                        "preorder_id", "improve")
IMPROVE_LABELS = {"earlier": "на более раннюю дату", "cheaper": "на более низкий коэффициент",
                  "both": "на более раннюю дату или низкий коэффициент"}
FORM_FIELDS = ("account_id", "box_type", "max_coefficient", "mode", "max_moves", *OPTIONAL_FORM_FIELDS)


def form_to_data(form: dict[str, Any], warehouse_ids: list[int]) -> dict[str, Any]:
    """The cabinet's task form as spec data: blank fields are omitted so the domain applies defaults."""
    data: dict[str, Any] = {"warehouses": warehouse_ids}
    for name in FORM_FIELDS:
        value = form.get(name)
        if isinstance(value, str) and value.strip():
            data[name] = value.strip()
    pick = form.get("pick")  # a draft or preorder picked from the cabinet's list wins over a typed one
    if isinstance(pick, str) and ":" in pick:
        kind, _, value = pick.partition(":")
        if kind == "draft" and value.strip():
            data["draft_id"] = value.strip()
            data.pop("preorder_id", None)
        elif kind == "preorder" and value.strip():
            data["preorder_id"] = value.strip()
            data.pop("draft_id", None)
    weekdays = form.get("weekdays")
    if weekdays:
        data["weekdays"] = weekdays
    # Racing: «racer_<account id>» = that account's own draft (blank: the account does not race).
    data["racers"] = {name.removeprefix("racer_"): value.strip() for name, value in form.items()
                      if name.startswith("racer_") and isinstance(value, str) and value.strip()}
    preset = form.get("preset")  # «без выходных», «без выходных и праздников»: ticks the boxes for the seller
    if preset in ("workdays", "workdays_holidays"):  # the ticked workdays, or all of Monday to Friday
        ticked = [str(day) for day in data.get("weekdays") or [] if str(day) in "01234"]
        data["weekdays"] = ticked or ["0", "1", "2", "3", "4"]
    data["skip_holidays"] = preset == "workdays_holidays" or bool(form.get("skip_holidays"))
    skip = form.get("skip_dates")
    if isinstance(skip, str) and skip.strip():
        data["skip_dates"] = [part.strip() for part in skip.replace(";", ",").split(",") if part.strip()]
    return data

