"""The bot books in the sandbox cabinet on slot events: priorities, competitors, quota, notify-only tasks."""

from __future__ import annotations

import datetime as dt

import pytest
from bot_harness import (
    WAREHOUSE_ID,
    add_account,
    add_seller,
    add_task,
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
from sqlalchemy import Engine

from wbsupply.domain.ruformat import ru_date
from wbsupply.domain.statuses import BoxType, TaskPhase
from wbsupply.feed.memory import MemoryFeed
from wbsupply.notify.messages import render
from wbsupply.sandbox.testing import RunningSandbox
from wbsupply.store import quota
from wbsupply.store.engine import session_scope
from wbsupply.store.journal import EventLog, NotificationChannel, NotificationOutbox
from wbsupply.store.models import Booking, BookingState, SupplyTask, User, WbAccount
from wbsupply.testkit import eventually, new_phone
from wbsupply.worker.browser import BrowserHost

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]


@pytest.mark.parametrize("strategy", ["rpc", "ui"])
async def test_a_task_books_the_first_matching_slot(
    sandbox: RunningSandbox, host: BrowserHost, database_url: str, feed: MemoryFeed, strategy: str
) -> None:
    from wbsupply.store import make_engine

    db = make_engine(database_url)
    market = sandbox.market
    phone = new_phone()
    user_id, account_id, seller = add_seller(db, market, phone)
    preorder_id = new_preorder(market, seller)
    task_id = add_task(db, user_id, account_id, preorder_id)
    day = msk_day(market, 3)
    try:
        async with running_bot(account_id, db, feed, host, bot_config(sandbox, strategies=(strategy,))):
            await login_through_relay(db, market, account_id, phone)
            await eventually(lambda: phase_of(db, task_id) is TaskPhase.WATCHING, what="watching")
            market.open_slot(WAREHOUSE_ID, msk_day(market, 1), BoxType.BOXES, coefficient=5)  # too expensive
            market.open_slot(WAREHOUSE_ID, day, BoxType.BOXES, coefficient=0)
            await feed.publish([opened(msk_day(market, 1), coefficient=5), opened(day)])
            await eventually(lambda: phase_of(db, task_id) is TaskPhase.BOOKED, what="booked")

        task = row(db, SupplyTask, task_id)
        assert (task.booked_date, task.booked_warehouse_id, task.booked_coefficient) == (day, WAREHOUSE_ID, 0)
        assert task.message and task.message.startswith("Забронировано")
        [booking] = rows(db, Booking, Booking.task_id == task_id)
        planned = market.preorder(seller.suppliers[0].id, preorder_id)
        assert (booking.state, booking.supply_id, planned.status_id) == (BookingState.CONFIRMED, planned.supply_id, 2)
        assert planned.supply_date == day
        assert quota.usage(db, user_id, booking.month) == quota.Usage(used=1, reserved=0)
        kinds = {n.kind for n in rows(db, NotificationOutbox, NotificationOutbox.user_id == user_id)}
        assert "booked" in kinds
    finally:
        db.dispose()


async def test_two_tasks_one_slot_the_higher_priority_wins(
    sandbox: RunningSandbox, host: BrowserHost, db: Engine, feed: MemoryFeed
) -> None:
    market = sandbox.market
    phone = new_phone()
    user_id, account_id, seller = add_seller(db, market, phone)
    later = add_task(db, user_id, account_id, new_preorder(market, seller))  # older, but no deadline
    urgent_deadline = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    urgent = add_task(db, user_id, account_id, new_preorder(market, seller), deadline=urgent_deadline)
    day = msk_day(market, 4)
    async with running_bot(account_id, db, feed, host, bot_config(sandbox)):
        await login_through_relay(db, market, account_id, phone)
        await eventually(lambda: phase_of(db, later) is phase_of(db, urgent) is TaskPhase.WATCHING)
        market.open_slot(WAREHOUSE_ID, day, BoxType.BOXES, capacity=1)
        await feed.publish([opened(day)])
        await eventually(lambda: phase_of(db, urgent) is TaskPhase.BOOKED, what="urgent booked")
        # The other task tried the same (now full) date and was told so, without a charge.
        await eventually(lambda: "заняли" in (row(db, SupplyTask, later).message or ""), what="loser told")
    assert phase_of(db, later) is TaskPhase.WATCHING
    assert [b.task_id for b in rows(db, Booking, Booking.state == BookingState.CONFIRMED,
                                    Booking.user_id == user_id)] == [urgent]
    assert quota.usage(db, user_id, quota.month_key()) == quota.Usage(used=1, reserved=0)


async def test_a_competitor_takes_the_slot_first(
    sandbox: RunningSandbox, host: BrowserHost, db: Engine, feed: MemoryFeed
) -> None:
    market = sandbox.market
    phone = new_phone()
    user_id, account_id, seller = add_seller(db, market, phone)
    task_id = add_task(db, user_id, account_id, new_preorder(market, seller))
    competitor = market.create_seller(phone=new_phone())
    rival_preorder = new_preorder(market, competitor)
    day = msk_day(market, 5)
    async with running_bot(account_id, db, feed, host, bot_config(sandbox)):
        await login_through_relay(db, market, account_id, phone)
        await eventually(lambda: phase_of(db, task_id) is TaskPhase.WATCHING)
        market.open_slot(WAREHOUSE_ID, day, BoxType.BOXES, capacity=1)
        market.book(competitor.suppliers[0].id, rival_preorder, day)  # faster than our monitor
        await feed.publish([opened(day)])
        await eventually(lambda: "заняли" in (row(db, SupplyTask, task_id).message or ""), what="lost slot")
    assert phase_of(db, task_id) is TaskPhase.WATCHING
    assert [b.state for b in rows(db, Booking, Booking.task_id == task_id)] == [BookingState.RELEASED]
    assert quota.usage(db, user_id, quota.month_key()) == quota.Usage(used=0, reserved=0)
    assert any("taken" in e.message for e in rows(db, EventLog, EventLog.task_id == task_id))
    assert len([b for b in market.bookings() if b.preorder_id == rival_preorder]) == 1


async def test_quota_at_the_limit_books_nothing_until_the_plan_grows(
    sandbox: RunningSandbox, host: BrowserHost, db: Engine, feed: MemoryFeed
) -> None:
    market = sandbox.market
    phone = new_phone()
    user_id, account_id, seller = add_seller(db, market, phone, plan_limit=0)
    preorder_id = new_preorder(market, seller)
    task_id = add_task(db, user_id, account_id, preorder_id)
    day = msk_day(market, 6)
    async with running_bot(account_id, db, feed, host, bot_config(sandbox, quota_check_s=0.3)):
        await login_through_relay(db, market, account_id, phone)
        await eventually(lambda: phase_of(db, task_id) is TaskPhase.WATCHING)
        market.open_slot(WAREHOUSE_ID, day, BoxType.BOXES)
        await feed.publish([opened(day)])
        await eventually(lambda: phase_of(db, task_id) is TaskPhase.QUOTA_EXCEEDED, what="quota exceeded")
        assert market.preorder(seller.suppliers[0].id, preorder_id).status_id == 1
        assert rows(db, Booking, Booking.task_id == task_id) == []
        notices = rows(db, NotificationOutbox, NotificationOutbox.user_id == user_id)
        assert {n.kind for n in notices} == {"quota_exceeded"}
        assert "Лимит" in render(notices[0].kind, notices[0].payload, "").title

        with session_scope(db) as session:  # the seller moves to a bigger plan
            user = session.get(User, user_id)
            assert user is not None
            user.plan_limit = 1
        await eventually(lambda: phase_of(db, task_id) is TaskPhase.BOOKED, what="booked after upgrade")
    assert quota.usage(db, user_id, quota.month_key()) == quota.Usage(used=1, reserved=0)


async def test_notify_only_task_tells_the_seller_and_books_nothing(
    sandbox: RunningSandbox, host: BrowserHost, db: Engine, feed: MemoryFeed
) -> None:
    market = sandbox.market
    phone = new_phone()
    user_id, account_id, seller = add_seller(db, market, phone)
    preorder_id = new_preorder(market, seller)
    task_id = add_task(db, user_id, account_id, preorder_id, mode="notify")
    day = msk_day(market, 7)
    async with running_bot(account_id, db, feed, host, bot_config(sandbox)):
        await login_through_relay(db, market, account_id, phone)
        await eventually(lambda: phase_of(db, task_id) is TaskPhase.WATCHING)
        market.open_slot(WAREHOUSE_ID, day, BoxType.BOXES)
        await feed.publish([opened(day)])
        await eventually(lambda: rows(db, NotificationOutbox, NotificationOutbox.kind == "slot_found",
                                      NotificationOutbox.user_id == user_id), what="slot_found")
    assert phase_of(db, task_id) is TaskPhase.WATCHING
    assert market.preorder(seller.suppliers[0].id, preorder_id).status_id == 1
    notice = rows(db, NotificationOutbox, NotificationOutbox.user_id == user_id)[0]
    assert ru_date(day) in render(notice.kind, notice.payload, "").text


async def test_a_notify_only_task_without_a_draft_alerts_once_per_new_fitting_slot(
    sandbox: RunningSandbox, host: BrowserHost, db: Engine, feed: MemoryFeed
) -> None:
    """«Только уведомить» on warehouses, dates and prices alone: each filter keeps its slot out, every new
    fitting slot is one alert, and the same slot published again is not a second one."""
    market = sandbox.market
    phone = new_phone()
    user_id, account_id, _seller = add_seller(db, market, phone)
    task_id = add_task(db, user_id, account_id, None, mode="notify", max_coefficient=2, min_days_ahead=3,
                       max_storage_coefficient=150)
    soon, fitting, later = msk_day(market, 2), msk_day(market, 5), msk_day(market, 9)

    def alerts() -> list[NotificationOutbox]:  # the cabinet's copy of each (Telegram and e-mail get theirs)
        return rows(db, NotificationOutbox, NotificationOutbox.kind == "slot_found",
                    NotificationOutbox.user_id == user_id, NotificationOutbox.channel == NotificationChannel.CABINET)

    async with running_bot(account_id, db, feed, host, bot_config(sandbox)):
        await login_through_relay(db, market, account_id, phone)
        await eventually(lambda: phase_of(db, task_id) is TaskPhase.WATCHING)
        await feed.publish([opened(soon, storage_coefficient=100),  # sooner than 3 days
                            opened(later, coefficient=3, storage_coefficient=100),  # acceptance too dear
                            opened(later, warehouse_id=117501, storage_coefficient=100),  # not its warehouse
                            opened(msk_day(market, 7), storage_coefficient=180),  # storage too dear
                            opened(fitting, coefficient=1, storage_coefficient=150)])
        first = await eventually(alerts, what="first alert")
        await feed.publish([opened(fitting, coefficient=1, storage_coefficient=150)])  # the same slot again
        await feed.publish([opened(later, storage_coefficient=120)])
        await eventually(lambda: len(alerts()) == 2, what="second alert")
    assert len(first) == 1 and ru_date(fitting) in render(first[0].kind, first[0].payload, "").text
    assert [a.payload["slot"]["date"] for a in alerts()] == [fitting.isoformat(), later.isoformat()]
    assert phase_of(db, task_id) is TaskPhase.WATCHING
    assert not rows(db, Booking, Booking.task_id == task_id)


async def test_a_monopallet_task_books_only_a_date_that_still_takes_all_its_pallets(
    sandbox: RunningSandbox, host: BrowserHost, db: Engine, feed: MemoryFeed
) -> None:
    market = sandbox.market
    phone = new_phone()
    user_id, account_id, seller = add_seller(db, market, phone)
    preorder_id = new_preorder(market, seller, box_type=BoxType.MONOPALLETS)
    task_id = add_task(db, user_id, account_id, preorder_id, box_type="monopallets", pallet_count=3)
    short, roomy = msk_day(market, 2), msk_day(market, 4)
    async with running_bot(account_id, db, feed, host, bot_config(sandbox)):
        await login_through_relay(db, market, account_id, phone)
        await eventually(lambda: phase_of(db, task_id) is TaskPhase.WATCHING)
        market.open_slot(WAREHOUSE_ID, short, BoxType.MONOPALLETS, capacity=2)
        await feed.publish([opened(short, box_type=BoxType.MONOPALLETS)])
        await eventually(lambda: "примет ещё 2 палл." in (row(db, SupplyTask, task_id).message or ""),
                         what="the short date refused")
        assert phase_of(db, task_id) is TaskPhase.WATCHING
        market.open_slot(WAREHOUSE_ID, roomy, BoxType.MONOPALLETS, capacity=3)
        await feed.publish([opened(roomy, box_type=BoxType.MONOPALLETS)])
        await eventually(lambda: phase_of(db, task_id) is TaskPhase.BOOKED, what="booked")
    planned = market.preorder(seller.suppliers[0].id, preorder_id)
    assert planned.supply_date == roomy
    assert quota.usage(db, user_id, quota.month_key()) == quota.Usage(used=1, reserved=0)


async def test_a_booked_task_moves_its_supply_to_an_earlier_slot_and_wb_shows_the_move(
    sandbox: RunningSandbox, host: BrowserHost, db: Engine, feed: MemoryFeed
) -> None:
    """plan/update: one supply, a new date; counted once; a dearer earlier slot is not a better one."""
    market = sandbox.market
    phone = new_phone()
    user_id, account_id, seller = add_seller(db, market, phone)
    preorder_id = new_preorder(market, seller)
    task_id = add_task(db, user_id, account_id, preorder_id, max_coefficient=2, improve="earlier", max_moves=1)
    late, dear, early = (msk_day(market, n) for n in (8, 2, 4))
    supplier_id = seller.suppliers[0].id
    async with running_bot(account_id, db, feed, host, bot_config(sandbox)):
        await login_through_relay(db, market, account_id, phone)
        await eventually(lambda: phase_of(db, task_id) is TaskPhase.WATCHING)
        market.open_slot(WAREHOUSE_ID, late, BoxType.BOXES, coefficient=1)
        await feed.publish([opened(late, coefficient=1)])
        await eventually(lambda: phase_of(db, task_id) is TaskPhase.BOOKED, what="booked")
        supply_id = market.preorder(supplier_id, preorder_id).supply_id
        market.open_slot(WAREHOUSE_ID, dear, BoxType.BOXES, coefficient=2)  # earlier but dearer: not better
        market.open_slot(WAREHOUSE_ID, early, BoxType.BOXES, coefficient=0)
        await feed.publish([opened(dear, coefficient=2), opened(early)])
        await eventually(lambda: row(db, SupplyTask, task_id).booked_date == early, what="moved")
    planned = market.preorder(supplier_id, preorder_id)
    assert (planned.supply_id, planned.supply_date, planned.status_id) == (supply_id, early, 2)
    wb_supplies = [b for b in market.bookings() if b.preorder_id == preorder_id]
    assert [(b.supply_id, b.date, b.rescheduled) for b in wb_supplies] == [(supply_id, late, False),
                                                                            (supply_id, early, True)]
    task = row(db, SupplyTask, task_id)
    assert (task.phase, task.moves, task.booked_date) == (TaskPhase.BOOKED, 1, early)
    confirmed = rows(db, Booking, Booking.task_id == task_id)
    assert [(b.state, b.slot_date, b.supply_id) for b in confirmed] == [(BookingState.CONFIRMED, early, supply_id)]
    assert quota.usage(db, user_id, quota.month_key()) == quota.Usage(used=1, reserved=0), "a move is not a booking"
    moved = rows(db, NotificationOutbox, NotificationOutbox.kind == "booked",
                 NotificationOutbox.channel == NotificationChannel.CABINET, NotificationOutbox.user_id == user_id)
    assert len(moved) == 2 and render(moved[1].kind, moved[1].payload, "").title == "Поставка перенесена"


async def test_a_slot_open_before_the_bot_started_is_booked_from_the_calendar(
    sandbox: RunningSandbox, host: BrowserHost, db: Engine, feed: MemoryFeed
) -> None:
    market = sandbox.market
    phone = new_phone()
    user_id, account_id, seller = add_seller(db, market, phone)
    task_id = add_task(db, user_id, account_id, new_preorder(market, seller))
    day = msk_day(market, 8)
    market.open_slot(WAREHOUSE_ID, day, BoxType.BOXES)
    await feed.set_calendar({"507/boxes/day": opened(day)["slot"]})  # the monitor's snapshot, no event
    async with running_bot(account_id, db, feed, host, bot_config(sandbox)):
        await login_through_relay(db, market, account_id, phone)
        await eventually(lambda: phase_of(db, task_id) is TaskPhase.BOOKED, what="booked from the calendar")


async def test_a_preorder_books_only_at_its_own_warehouse_and_a_planned_one_fails_the_task(
    sandbox: RunningSandbox, host: BrowserHost, db: Engine, feed: MemoryFeed
) -> None:
    market = sandbox.market
    phone = new_phone()
    podolsk = 117501
    user_id, account_id, seller = add_seller(db, market, phone)
    preorder_id = new_preorder(market, seller)  # a preorder for Коледино
    task_id = add_task(db, user_id, account_id, preorder_id, warehouses=(podolsk, WAREHOUSE_ID))
    planned_elsewhere = new_preorder(market, seller)
    market.open_slot(WAREHOUSE_ID, msk_day(market, 20), BoxType.BOXES)
    market.book(seller.suppliers[0].id, planned_elsewhere, msk_day(market, 20))  # the seller planned it by hand
    doomed = add_task(db, user_id, account_id, planned_elsewhere)
    day = msk_day(market, 9)
    async with running_bot(account_id, db, feed, host, bot_config(sandbox)):
        await login_through_relay(db, market, account_id, phone)
        await eventually(lambda: phase_of(db, doomed) is TaskPhase.FAILED, what="planned preorder fails the task")
        assert "уже запланирована" in (row(db, SupplyTask, doomed).message or "")
        market.open_slot(podolsk, msk_day(market, 2), BoxType.BOXES)  # earlier, and the seller's first choice
        market.open_slot(WAREHOUSE_ID, day, BoxType.BOXES)
        await feed.publish([opened(msk_day(market, 2), warehouse_id=podolsk), opened(day)])
        await eventually(lambda: phase_of(db, task_id) is TaskPhase.BOOKED, what="booked")
    task = row(db, SupplyTask, task_id)
    assert (task.booked_warehouse_id, task.booked_date) == (WAREHOUSE_ID, day)
    assert market.preorder(seller.suppliers[0].id, preorder_id).supply_date == day


async def test_a_task_the_seller_paused_stays_paused_and_books_nothing(
    sandbox: RunningSandbox, host: BrowserHost, db: Engine, feed: MemoryFeed
) -> None:
    market = sandbox.market
    phone = new_phone()
    user_id, account_id, seller = add_seller(db, market, phone)
    paused_id = add_task(db, user_id, account_id, new_preorder(market, seller), plan_rank=5)
    active_id = add_task(db, user_id, account_id, new_preorder(market, seller), plan_rank=1)
    with session_scope(db) as session:
        task = session.get(SupplyTask, paused_id)
        assert task is not None
        task.paused = True  # what «Пауза» writes (cabinet, API, Telegram or kubectl through the operator)
    day = msk_day(market, 4)
    async with running_bot(account_id, db, feed, host, bot_config(sandbox)):
        await login_through_relay(db, market, account_id, phone)
        await eventually(lambda: phase_of(db, active_id) is TaskPhase.WATCHING, what="watching")
        market.open_slot(WAREHOUSE_ID, day, BoxType.BOXES, coefficient=0, capacity=2)
        await feed.publish([opened(day)])
        await eventually(lambda: phase_of(db, active_id) is TaskPhase.BOOKED, what="booked")

    assert phase_of(db, paused_id) is TaskPhase.PENDING  # the higher plan rank did not make it jump the pause
    assert rows(db, Booking, Booking.task_id == paused_id) == []


async def test_a_draft_wb_does_not_have_is_flagged_before_any_slot_and_the_fixed_task_books(
    sandbox: RunningSandbox, host: BrowserHost, db: Engine, feed: MemoryFeed
) -> None:
    from wbsupply.api.logic.tasks import update_task

    market = sandbox.market
    phone = new_phone()
    user_id, account_id, seller = add_seller(db, market, phone)
    spec = {"account_id": str(account_id), "draft_id": "no-such-draft", "warehouses": [WAREHOUSE_ID],
            "box_type": "boxes", "max_coefficient": 0, "mode": "book"}
    with session_scope(db) as session:
        task = SupplyTask(owner_id=user_id, account_id=account_id, spec=spec, plan_rank=1)
        session.add(task)
        session.flush()
        task_id = task.id
    assert task_id is not None
    day = msk_day(market, 5)
    real_draft = market.create_draft(seller.suppliers[0].id, [("2040000000017", 12)])
    async with running_bot(account_id, db, feed, host, bot_config(sandbox)):
        await login_through_relay(db, market, account_id, phone)
        # No slot is open: the bot checks the draft in the cabinet's own list as soon as it sees the task.
        await eventually(lambda: phase_of(db, task_id) is TaskPhase.FAILED, within=30, what="flagged")
        message = row(db, SupplyTask, task_id).message
        assert message is not None and "no-such-draft" in message and "не найден" in message
        assert rows(db, Booking, Booking.task_id == task_id) == []
        # The form's list: the bot saved the seller's drafts with their goods count.
        listed = row(db, WbAccount, account_id).cabinet_supplies
        assert {"id": real_draft.id, "quantity": 12, "goods": 1} == {
            k: v for k, v in next(d for d in listed["drafts"] if d["id"] == real_draft.id).items()
            if k in ("id", "quantity", "goods")}

        with session_scope(db) as session:  # the seller picks the real draft: the failed task restarts
            user = session.get(User, user_id)
            assert user is not None
            update_task(session, user, task_id, {"draft_id": real_draft.id})
        assert phase_of(db, task_id) is TaskPhase.PENDING
        await eventually(lambda: phase_of(db, task_id) is TaskPhase.WATCHING, what="watching again")
        market.open_slot(WAREHOUSE_ID, day, BoxType.BOXES, coefficient=0)
        await feed.publish([opened(day)])
        await eventually(lambda: phase_of(db, task_id) is TaskPhase.BOOKED, what="booked")
    assert quota.usage(db, user_id, quota.month_key()) == quota.Usage(used=1, reserved=0)



async def test_two_accounts_race_for_one_task_and_exactly_one_supply_is_booked(
    sandbox: RunningSandbox, host: BrowserHost, db: Engine, feed: MemoryFeed
) -> None:
    """Racing: one task names the seller's two WB accounts, each with its own draft; both bots watch and see
    the slot (WB has room for both supplies), the first to hold the task's booking books, the other stands down."""
    market = sandbox.market
    phone_a, phone_b = new_phone(), new_phone()
    user_id, account_a, seller_a = add_seller(db, market, phone_a)
    account_b, seller_b = add_account(db, market, user_id, phone_b)
    draft_a = market.create_draft(seller_a.suppliers[0].id, [("2040000000017", 10)])
    draft_b = market.create_draft(seller_b.suppliers[0].id, [("2040000000017", 10)])
    task_id = add_task(db, user_id, account_a, None, draft_id=draft_a.id, racers={str(account_b): draft_b.id})
    day = msk_day(market, 6)
    config = bot_config(sandbox)
    async with running_bot(account_a, db, feed, host, config) as bot_a, \
            running_bot(account_b, db, feed, host, config) as bot_b:
        await login_through_relay(db, market, account_a, phone_a)
        await login_through_relay(db, market, account_b, phone_b)
        await eventually(lambda: task_id in bot_a.bot.tasks and task_id in bot_b.bot.tasks, what="both watch")
        market.open_slot(WAREHOUSE_ID, day, BoxType.BOXES, capacity=5)
        await feed.publish([opened(day)])
        await eventually(lambda: phase_of(db, task_id) is TaskPhase.BOOKED, what="booked")
        # Both bots let the booked task go (the loser stood down or saw it booked; it never planned).
        await eventually(lambda: task_id not in bot_a.bot.tasks and task_id not in bot_b.bot.tasks,
                         what="both bots let go")
    [booking] = rows(db, Booking, Booking.task_id == task_id)
    winner, loser = (seller_a, seller_b) if booking.account_id == account_a else (seller_b, seller_a)
    assert booking.account_id in (account_a, account_b)
    supplies = [b for b in market.bookings() if b.seller_id in (seller_a.id, seller_b.id)]
    assert [(b.seller_id, b.date) for b in supplies] == [(winner.id, day)]
    assert (booking.state, booking.supply_id) == (BookingState.CONFIRMED, supplies[0].supply_id)
    assert quota.usage(db, user_id, booking.month) == quota.Usage(used=1, reserved=0)
    assert all(p.status_id == 1 for p in market.list_preorders(loser.suppliers[0].id))  # nothing planned


async def test_a_racing_bot_stands_down_while_another_account_holds_the_task(
    sandbox: RunningSandbox, host: BrowserHost, db: Engine, feed: MemoryFeed
) -> None:
    """Account A holds the task's booking (its bot is mid-booking): B's bot sees the slot, stands down without
    asking WB; once A's attempt is given back, B books with its own draft and the booking row names B."""
    market = sandbox.market
    phone_a, phone_b = new_phone(), new_phone()
    user_id, account_a, seller_a = add_seller(db, market, phone_a)
    account_b, seller_b = add_account(db, market, user_id, phone_b)
    draft_a = market.create_draft(seller_a.suppliers[0].id, [("2040000000017", 10)])
    draft_b = market.create_draft(seller_b.suppliers[0].id, [("2040000000017", 10)])
    task_id = add_task(db, user_id, account_a, None, draft_id=draft_a.id, racers={str(account_b): draft_b.id})
    held = quota.reserve(db, user_id, quota.month_key(), 5, task_id, account_a)
    assert held is not None and held.account_id == account_a
    day = msk_day(market, 7)
    async with running_bot(account_b, db, feed, host, bot_config(sandbox)):
        await login_through_relay(db, market, account_b, phone_b)
        await eventually(lambda: phase_of(db, task_id) is TaskPhase.WATCHING, what="watching")
        market.open_slot(WAREHOUSE_ID, day, BoxType.BOXES, capacity=5)
        await feed.publish([opened(day)])
        await eventually(lambda: any("another account" in e.message for e in rows(db, EventLog,
                                                                                  EventLog.task_id == task_id)),
                         what="stood down")
        assert market.list_preorders(seller_b.suppliers[0].id) == []  # B made no preorder, planned nothing
        assert [b.account_id for b in rows(db, Booking, Booking.task_id == task_id)] == [account_a]
        quota.release(held)  # A's attempt did not happen
        await feed.publish([opened(day)])
        await eventually(lambda: phase_of(db, task_id) is TaskPhase.BOOKED, what="booked by B")
    [booking] = rows(db, Booking, Booking.task_id == task_id)
    assert (booking.account_id, booking.state) == (account_b, BookingState.CONFIRMED)
    assert [b.seller_id for b in market.bookings() if b.seller_id in (seller_a.id, seller_b.id)] == [seller_b.id]
    assert quota.usage(db, user_id, booking.month) == quota.Usage(used=1, reserved=0)
