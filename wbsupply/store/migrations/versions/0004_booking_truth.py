"""Booking truth: who claimed a draft or preorder, when plan/add was asked, the cabinet's supplies list.

- ``supply_tasks.claim_key`` ("draft:<id>" / "preorder:<id>") with a partial unique index per account over
  the phases that hold a supply (active ones and Booked): one draft or preorder, one task.
- ``bookings.plan_requested_at``: set just before ``plan/add`` is sent; a booking is ours only if we asked.
- ``wb_accounts.cabinet_supplies`` / ``cabinet_supplies_at``: the drafts and unplanned preorders the bot
  last read from the seller's cabinet (the task form offers them).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CLAIMING = ("Pending", "Watching", "Booking", "QuotaExceeded", "Booked")
CLAIM_PHASES = "phase IN ('Pending', 'Watching', 'Booking', 'QuotaExceeded', 'Booked')"


def upgrade() -> None:
    op.add_column("supply_tasks", sa.Column("claim_key", sa.String(length=120), nullable=True))
    where = sa.text(f"claim_key IS NOT NULL AND {CLAIM_PHASES}")
    op.create_index("uq_supply_tasks_claim", "supply_tasks", ["account_id", "claim_key"], unique=True,
                    sqlite_where=where, postgresql_where=where)
    op.add_column("bookings", sa.Column("plan_requested_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "wb_accounts", sa.Column("cabinet_supplies", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
    )
    op.add_column("wb_accounts", sa.Column("cabinet_supplies_at", sa.DateTime(timezone=True), nullable=True))
    _claim_existing_tasks()


def _claim_existing_tasks() -> None:
    """Existing booking tasks claim their preorder or draft, oldest first; a younger duplicate of an active or
    booked task keeps no claim (it goes on working, each task planning its own supply from a shared draft)."""
    tasks = sa.table("supply_tasks", sa.column("id", sa.Integer), sa.column("account_id", sa.Integer),
                     sa.column("phase", sa.String), sa.column("spec", sa.JSON), sa.column("claim_key", sa.String))
    bind = op.get_bind()
    held: set[tuple[int, str]] = set()
    rows = bind.execute(sa.select(tasks.c.id, tasks.c.account_id, tasks.c.phase, tasks.c.spec)
                        .where(tasks.c.phase.in_(CLAIMING)).order_by(tasks.c.id)).all()
    for row in rows:
        spec = row.spec or {}
        if spec.get("mode", "book") != "book":
            continue
        if spec.get("preorder_id"):
            claim = f"preorder:{spec['preorder_id']}"
        elif spec.get("draft_id"):
            claim = f"draft:{str(spec['draft_id']).strip().lower()}"[:120]
        else:
            continue
        if (row.account_id, claim) in held:
            continue
        held.add((row.account_id, claim))
        bind.execute(tasks.update().where(tasks.c.id == row.id).values(claim_key=claim))


def downgrade() -> None:
    with op.batch_alter_table("wb_accounts") as batch:
        batch.drop_column("cabinet_supplies_at")
        batch.drop_column("cabinet_supplies")
    with op.batch_alter_table("bookings") as batch:
        batch.drop_column("plan_requested_at")
    op.drop_index("uq_supply_tasks_claim", table_name="supply_tasks")
    with op.batch_alter_table("supply_tasks") as batch:
        batch.drop_column("claim_key")
