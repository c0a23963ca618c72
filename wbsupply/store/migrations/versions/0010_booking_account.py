"""Racing accounts: the WB account holding a task's booking (several of the seller's accounts may race).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("bookings") as batch:
        batch.add_column(sa.Column("account_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_bookings_account_id_wb_accounts", "wb_accounts", ["account_id"], ["id"],
                                 ondelete="SET NULL")


def downgrade() -> None:
    with op.batch_alter_table("bookings") as batch:
        batch.drop_constraint("fk_bookings_account_id_wb_accounts", type_="foreignkey")
        batch.drop_column("account_id")
