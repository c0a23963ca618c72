"""WB authorization relay: wb_auth_requests, the login state of an account, its encrypted API token.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wb_auth_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["wb_accounts.id"], name=op.f("fk_wb_auth_requests_account_id_wb_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wb_auth_requests")),
    )
    op.create_index("ix_wb_auth_requests_account_status", "wb_auth_requests", ["account_id", "status"])
    # Plain add_column (no batch rebuild): SQLite adds NOT NULL columns that carry a default in place.
    op.add_column(
        "wb_accounts", sa.Column("auth_state", sa.String(length=32), nullable=False, server_default="idle")
    )
    op.add_column(
        "wb_accounts", sa.Column("auth_prompt", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
    )
    op.add_column("wb_accounts", sa.Column("api_token_blob", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("wb_accounts") as batch:
        batch.drop_column("api_token_blob")
        batch.drop_column("auth_prompt")
        batch.drop_column("auth_state")
    op.drop_index("ix_wb_auth_requests_account_status", table_name="wb_auth_requests")
    op.drop_table("wb_auth_requests")
