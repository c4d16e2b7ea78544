"""social posts published by the merchant, now or on a schedule (social networks issue)

Revision ID: 0009_social_posts
Revises: 0008_social_mentions
Create Date: 2026-11-24 10:05:00
"""
from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op

revision: str = '0009_social_posts'
down_revision: Union[str, Sequence[str], None] = '0008_social_mentions'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('social_post',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('network', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('plugin', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=True),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('link', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('image_url', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('scheduled_for', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('remote_id', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('social_post', schema=None) as batch_op:
        batch_op.create_index('ix_social_post_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_social_post_product_id'), ['product_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('social_post', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_social_post_product_id'))
        batch_op.drop_index('ix_social_post_due')

    op.drop_table('social_post')
