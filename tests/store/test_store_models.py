"""What the tables guarantee, on both databases: UTC timestamps, enum values, uniqueness, cascades."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlmodel import Session, col, select

from wbsupply.domain.statuses import BotStatus, BoxType, Role, TaskPhase
from wbsupply.store import (
    Booking,
    EventLog,
    MonthlyUsage,
    NotificationChannel,
    NotificationOutbox,
    SlotHistory,
    SupplyTask,
    User,
    WbAccount,
    session_scope,
)

MOSCOW = timezone(timedelta(hours=3))


def test_timestamps_come_back_as_aware_utc(engine: Engine, make_seller: Any) -> None:
    seller = make_seller()
    moment = datetime(2026, 11, 26, 9, 30, tzinfo=MOSCOW)
    with session_scope(engine) as session:
        task = session.get_one(SupplyTask, seller.task_ids[0])
        task.deadline = moment
    with Session(engine) as session:
        loaded = session.get_one(SupplyTask, seller.task_ids[0])
        assert loaded.deadline == moment and loaded.deadline.utcoffset() == timedelta(0)
        assert loaded.created_at.tzinfo is not None and loaded.created_at.utcoffset() == timedelta(0)


def test_naive_datetimes_are_refused(engine: Engine) -> None:
    with pytest.raises(StatementError, match="timezone"), session_scope(engine) as session:
        session.add(User(email="naive@example.com", password_hash="h", created_at=datetime(2026, 1, 1)))


def test_enums_are_stored_as_their_values(engine: Engine, make_seller: Any) -> None:
    seller = make_seller()
    with session_scope(engine) as session:
        session.get_one(User, seller.user_id).role = Role.ADMIN
        session.get_one(WbAccount, seller.account_id).status = BotStatus.WAITING_AUTH
        session.get_one(SupplyTask, seller.task_ids[0]).phase = TaskPhase.QUOTA_EXCEEDED
    with engine.connect() as connection:
        raw = connection.execute(
            text(
                "SELECT u.role, a.status, t.phase FROM users u JOIN wb_accounts a ON a.owner_id = u.id "
                "JOIN supply_tasks t ON t.account_id = a.id"
            )
        ).one()
    assert tuple(raw) == ("admin", "WAITING_AUTH", "QuotaExceeded")
    with Session(engine) as session:
        assert session.get_one(SupplyTask, seller.task_ids[0]).phase is TaskPhase.QUOTA_EXCEEDED


def test_a_task_has_at_most_one_booking(engine: Engine, make_seller: Any) -> None:
    seller = make_seller()
    with session_scope(engine) as session:
        session.add(Booking(task_id=seller.task_ids[0], user_id=seller.user_id, month="2026-11"))
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.add(Booking(task_id=seller.task_ids[0], user_id=seller.user_id, month="2026-12"))


def test_one_usage_row_per_seller_and_month(engine: Engine, make_seller: Any) -> None:
    seller = make_seller()
    with session_scope(engine) as session:
        session.add(MonthlyUsage(user_id=seller.user_id, month="2026-11"))
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.add(MonthlyUsage(user_id=seller.user_id, month="2026-11"))


def test_usage_never_goes_negative(engine: Engine, make_seller: Any) -> None:
    seller = make_seller()
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.add(MonthlyUsage(user_id=seller.user_id, month="2026-11", reserved=-1))


def test_outbox_deduplicates(engine: Engine, make_seller: Any) -> None:
    seller = make_seller()

    def notify() -> NotificationOutbox:
        return NotificationOutbox(
            user_id=seller.user_id,
            channel=NotificationChannel.TELEGRAM,
            kind="booked",
            payload={"task": 1},
            dedup_key="booked:task:1",
        )

    with session_scope(engine) as session:
        session.add(notify())
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.add(notify())


def test_deleting_a_user_removes_their_rows_but_not_the_journals(engine: Engine, make_seller: Any) -> None:
    seller = make_seller()
    with session_scope(engine) as session:
        session.add(Booking(task_id=seller.task_ids[0], user_id=seller.user_id, month="2026-11"))
        session.add(EventLog(source="worker", user_id=seller.user_id, account_id=seller.account_id, message="x"))
    with engine.begin() as connection:  # plain SQL: the database's foreign keys do the cascading
        connection.execute(text("DELETE FROM users WHERE id = :id"), {"id": seller.user_id})
    with engine.connect() as connection:
        for table in ("wb_accounts", "supply_tasks", "bookings"):
            assert connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == 0, table
        assert connection.execute(text("SELECT count(*) FROM event_log")).scalar_one() == 1


def test_a_task_needs_an_existing_account(engine: Engine, make_seller: Any) -> None:
    seller = make_seller()
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.add(SupplyTask(owner_id=seller.user_id, account_id=seller.account_id + 1000))


def test_blobs_json_and_big_ids_round_trip(engine: Engine, make_seller: Any) -> None:
    seller = make_seller()
    blob = bytes(range(256)) * 64
    with session_scope(engine) as session:
        account = session.get_one(WbAccount, seller.account_id)
        account.session_blob = blob
        account.memory_bytes = 180 * 2**20
        user = session.get_one(User, seller.user_id)
        user.telegram_chat_id = -1001234567890  # group chats have 13-digit negative ids
        user.notification_prefs = {"telegram": True, "email": False, "kinds": ["booked"]}
        session.get_one(SupplyTask, seller.task_ids[0]).spec = {"warehouses": [507, 117986], "box_type": "boxes"}
    with Session(engine) as session:
        account = session.get_one(WbAccount, seller.account_id)
        user = session.get_one(User, seller.user_id)
        assert account.session_blob == blob and account.memory_bytes == 180 * 2**20
        assert user.telegram_chat_id == -1001234567890 and user.notification_prefs["kinds"] == ["booked"]
        assert session.get_one(SupplyTask, seller.task_ids[0]).spec["warehouses"] == [507, 117986]


def test_slot_history_timeline_query(session: Session) -> None:
    start = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
    for minutes, coefficient, kind in [(0, 0, "opened"), (3, 1, "changed"), (7, -1, "closed")]:
        session.add(
            SlotHistory(
                warehouse_id=507,
                slot_date=date(2026, 12, 1),
                box_type=BoxType.BOXES,
                coefficient=coefficient,
                allow_unload=coefficient >= 0,
                kind=kind,
                source="api",
                observed_at=start + timedelta(minutes=minutes),
            )
        )
    session.commit()
    timeline = session.exec(
        select(SlotHistory)
        .where(SlotHistory.warehouse_id == 507, SlotHistory.box_type == BoxType.BOXES)
        .order_by(col(SlotHistory.observed_at))
    ).all()
    assert [row.kind for row in timeline] == ["opened", "changed", "closed"]
    assert timeline[-1].observed_at - timeline[0].observed_at == timedelta(minutes=7)
