"""Task claims: every (WB account, draft or preorder) a booking task plans from, racing accounts' drafts too.

``task_claims`` holds one row per (account, draft/preorder), naming the task that holds it; the row counts
while its task is active or booked (see wbsupply.store.claims). Existing active and booked booking tasks claim
their own draft or preorder (the one ``supply_tasks.claim_key`` names) and their racers' drafts, oldest first;
a younger task on a draft an older one already holds keeps no row for it (as 0004 did for the main claim).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CLAIMING = ("Pending", "Watching", "Booking", "QuotaExceeded", "Booked")


def upgrade() -> None:
    claims = op.create_table(
        "task_claims",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("claim_key", sa.String(length=120), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["wb_accounts.id"], name="fk_task_claims_account_id_wb_accounts",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["task_id"], ["supply_tasks.id"], name="fk_task_claims_task_id_supply_tasks",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("account_id", "claim_key", name="pk_task_claims"),
    )
    op.create_index("ix_task_claims_task_id", "task_claims", ["task_id"])
    _claim_existing_tasks(claims)


def _claim_existing_tasks(claims: sa.Table) -> None:
    tasks = sa.table("supply_tasks", sa.column("id", sa.Integer), sa.column("account_id", sa.Integer),
                     sa.column("phase", sa.String), sa.column("spec", sa.JSON), sa.column("claim_key", sa.String))
    bind = op.get_bind()
    held: set[tuple[int, str]] = set()
    accounts = {account_id for (account_id,) in bind.execute(sa.text("SELECT id FROM wb_accounts"))}
    rows = bind.execute(sa.select(tasks.c.id, tasks.c.account_id, tasks.c.spec, tasks.c.claim_key)
                        .where(tasks.c.phase.in_(CLAIMING), tasks.c.claim_key.is_not(None))
                        .order_by(tasks.c.id)).all()
    for row in rows:
        racers = (row.spec or {}).get("racers") or {}
        wanted = [(row.account_id, row.claim_key)]
        wanted += [(int(account), f"draft:{str(draft).strip().lower()}"[:120]) for account, draft in racers.items()
                   if str(account).isdigit() and int(account) in accounts]  # a deleted racer holds nothing
        for account_id, key in wanted:
            if (account_id, key) in held:
                continue
            held.add((account_id, key))
            bind.execute(claims.insert().values(account_id=account_id, claim_key=key, task_id=row.id))


def downgrade() -> None:
    op.drop_index("ix_task_claims_task_id", table_name="task_claims")
    op.drop_table("task_claims")
