"""Task phase and bot status machines, and the budget of automatic re-authorizations."""

from __future__ import annotations

import itertools

import pytest

from wbsupply.domain.machines import (
    BOT_TRANSITIONS,
    MAX_AUTO_REAUTH,
    TASK_TRANSITIONS,
    IllegalTransition,
    ReauthBudget,
    ReauthExhausted,
    can_move,
    move,
    on_session_lost,
)
from wbsupply.domain.statuses import BotStatus, TaskPhase

P, S = TaskPhase, BotStatus

TASK_ALLOWED = {
    (P.PENDING, P.WATCHING),
    (P.WATCHING, P.BOOKING),
    (P.BOOKING, P.BOOKED),
    (P.BOOKING, P.FAILED),
    (P.BOOKING, P.WATCHING),  # the slot was lost
    (P.PENDING, P.CANCELLED),
    (P.PENDING, P.EXPIRED),
    (P.PENDING, P.QUOTA_EXCEEDED),
    (P.PENDING, P.FAILED),
    (P.WATCHING, P.CANCELLED),
    (P.WATCHING, P.EXPIRED),
    (P.WATCHING, P.QUOTA_EXCEEDED),
    (P.WATCHING, P.FAILED),
    (P.WATCHING, P.PENDING),  # pause
    (P.QUOTA_EXCEEDED, P.WATCHING),  # new month or plan upgrade
    (P.QUOTA_EXCEEDED, P.PENDING),
    (P.QUOTA_EXCEEDED, P.CANCELLED),
    (P.QUOTA_EXCEEDED, P.EXPIRED),
}

BOT_ALLOWED = {
    (S.INITIALIZING, S.WAITING_AUTH),
    (S.INITIALIZING, S.ACTIVE),  # saved session still valid
    (S.WAITING_AUTH, S.ACTIVE),
    (S.ACTIVE, S.WAITING_AUTH),  # session lost, re-authorizations used up
    (S.ACTIVE, S.INITIALIZING),  # restart
    (S.WAITING_AUTH, S.INITIALIZING),
    (S.INITIALIZING, S.ERROR),
    (S.WAITING_AUTH, S.ERROR),
    (S.ACTIVE, S.ERROR),
    (S.ERROR, S.INITIALIZING),
    (S.ERROR, S.STOPPED),
    (S.INITIALIZING, S.STOPPED),
    (S.WAITING_AUTH, S.STOPPED),
    (S.ACTIVE, S.STOPPED),
    (S.STOPPED, S.INITIALIZING),
}


@pytest.mark.parametrize(("source", "target"), list(itertools.product(TaskPhase, TaskPhase)))
def test_task_transitions_are_exactly_the_documented_ones(source: TaskPhase, target: TaskPhase) -> None:
    if (source, target) in TASK_ALLOWED:
        assert move(source, target) is target
    else:
        assert not can_move(source, target)
        with pytest.raises(IllegalTransition) as caught:
            move(source, target)
        assert (caught.value.source, caught.value.target) == (source, target)
        assert source.value in str(caught.value) and target.value in str(caught.value)


@pytest.mark.parametrize(("source", "target"), list(itertools.product(BotStatus, BotStatus)))
def test_bot_transitions_are_exactly_the_documented_ones(source: BotStatus, target: BotStatus) -> None:
    assert can_move(source, target) is ((source, target) in BOT_ALLOWED)


def test_every_state_has_a_table_row_and_final_phases_are_dead_ends() -> None:
    assert set(TASK_TRANSITIONS) == set(TaskPhase) and set(BOT_TRANSITIONS) == set(BotStatus)
    for phase in TaskPhase:
        assert (not TASK_TRANSITIONS[phase]) is phase.is_final


def test_the_happy_paths_walk_through() -> None:
    phase = P.PENDING
    for target in (P.WATCHING, P.BOOKING, P.WATCHING, P.QUOTA_EXCEEDED, P.WATCHING, P.BOOKING, P.BOOKED):
        phase = move(phase, target)
    assert phase is P.BOOKED
    status = S.INITIALIZING
    for target_status in (S.WAITING_AUTH, S.ACTIVE, S.ERROR, S.INITIALIZING, S.ACTIVE, S.STOPPED, S.INITIALIZING):
        status = move(status, target_status)
    assert status is S.INITIALIZING


def test_a_booking_in_flight_cannot_be_cancelled_and_a_stopped_bot_cannot_fail() -> None:
    with pytest.raises(IllegalTransition):
        move(P.BOOKING, P.CANCELLED)
    with pytest.raises(IllegalTransition):
        move(S.STOPPED, S.ERROR)
    with pytest.raises(IllegalTransition):
        move(S.ACTIVE, S.ACTIVE)


def test_three_automatic_reauthorizations_then_the_seller_is_asked() -> None:
    assert MAX_AUTO_REAUTH == 3
    budget = ReauthBudget()
    for attempt in range(1, 4):
        decision = on_session_lost(budget)
        assert decision.reauthorize and decision.status is S.ACTIVE and not decision.notify_seller
        budget = decision.budget
        assert budget.attempts == attempt
    given_up = on_session_lost(budget)
    assert not given_up.reauthorize and given_up.notify_seller
    assert given_up.status is S.WAITING_AUTH and can_move(S.ACTIVE, given_up.status)
    with pytest.raises(ReauthExhausted):
        budget.spend()


def test_a_working_session_restores_the_budget() -> None:
    budget = ReauthBudget().spend().spend()
    assert not budget.exhausted
    restored = budget.restored()
    assert restored.attempts == 0
    assert on_session_lost(restored.spend().spend()).reauthorize, "two attempts used, one left"
    assert on_session_lost(ReauthBudget(limit=0)).notify_seller
