"""The move marker: the slot a booked supply is being moved to (plan/update), written before WB is asked.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("bookings") as batch:
        batch.add_column(sa.Column("move_date", sa.Date(), nullable=True))
        batch.add_column(sa.Column("move_coefficient", sa.Float(), nullable=True))
        batch.add_column(sa.Column("move_requested_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bookings") as batch:
        batch.drop_column("move_requested_at")
        batch.drop_column("move_coefficient")
        batch.drop_column("move_date")
