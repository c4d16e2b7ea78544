"""Alembic environment for ONE plugin's own tables.

Each plugin's revisions run with their own version table (``alembic_version_<plugin>``),
so the kernel's ``alembic_version`` never holds a revision from a plugin's folder: the
kernel's own upgrades keep working whatever is installed, and uninstalling a plugin
can take its tables down without touching the kernel's history.
"""
from __future__ import annotations

from alembic import context

config = context.config
connection = config.attributes["connection"]
context.configure(connection=connection, target_metadata=None, render_as_batch=True,
                  version_table=config.get_main_option("version_table") or "alembic_version_plugin")
with context.begin_transaction():
    context.run_migrations()
