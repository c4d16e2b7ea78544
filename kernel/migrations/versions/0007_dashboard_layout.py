"""dashboard_layout: dashboards composed per role and per person (first-party plugins issue)

Revision ID: 0007_dashboard_layout
Revises: 0006_billing_usage
Create Date: 2026-11-23 17:30:00
"""
from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op

revision: str = "0007_dashboard_layout"
down_revision: Union[str, Sequence[str], None] = "0006_billing_usage"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "dashboard_layout",
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("cells", sa.JSON(), nullable=False),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("scope", "owner"),
    )


def downgrade() -> None:
    op.drop_table("dashboard_layout")
