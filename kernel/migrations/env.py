"""The one Alembic environment. Reads the URL from settings; plugins add branches."""
from __future__ import annotations

from alembic import context
from sqlalchemy import pool

from comptoir.kernel import domain  # noqa: F401  (registers the tables)
from comptoir.kernel.credentials import models as _credential_models  # noqa: F401  (credential store tables)
from comptoir.kernel.domain import collections as _collections  # noqa: F401  (promo collections; web issue)
from comptoir.kernel.staff import models as _staff_models  # noqa: F401  (staff, tokens; web issue)
from comptoir.kernel import billing_usage as _billing_usage  # noqa: F401  (usage outbox; billing issue)
from comptoir.kernel.installer import models as _installer_models  # noqa: F401  (installed plugins; marketplace issue)
from comptoir.kernel.web.admin import dashboard_compose_store as _dashboards  # noqa: F401  (dashboard layouts; plugins issue)
from comptoir.kernel.db import make_engine
from comptoir.kernel.settings import Settings

config = context.config
target_metadata = domain.metadata


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or Settings.from_env().effective_database_url


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True,
                      compare_type=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url())
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


def _run(connection: object) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True,
                      render_as_batch=True)  # batch mode: SQLite can alter tables
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
