"""State machines of supply tasks and seller bots, and the re-authorization budget of a bot.

Decision on pausing: there is no separate "paused" phase. A seller's pause (or a bot that lost its WB
session) sends a task back to Pending («Ожидает запуска»), and resuming moves it to Watching again; this
keeps the phase set that the CRDs, database and UI already share.

Staying in a state is not a transition (``move(x, x)`` raises): a failed authorization leaves a bot in
WAITING_AUTH, so callers compare before moving. Any running bot may fall into ERROR; a STOPPED one cannot.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import TypeVar

from wbsupply.domain.statuses import BotStatus, TaskPhase

State = TypeVar("State", TaskPhase, BotStatus)


class IllegalTransition(ValueError):
    def __init__(self, source: Enum, target: Enum) -> None:
        super().__init__(f"{type(source).__name__} cannot go from {source.value} to {target.value}")
        self.source = source
        self.target = target


_P = TaskPhase
TASK_TRANSITIONS: Mapping[TaskPhase, frozenset[TaskPhase]] = {
    _P.PENDING: frozenset({_P.WATCHING, _P.CANCELLED, _P.EXPIRED, _P.QUOTA_EXCEEDED, _P.FAILED}),
    # Watching → Pending is the pause; Failed covers a preorder/draft that vanished from the cabinet.
    _P.WATCHING: frozenset({_P.BOOKING, _P.PENDING, _P.CANCELLED, _P.EXPIRED, _P.QUOTA_EXCEEDED, _P.FAILED}),
    # A booking in flight is finished, not cancelled: the cabinet may already have taken it.
    # Booking → Watching: the slot was taken by someone else meanwhile.
    _P.BOOKING: frozenset({_P.BOOKED, _P.FAILED, _P.WATCHING}),
    # Quota frees on the 1st of the month or on a plan upgrade.
    _P.QUOTA_EXCEEDED: frozenset({_P.WATCHING, _P.PENDING, _P.CANCELLED, _P.EXPIRED}),
    _P.BOOKED: frozenset(),
    # Final. A failed task the seller fixes (e.g. picks an existing draft) starts over in Pending: that is a
    # new start by the seller (api.logic.tasks.update_task), not a move of the bot's machine.
    _P.FAILED: frozenset(),
    _P.EXPIRED: frozenset(),
    _P.CANCELLED: frozenset(),
}

_S = BotStatus
BOT_TRANSITIONS: Mapping[BotStatus, frozenset[BotStatus]] = {
    # Saved cookies make a restarted bot active without asking the seller again.
    _S.INITIALIZING: frozenset({_S.WAITING_AUTH, _S.ACTIVE, _S.ERROR, _S.STOPPED}),
    _S.WAITING_AUTH: frozenset({_S.ACTIVE, _S.INITIALIZING, _S.ERROR, _S.STOPPED}),
    # Active → Initializing is the daily (or hang-triggered) restart; → Waiting auth after re-auths ran out.
    _S.ACTIVE: frozenset({_S.WAITING_AUTH, _S.INITIALIZING, _S.ERROR, _S.STOPPED}),
    _S.ERROR: frozenset({_S.INITIALIZING, _S.STOPPED}),
    _S.STOPPED: frozenset({_S.INITIALIZING}),
}

_TABLES: dict[type, Mapping] = {TaskPhase: TASK_TRANSITIONS, BotStatus: BOT_TRANSITIONS}


# A seller's pause parks the task in Pending, flagged ``paused`` (the flag is the state, this is the note the
# seller reads). Pending also means "waiting for the bot to log in", which the bot resumes by itself; a
# paused task only the seller (cabinet, Telegram, kubectl) resumes.
SELLER_PAUSED_MESSAGE = "Приостановлено вами"


def can_move(source: State, target: State) -> bool:
    return target in _TABLES[type(source)][source]


def move(source: State, target: State) -> State:
    """``target`` if the transition is legal; staying in the same state is not a transition."""
    if not can_move(source, target):
        raise IllegalTransition(source, target)
    return target


MAX_AUTO_REAUTH = 3


class ReauthExhausted(RuntimeError):
    pass


@dataclass(frozen=True)
class ReauthBudget:
    """Automatic re-authorizations after the WB session was lost: up to 3, then the seller must act.

    The budget is spent by attempts and restored by a session that works again (``restored``).
    """

    attempts: int = 0
    limit: int = MAX_AUTO_REAUTH

    @property
    def exhausted(self) -> bool:
        return self.attempts >= self.limit

    def spend(self) -> ReauthBudget:
        if self.exhausted:
            raise ReauthExhausted(f"all {self.limit} automatic re-authorizations are used up")
        return ReauthBudget(self.attempts + 1, self.limit)

    def restored(self) -> ReauthBudget:
        return ReauthBudget(0, self.limit)


@dataclass(frozen=True)
class SessionLostDecision:
    reauthorize: bool  # try once more automatically
    status: BotStatus  # what the bot shows meanwhile
    notify_seller: bool  # Telegram + e-mail + cabinet: «переподключите аккаунт»
    budget: ReauthBudget


def on_session_lost(budget: ReauthBudget) -> SessionLostDecision:
    """What a bot does when WB dropped its session (or an automatic re-authorization just failed).

    While attempts remain the bot stays ACTIVE and re-authorizes itself; afterwards it waits for the seller
    (WAITING_AUTH, its tasks pause) and the seller is notified once.
    """
    if budget.exhausted:
        return SessionLostDecision(False, BotStatus.WAITING_AUTH, True, budget)
    return SessionLostDecision(True, BotStatus.ACTIVE, False, budget.spend())
