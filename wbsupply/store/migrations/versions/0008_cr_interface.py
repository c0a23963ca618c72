"""Custom resources as the operators' interface: an explicit paused flag on tasks, CR names of kubectl objects.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PAUSED_MESSAGE = "Приостановлено вами"  # the message text that meant "paused" before this revision


def upgrade() -> None:
    with op.batch_alter_table("supply_tasks") as batch:
        batch.add_column(sa.Column("paused", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("cr_name", sa.String(length=253), nullable=True))
        batch.create_unique_constraint("uq_supply_tasks_cr_name", ["cr_name"])
    with op.batch_alter_table("wb_accounts") as batch:
        batch.add_column(sa.Column("cr_name", sa.String(length=253), nullable=True))
        batch.create_unique_constraint("uq_wb_accounts_cr_name", ["cr_name"])
    op.execute(sa.text("UPDATE supply_tasks SET paused = :yes WHERE phase = 'Pending' AND message = :text")
               .bindparams(yes=True, text=_PAUSED_MESSAGE))


def downgrade() -> None:
    with op.batch_alter_table("wb_accounts") as batch:
        batch.drop_constraint("uq_wb_accounts_cr_name", type_="unique")
        batch.drop_column("cr_name")
    with op.batch_alter_table("supply_tasks") as batch:
        batch.drop_constraint("uq_supply_tasks_cr_name", type_="unique")
        batch.drop_column("cr_name")
        batch.drop_column("paused")
