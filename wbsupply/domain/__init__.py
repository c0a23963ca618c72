"""Pure domain model: no I/O here, shared by the embedded and the cluster runtime.

Every name below is importable from ``wbsupply.domain`` as well as from its module.

``statuses``  ``BoxType`` (+ ``label``, ``wb_box_type_id``, ``from_wb``), ``TaskPhase``, ``BotStatus`` (Russian
              ``label``), ``TaskMode`` (book | notify), ``Role``.
``slots``     ``SlotKey(warehouse_id, date, box_type)``; ``Slot(key, coefficient, allow_unload,
              logistics_coefficient=None, warehouse_name="")`` with ``is_open``; ``Calendar(today, slots)`` —
              30 days from ``today`` (``HORIZON_DAYS``), ``from_slots``, ``shifted(new_today)``,
              ``merged(slots)``, ``open_slots()``; ``diff(old, new, at) -> list[SlotEvent]`` with
              ``SlotEvent(kind: SlotEventKind opened|changed|closed, slot, previous, at)``; ``to_dict`` /
              ``from_dict`` on slots and events for feeds and storage.
``tasks``     ``SupplyTaskSpec`` (pydantic; Russian messages), ``russian_errors(ValidationError)``,
              ``check_against_today(spec, today, now)``, ``spec.accepts(slot, today)``, ``spec.window(today)``,
              ``spec.is_expired(now)``; ``SupplyTask(id, spec, created_at, plan, phase, note)`` with
              ``priority_key`` and ``moved_to(phase)``.
``machines``  ``move(source, target)`` / ``can_move`` for ``TaskPhase`` and ``BotStatus`` (raises
              ``IllegalTransition``), ``TASK_TRANSITIONS``, ``BOT_TRANSITIONS``; re-authorization:
              ``ReauthBudget``, ``on_session_lost(budget) -> SessionLostDecision``, ``MAX_AUTO_REAUTH`` = 3.
              Pausing a task is Watching → Pending (no separate phase).
``matching``  ``TaskIndex`` (``add``, ``remove``, ``update``, ``tasks_for``), ``match(events, index, today)``
              — lazy iterator of ``Candidate(task, slot, importance)``, most important first, one per task.
``tariffs``   ``Plan`` (5/10/25/50/100/500 bookings, ``label``, ``rank``, ``for_bookings``, ``for_limit``),
              ``QuotaExceeded``, ``month_of(moment)`` (the usage month 'YYYY-MM', Moscow).
``schedule``  ``MOSCOW``, ``moscow_today``, cadences (``MONITOR_POLL_INTERVAL`` 12 s, ``MEMORY_CHECK_INTERVAL``
              30 min, ``AUTH_CHECK_INTERVAL`` 1 h); restart window 03:00–04:00 Moscow: ``restart_offset(bot_id)``,
              ``next_restart(now, bot_id)``, ``is_restart_due(now, bot_id, last_restart)``.

Datetimes are timezone-aware; dates (slots, windows, months) are Moscow dates.
"""

from wbsupply.domain.machines import (
    BOT_TRANSITIONS,
    MAX_AUTO_REAUTH,
    TASK_TRANSITIONS,
    IllegalTransition,
    ReauthBudget,
    ReauthExhausted,
    SessionLostDecision,
    can_move,
    move,
    on_session_lost,
)
from wbsupply.domain.matching import Candidate, TaskIndex, match
from wbsupply.domain.schedule import (
    AUTH_CHECK_INTERVAL,
    MEMORY_CHECK_INTERVAL,
    MONITOR_POLL_INTERVAL,
    MOSCOW,
    is_restart_due,
    moscow_today,
    next_restart,
    restart_offset,
)
from wbsupply.domain.slots import HORIZON_DAYS, Calendar, Slot, SlotEvent, SlotEventKind, SlotKey, diff
from wbsupply.domain.statuses import BotStatus, BoxType, Role, TaskMode, TaskPhase
from wbsupply.domain.tariffs import Plan, QuotaExceeded, month_of
from wbsupply.domain.tasks import SupplyTask, SupplyTaskSpec, check_against_today, russian_errors

__all__ = [
    "AUTH_CHECK_INTERVAL",
    "BOT_TRANSITIONS",
    "HORIZON_DAYS",
    "MAX_AUTO_REAUTH",
    "MEMORY_CHECK_INTERVAL",
    "MONITOR_POLL_INTERVAL",
    "MOSCOW",
    "TASK_TRANSITIONS",
    "BotStatus",
    "BoxType",
    "Calendar",
    "Candidate",
    "IllegalTransition",
    "Plan",
    "QuotaExceeded",
    "ReauthBudget",
    "ReauthExhausted",
    "Role",
    "SessionLostDecision",
    "Slot",
    "SlotEvent",
    "SlotEventKind",
    "SlotKey",
    "SupplyTask",
    "SupplyTaskSpec",
    "TaskIndex",
    "TaskMode",
    "TaskPhase",
    "can_move",
    "check_against_today",
    "diff",
    "is_restart_due",
    "match",
    "month_of",
    "moscow_today",
    "move",
    "next_restart",
    "on_session_lost",
    "restart_offset",
    "russian_errors",
]
