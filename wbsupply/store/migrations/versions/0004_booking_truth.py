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
    # Existing tasks keep no claim (older duplicates keep working); tasks created or edited from now on do.


def downgrade() -> None:
    with op.batch_alter_table("wb_accounts") as batch:
        batch.drop_column("cabinet_supplies_at")
        batch.drop_column("cabinet_supplies")
    with op.batch_alter_table("bookings") as batch:
        batch.drop_column("plan_requested_at")
    op.drop_index("uq_supply_tasks_claim", table_name="supply_tasks")
    with op.batch_alter_table("supply_tasks") as batch:
        batch.drop_column("claim_key")
