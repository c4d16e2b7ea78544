"""billing: usage_outbox (usage reports waiting to reach the marketplace)

Revision ID: 0006_billing_usage
Revises: 0005_installer
Create Date: 2026-11-23 17:20:00
"""
from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op

revision: str = "0006_billing_usage"
down_revision: Union[str, Sequence[str], None] = "0005_installer"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "usage_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plugin", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("unit", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("plugin", "idempotency_key", name="uq_usage_outbox_key"),
    )
    op.create_index("ix_usage_outbox_next_attempt_at", "usage_outbox", ["next_attempt_at"])
    op.create_index("ix_usage_outbox_sent_at", "usage_outbox", ["sent_at"])


def downgrade() -> None:
    op.drop_index("ix_usage_outbox_sent_at", table_name="usage_outbox")
    op.drop_index("ix_usage_outbox_next_attempt_at", table_name="usage_outbox")
    op.drop_table("usage_outbox")
