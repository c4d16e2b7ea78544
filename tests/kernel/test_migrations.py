"""The migrations create exactly the tables the models declare, on both databases."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from comptoir.kernel import domain
from comptoir.kernel.db import make_engine
from comptoir.kernel.migrate import current


def test_models_and_migrations_agree(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        assert len(current(engine)) == 1  # one head: kernel and extension branches merged
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, domain.metadata)
        # only differences on tables the kernel domain declares count here; extensions
        # (credentials, staff, billing …) check their own
        ours = set(domain.metadata.tables)
        relevant = [d for d in diff if _table_of(d) in ours]
        assert relevant == []
    finally:
        engine.dispose()


def _table_of(d: object) -> str | None:
    item = d[0] if isinstance(d, list) else d
    for part in item[1:] if isinstance(item, tuple) else ():
        name = getattr(part, "name", None) if not isinstance(part, str) else None
        table = getattr(part, "table", None)
        if table is not None:
            return str(table.name)
        if hasattr(part, "c") and name:
            return str(name)
        if isinstance(part, str):
            return None
    return None
