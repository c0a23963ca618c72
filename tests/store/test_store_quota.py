"""The monthly quota on both databases: counting rules, idempotency, and the limit under real concurrency."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session, col
from sqlmodel import select as orm_select

from wbsupply.domain.statuses import BoxType
from wbsupply.store import Booking, BookingState, make_engine
from wbsupply.store.models import WbAccount
from wbsupply.store.quota import QuotaError, Reservation, Usage, commit, month_key, release, reserve, usage
from wbsupply.testkit import new_phone

MONTH = "2026-11"
MakeSeller = Callable[..., Any]  # the make_seller fixture of tests/store/conftest.py


def booking_count(engine: Engine, task_id: int) -> int:
    with engine.connect() as connection:
        return connection.execute(
            select(func.count()).select_from(Booking).where(col(Booking.task_id) == task_id)
        ).scalar_one()


def test_reserve_commit_counts_one_used(engine: Engine, make_seller: MakeSeller) -> None:
    seller = make_seller()
    task = seller.task_ids[0]

    reservation = reserve(engine, seller.user_id, MONTH, 5, task)
    assert reservation is not None and reservation.state is BookingState.RESERVED
    assert usage(engine, seller.user_id, MONTH).reserved == 1

    confirmed = commit(
        reservation,
        warehouse_id=507,
        slot_date=date(2026, 11, 30),
        box_type=BoxType.BOXES,
        coefficient=0,
        supply_id=26596368,
        preorder_id=34601223,
    )
    assert confirmed.counted
    assert usage(engine, seller.user_id, MONTH).used == 1
    assert usage(engine, seller.user_id, MONTH).reserved == 0
    with Session(engine) as session:
        booking = session.exec(orm_select(Booking).where(col(Booking.task_id) == task)).one()
        assert (booking.state, booking.warehouse_id, booking.box_type) == (BookingState.CONFIRMED, 507, BoxType.BOXES)
        assert booking.supply_id == 26596368 and booking.confirmed_at is not None


def test_release_gives_the_unit_back_and_the_task_may_reserve_again(engine: Engine, make_seller: MakeSeller) -> None:
    seller = make_seller()
    task = seller.task_ids[0]
    first = reserve(engine, seller.user_id, MONTH, 1, task)
    assert first is not None
    assert release(first) is True
    assert release(first) is False  # already released: nothing more to give back
    assert usage(engine, seller.user_id, MONTH).total == 0

    again = reserve(engine, seller.user_id, MONTH, 1, task)
    assert again is not None and again.booking_id == first.booking_id  # still one row per task
    assert usage(engine, seller.user_id, MONTH).reserved == 1
    assert booking_count(engine, task) == 1


def test_a_task_counts_once(engine: Engine, make_seller: MakeSeller) -> None:
    seller = make_seller()
    task = seller.task_ids[0]
    first = reserve(engine, seller.user_id, MONTH, 5, task)
    second = reserve(engine, seller.user_id, MONTH, 5, task)
    assert first is not None and second == first
    assert usage(engine, seller.user_id, MONTH).reserved == 1

    commit(first)
    commit(first)  # a retried confirmation changes nothing
    after_booking = reserve(engine, seller.user_id, MONTH, 5, task)
    assert after_booking is not None and after_booking.counted
    assert usage(engine, seller.user_id, MONTH) == Usage(used=1)


def test_limit_reached_returns_none_and_leaves_no_booking(engine: Engine, make_seller: MakeSeller) -> None:
    seller = make_seller(tasks=3)
    done = reserve(engine, seller.user_id, MONTH, 2, seller.task_ids[0])
    assert done is not None
    commit(done)
    assert reserve(engine, seller.user_id, MONTH, 2, seller.task_ids[1]) is not None  # in flight counts too
    assert reserve(engine, seller.user_id, MONTH, 2, seller.task_ids[2]) is None
    assert booking_count(engine, seller.task_ids[2]) == 0
    # A lowered plan never turns existing usage into new room; another month is untouched.
    assert reserve(engine, seller.user_id, MONTH, 1, seller.task_ids[2]) is None
    assert reserve(engine, seller.user_id, "2026-12", 1, seller.task_ids[2]) is not None


def test_confirmed_cannot_be_released_and_released_cannot_be_committed(engine: Engine, make_seller: MakeSeller) -> None:
    seller = make_seller(tasks=2)
    booked = reserve(engine, seller.user_id, MONTH, 5, seller.task_ids[0])
    dropped = reserve(engine, seller.user_id, MONTH, 5, seller.task_ids[1])
    assert booked is not None and dropped is not None
    commit(booked)
    release(dropped)
    with pytest.raises(QuotaError):
        release(booked)
    with pytest.raises(QuotaError):
        commit(dropped)
    assert usage(engine, seller.user_id, MONTH) == Usage(used=1)


def test_reserve_accepts_a_session(session: Session, make_seller: MakeSeller) -> None:
    seller = make_seller()
    reservation = reserve(session, seller.user_id, MONTH, 5, seller.task_ids[0])
    assert isinstance(reservation, Reservation)
    assert session.get(Booking, reservation.booking_id) is not None


@pytest.mark.parametrize("month", ["2026-13", "2026-1", "26-11", ""])
def test_month_is_validated(engine: Engine, month: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        reserve(engine, 1, month, 5, 1)


def test_month_key_follows_moscow_calendar() -> None:
    assert month_key(datetime(2026, 1, 31, 20, 59, tzinfo=UTC)) == "2026-01"
    assert month_key(datetime(2026, 1, 31, 21, 0, tzinfo=UTC)) == "2026-02"  # midnight in Moscow


# --- concurrency: separate connections released at the same instant ----------------------------------------


def race(url: str, attempts: list[tuple[int, int]], month: str, limit: int,
         accounts: list[int] | None = None) -> list[Reservation | None]:
    """Run ``reserve(user, month, limit, task)`` for every (user, task) at once, each on its own engine
    (``accounts``: the WB account each attempt reserves for, racing accounts of one task)."""
    engines = [make_engine(url) for _ in attempts]
    for engine in engines:  # connect first, so the race is about the reservation, not about connecting
        engine.connect().close()
    start = threading.Barrier(len(attempts))

    def attempt(index: int) -> Reservation | None:
        user_id, task_id = attempts[index]
        start.wait()
        return reserve(engines[index], user_id, month, limit, task_id, accounts[index] if accounts else None)

    try:
        with ThreadPoolExecutor(max_workers=len(attempts)) as pool:
            return list(pool.map(attempt, range(len(attempts))))
    finally:
        for engine in engines:
            engine.dispose()


@pytest.mark.parametrize("contenders", [2, 20])
def test_concurrent_reservations_at_limit_minus_one_give_exactly_one(
    database_url: str, engine: Engine, make_seller: MakeSeller, contenders: int
) -> None:
    limit = 5
    seller = make_seller(tasks=limit - 1 + contenders)
    for task in seller.task_ids[: limit - 1]:
        booked = reserve(engine, seller.user_id, MONTH, limit, task)
        assert booked is not None
        commit(booked)

    results = race(database_url, [(seller.user_id, t) for t in seller.task_ids[limit - 1 :]], MONTH, limit)

    assert sum(result is not None for result in results) == 1
    assert usage(engine, seller.user_id, MONTH).total == limit
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(Booking)).scalar_one() == limit


def test_concurrent_reservations_fill_the_limit_exactly(
    database_url: str, engine: Engine, make_seller: MakeSeller
) -> None:
    seller = make_seller(tasks=20, plan_limit=5)
    results = race(database_url, [(seller.user_id, t) for t in seller.task_ids], MONTH, 5)
    assert sum(result is not None for result in results) == 5
    assert usage(engine, seller.user_id, MONTH).reserved == 5


def test_concurrent_reservations_of_one_task_count_once(
    database_url: str, engine: Engine, make_seller: MakeSeller
) -> None:
    seller = make_seller()
    task = seller.task_ids[0]
    results = race(database_url, [(seller.user_id, task)] * 10, MONTH, 5)
    assert all(result is not None for result in results)
    assert len({result.booking_id for result in results if result is not None}) == 1
    assert usage(engine, seller.user_id, MONTH).reserved == 1
    assert booking_count(engine, task) == 1


def test_sellers_do_not_share_a_limit(database_url: str, engine: Engine, make_seller: MakeSeller) -> None:
    sellers = [make_seller(tasks=3) for _ in range(3)]
    attempts = [(seller.user_id, task) for seller in sellers for task in seller.task_ids]
    results = race(database_url, attempts, MONTH, 2)
    assert sum(result is not None for result in results) == 6
    assert {usage(engine, seller.user_id, MONTH).reserved for seller in sellers} == {2}


def test_racing_accounts_of_one_task_get_one_holder_and_count_once(
    database_url: str, engine: Engine, make_seller: MakeSeller
) -> None:
    """Several WB accounts race for one task: every one gets the same booking, naming one holder account; only
    that account's bot books. After a release the next account to reserve holds it (and its preorder is gone)."""
    seller = make_seller()
    task = seller.task_ids[0]
    with Session(engine) as session:
        extra = [WbAccount(owner_id=seller.user_id, phone=new_phone()) for _ in range(3)]
        session.add_all(extra)
        session.commit()
        accounts = [seller.account_id, *[account.id for account in extra if account.id is not None]]
    results = race(database_url, [(seller.user_id, task)] * 8, MONTH, 5, accounts=accounts * 2)
    assert all(result is not None for result in results)
    holders = {result.account_id for result in results if result is not None}
    assert len(holders) == 1 and holders <= set(accounts)
    assert usage(engine, seller.user_id, MONTH).reserved == 1 and booking_count(engine, task) == 1

    [holder] = holders
    held = next(result for result in results if result is not None)
    with Session(engine) as session:
        row = session.exec(orm_select(Booking).where(col(Booking.task_id) == task)).one()
        row.preorder_id = 34601223
        session.add(row)
        session.commit()
    assert release(held)
    other = next(account for account in accounts if account != holder)
    again = reserve(engine, seller.user_id, MONTH, 5, task, other)
    assert again is not None and again.account_id == other
    with Session(engine) as session:
        row = session.exec(orm_select(Booking).where(col(Booking.task_id) == task)).one()
        assert (row.account_id, row.preorder_id) == (other, None)
