"""social mentions, customers' social handles, collection cursors (social networks issue)

Also moves the handles kept until now in ``customer.social_handles`` (comma-separated
``network:handle`` pairs, never filled by the kernel itself) into the new table.

Revision ID: 0008_social_mentions
Revises: 0007_dashboard_layout
Create Date: 2026-11-23 18:50:11
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op

revision: str = '0008_social_mentions'
down_revision: Union[str, Sequence[str], None] = '0007_dashboard_layout'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('social_cursor',
    sa.Column('plugin', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.PrimaryKeyConstraint('plugin')
    )
    op.create_table('customer_social_handles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('network', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('handle', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('network', 'handle', name='uq_customer_social_handle')
    )
    with op.batch_alter_table('customer_social_handles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_social_handles_customer_id'), ['customer_id'], unique=False)

    op.create_table('social_mention',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('network', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('remote_id', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('author_handle', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('author_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('author_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('author_email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('author_followers', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('plugin', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('linked_by', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('collected_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('network', 'remote_id', name='uq_social_mention_remote')
    )
    with op.batch_alter_table('social_mention', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_social_mention_at'), ['at'], unique=False)
        batch_op.create_index('ix_social_mention_author', ['network', 'author_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_social_mention_customer_id'), ['customer_id'], unique=False)
    _move_legacy_handles()


def _move_legacy_handles() -> None:
    conn = op.get_bind()
    customer = sa.table("customer", sa.column("id", sa.Integer), sa.column("social_handles", sa.String))
    handles = sa.table("customer_social_handles", sa.column("customer_id", sa.Integer),
                       sa.column("network", sa.String), sa.column("handle", sa.String),
                       sa.column("created_by", sa.String), sa.column("created_at", sa.DateTime(timezone=True)))
    seen: set[tuple[str, str]] = set()
    rows = []
    now = datetime.now(timezone.utc)
    for cid, raw in conn.execute(sa.select(customer.c.id, customer.c.social_handles)
                                 .where(customer.c.social_handles != "").order_by(customer.c.id)):
        for pair in str(raw).split(","):
            network, _, handle = pair.strip().partition(":")
            network, key = network.strip().lower()[:40], " ".join(handle.split()).lstrip("@").lower()[:200]
            if network and key and (network, key) not in seen:  # first customer wins a shared handle
                seen.add((network, key))
                rows.append({"customer_id": cid, "network": network, "handle": key, "created_by": "migration",
                             "created_at": now})
    if rows:
        conn.execute(handles.insert(), rows)



def downgrade() -> None:
    with op.batch_alter_table('social_mention', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_social_mention_customer_id'))
        batch_op.drop_index('ix_social_mention_author')
        batch_op.drop_index(batch_op.f('ix_social_mention_at'))

    op.drop_table('social_mention')
    with op.batch_alter_table('customer_social_handles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_social_handles_customer_id'))

    op.drop_table('customer_social_handles')
    op.drop_table('social_cursor')
