"""installer: installed plugins (for rollback) and marketplace trust (snapshot version)

Revision ID: 0005_installer
Revises: 0004_staff
Create Date: 2026-11-23 16:45:00
"""
from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op

revision: str = "0005_installer"
down_revision: Union[str, Sequence[str], None] = "0004_staff"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "installed_plugin",
        sa.Column("plugin", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("version", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("previous_version", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("dist_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("marketplace", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("top_level", sa.JSON(), nullable=False),
        sa.Column("approved_rights", sa.JSON(), nullable=False),
        sa.Column("approved_by", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("receipt", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("installed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("plugin"),
    )
    op.create_table(
        "installer_trust",
        sa.Column("marketplace", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("public_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("snapshot_version", sa.Integer(), nullable=False),
        sa.Column("snapshot_expires", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("marketplace"),
    )


def downgrade() -> None:
    op.drop_table("installer_trust")
    op.drop_table("installed_plugin")
