"""Faults of WB's plan/add injected in the sandbox: every one ends with WB and the cabinet agreeing.

fail_after (WB booked, the answer was lost) and timeout are confirmed from WB's own record of the preorder
— warehouse, date and box type — never assumed; fail_before falls back to the click-through only after WB
said it has nothing; a competitor between our re-check and plan/add sends the task back to watching; a
supply the seller planned by hand elsewhere fails the task with the reason, and the sibling task books the
slot at once.
"""

from __future__ import annotations

import datetime as dt

import pytest
from bot_harness import (
    WAREHOUSE_ID,
    add_seller,
    bot_config,
    login_through_relay,
    msk_day,
    new_preorder,
    opened,
    phase_of,
    row,
    rows,
    running_bot,
)
from invariants import assert_booking_truth
from sqlalchemy import Engine

from wbsupply.domain.statuses import BoxType, TaskPhase
from wbsupply.feed.memory import MemoryFeed
from wbsupply.sandbox.faults import Fault
from wbsupply.sandbox.testing import RunningSandbox
from wbsupply.store import quota
from wbsupply.store.engine import session_scope
from wbsupply.store.journal import EventLog, NotificationOutbox
from wbsupply.store.models import Booking, BookingState, SupplyTask
from wbsupply.testkit import eventually, new_phone
from wbsupply.worker.browser import BrowserHost

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]


def draft_task(db: Engine, market: object, user_id: int, account_id: int, seller: object, *,
               draft_id: str | None = None, deadline: dt.datetime | None = None, claim: bool = True) -> int:
    if draft_id is None:
        draft_id = market.create_draft(seller.suppliers[0].id, [("2040000000017", 10)]).id  # type: ignore[attr-defined]
    spec = {"account_id": str(account_id), "draft_id": draft_id, "warehouses": [WAREHOUSE_ID], "box_type": "boxes",
            "max_coefficient": 20, "mode": "book", "deadline": deadline.isoformat() if deadline else None}
    with session_scope(db) as session:
        task = SupplyTask(owner_id=user_id, account_id=account_id, spec=spec, plan_rank=1, deadline=deadline,
                          claim_key=f"draft:{draft_id}" if claim else None)
        session.add(task)
        session.flush()
        assert task.id is not None
        return task.id


def events(db: Engine, task_id: int) -> list[str]:
    return [e.message for e in rows(db, EventLog, EventLog.task_id == task_id)]


@pytest.mark.parametrize(("kind", "number"), [("fail_after", 1), ("timeout", 2), ("slow", 3), ("fail_before", 4),
                                              ("blind", 5)])
async def test_a_lost_late_or_failed_answer_is_settled_by_what_wb_has(
    sandbox: RunningSandbox, host: BrowserHost, db: Engine, feed: MemoryFeed, kind: str, number: int
) -> None:
    market = sandbox.market
    phone = new_phone()
    user_id, account_id, seller = add_seller(db, market, phone)
    supplier = seller.suppliers[0].id
    task_id = draft_task(db, market, user_id, account_id, seller)
    day = msk_day(market, 10 + number)
    # blind: WB cannot tell for 4 s after the lost answer, so the booking waits for a reconcile round
    config = bot_config(sandbox, rpc_timeout_s=2.0, **({"reconcile_s": 0.5} if kind == "blind" else {}))
    async with running_bot(account_id, db, feed, host, config):
        await login_through_relay(db, market, account_id, phone)
        await eventually(lambda: phase_of(db, task_id) is TaskPhase.WATCHING, what="watching")
        delay = {"timeout": 5.0, "slow": 1.5, "blind": 4.0}.get(kind, 0.0)
        market.faults.add(Fault(kind, delay_s=delay, supplier_id=supplier))
        market.open_slot(WAREHOUSE_ID, day, BoxType.BOXES, coefficient=15, capacity=2)
        await feed.publish([opened(day, coefficient=15)])
        await eventually(lambda: phase_of(db, task_id) is TaskPhase.BOOKED, within=30, what="booked")

    [booking] = assert_booking_truth(db, market, user_id, seller)
    assert (booking.task_id, booking.slot_date, booking.coefficient) == (task_id, day, 15)
    calls = [c for c in market.faults.calls if c.supplier_id == supplier]
    if kind == "fail_before":  # nothing booked by the failed call; WB asked; then the click-through booked
        assert [(c.fault, c.outcome) for c in calls] == [("fail_before", "failed"), (None, "booked")]
    else:  # one plan/add, never a second one for a preorder WB had planned
        assert [(c.fault, c.outcome) for c in calls] == [(kind, "booked")]
    message = row(db, SupplyTask, task_id).message or ""
    assert message.startswith("Забронировано") and f"Поставка № {booking.supply_id}" in message
    if kind in ("fail_after", "timeout", "blind"):
        cause = "RpcTimeout" if kind == "timeout" else "RpcFailure"
        assert events(db, task_id)[-2:] == [f"booking interrupted: {cause}", "booked"]


async def test_a_competitor_between_recheck_and_plan_add_costs_nothing(
    sandbox: RunningSandbox, host: BrowserHost, db: Engine, feed: MemoryFeed
) -> None:
    market = sandbox.market
    phone = new_phone()
    user_id, account_id, seller = add_seller(db, market, phone)
    task_id = draft_task(db, market, user_id, account_id, seller)
    day = msk_day(market, 16)
    async with running_bot(account_id, db, feed, host, bot_config(sandbox)):
        await login_through_relay(db, market, account_id, phone)
        await eventually(lambda: phase_of(db, task_id) is TaskPhase.WATCHING, what="watching")
        market.faults.add(Fault("competitor", supplier_id=seller.suppliers[0].id))
        market.open_slot(WAREHOUSE_ID, day, BoxType.BOXES, capacity=1)
        await feed.publish([opened(day)])
        await eventually(lambda: "заняли" in (row(db, SupplyTask, task_id).message or ""), what="lost")
    assert phase_of(db, task_id) is TaskPhase.WATCHING
    assert assert_booking_truth(db, market, user_id, seller) == []
    assert [b.state for b in rows(db, Booking, Booking.task_id == task_id)] == [BookingState.RELEASED]
    assert {n.kind for n in rows(db, NotificationOutbox, NotificationOutbox.user_id == user_id)} == {"slot_lost"}


async def test_a_supply_planned_elsewhere_is_not_ours_and_the_sibling_books_the_slot_at_once(
    sandbox: RunningSandbox, host: BrowserHost, db: Engine, feed: MemoryFeed
) -> None:
    market = sandbox.market
    phone = new_phone()
    user_id, account_id, seller = add_seller(db, market, phone)
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
    urgent = draft_task(db, market, user_id, account_id, seller, deadline=soon)
    sibling = draft_task(db, market, user_id, account_id, seller)
    day = msk_day(market, 17)
    async with running_bot(account_id, db, feed, host, bot_config(sandbox)):
        await login_through_relay(db, market, account_id, phone)
        await eventually(lambda: phase_of(db, urgent) is phase_of(db, sibling) is TaskPhase.WATCHING, what="watching")
        # The seller plans the urgent task's supply by hand (another date) just before our plan/add.
        market.faults.add(Fault("seller_first", supplier_id=seller.suppliers[0].id))
        market.open_slot(WAREHOUSE_ID, day, BoxType.BOXES, capacity=1)
        await feed.publish([opened(day)])
        await eventually(lambda: phase_of(db, urgent) is TaskPhase.FAILED, what="urgent not ours")
        await eventually(lambda: phase_of(db, sibling) is TaskPhase.BOOKED, what="sibling booked the same slot")

    message = row(db, SupplyTask, urgent).message or ""
    assert "запланирована в кабинете WB не на выбранный ботом слот" in message and "не списано" in message
    [booking] = assert_booking_truth(db, market, user_id, seller)
    assert (booking.task_id, booking.slot_date) == (sibling, day)
    assert [b.state for b in rows(db, Booking, Booking.task_id == urgent)] == [BookingState.RELEASED]
    assert quota.usage(db, user_id, quota.month_key()) == quota.Usage(used=1, reserved=0)
    kinds = sorted(n.kind for n in rows(db, NotificationOutbox, NotificationOutbox.user_id == user_id,
                                        NotificationOutbox.channel == "cabinet"))
    assert kinds == ["booked", "booking_failed"]


async def test_legacy_tasks_sharing_a_draft_each_plan_their_own_supply(
    sandbox: RunningSandbox, host: BrowserHost, db: Engine, feed: MemoryFeed
) -> None:
    """The issue's defect: B on A's draft was shown A's supply. Tasks made before claims existed still share a
    draft: each plans a supply of its own, and nobody is shown a supply that is not theirs."""
    market = sandbox.market
    phone = new_phone()
    user_id, account_id, seller = add_seller(db, market, phone)
    draft = market.create_draft(seller.suppliers[0].id, [("2040000000017", 10)])
    first = draft_task(db, market, user_id, account_id, seller, draft_id=draft.id, claim=False)
    day_a, day_b = msk_day(market, 18), msk_day(market, 19)
    async with running_bot(account_id, db, feed, host, bot_config(sandbox)):
        await login_through_relay(db, market, account_id, phone)
        await eventually(lambda: phase_of(db, first) is TaskPhase.WATCHING, what="watching")
        market.open_slot(WAREHOUSE_ID, day_a, BoxType.BOXES)
        await feed.publish([opened(day_a)])
        await eventually(lambda: phase_of(db, first) is TaskPhase.BOOKED, what="A booked")
        second = draft_task(db, market, user_id, account_id, seller, draft_id=draft.id, claim=False)
        await eventually(lambda: phase_of(db, second) is TaskPhase.WATCHING, what="B watching")
        market.open_slot(WAREHOUSE_ID, day_b, BoxType.BOXES, coefficient=15)
        await feed.publish([opened(day_b, coefficient=15)])
        await eventually(lambda: phase_of(db, second) is TaskPhase.BOOKED, what="B booked")

    bookings = assert_booking_truth(db, market, user_id, seller)
    assert sorted((b.task_id, b.slot_date) for b in bookings) == [(first, day_a), (second, day_b)]
    assert len({b.preorder_id for b in bookings}) == 2


async def test_legacy_tasks_on_one_preorder_never_count_one_supply_twice(
    sandbox: RunningSandbox, host: BrowserHost, db: Engine, feed: MemoryFeed
) -> None:
    """Both tasks ask WB for the same preorder on the same slot: WB plans it once; the second task's answer
    («already planned», on exactly its slot) is the first task's supply, so it is not counted again."""
    market = sandbox.market
    phone = new_phone()
    user_id, account_id, seller = add_seller(db, market, phone)
    preorder = new_preorder(market, seller)
    spec = {"account_id": str(account_id), "preorder_id": preorder, "warehouses": [WAREHOUSE_ID],
            "box_type": "boxes", "max_coefficient": 0, "mode": "book"}
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
    ids = []
    with session_scope(db) as session:
        for deadline in (soon, None):  # made before claims: no claim_key, so both exist
            task = SupplyTask(owner_id=user_id, account_id=account_id, spec={**spec, "deadline": None},
                              plan_rank=1, deadline=deadline)
            task.spec = {**spec, "deadline": deadline.isoformat() if deadline else None}
            session.add(task)
            session.flush()
            ids.append(task.id)
    first, second = ids
    day = msk_day(market, 21)
    async with running_bot(account_id, db, feed, host, bot_config(sandbox)):
        await login_through_relay(db, market, account_id, phone)
        await eventually(lambda: phase_of(db, first) is phase_of(db, second) is TaskPhase.WATCHING, what="watching")
        market.open_slot(WAREHOUSE_ID, day, BoxType.BOXES, capacity=2)
        await feed.publish([opened(day)])
        await eventually(lambda: phase_of(db, first) is TaskPhase.BOOKED, what="first booked")
        await eventually(lambda: phase_of(db, second) is TaskPhase.FAILED, what="second not counted")
    [booking] = assert_booking_truth(db, market, user_id, seller)
    assert booking.task_id == first
    message = row(db, SupplyTask, second).message or ""
    assert f"уже забронирована задачей № {first}" in message or "уже запланирована" in message
