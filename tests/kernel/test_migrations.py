"""The migrations create exactly the tables the models declare, on both databases."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
import sqlalchemy as sa

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
    """The table a compare_metadata diff is about.

    Diffs are tuples ``(op, …)``: table ops carry a Table, column ops
    ``(op, schema, table_name, Column)``, index/constraint ops an object with ``.table``;
    type/nullable changes come as lists of ``(op, schema, table_name, column, …)``.
    """
    item = d[0] if isinstance(d, list) else d
    assert isinstance(item, tuple), item
    op, rest = item[0], item[1:]
    if op in ("add_column", "remove_column") or op.startswith("modify_"):
        return str(rest[1])
    for part in rest:
        if isinstance(part, sa.Table):
            return str(part.name)
        table = getattr(part, "table", None)
        if isinstance(table, sa.Table):
            return str(table.name)
    raise AssertionError(f"unrecognised schema diff {item!r}: teach _table_of about it")


def test_drift_is_detected(sqlite_url: str) -> None:
    """The check above can fail: a column the models do not declare is reported."""
    engine = make_engine(sqlite_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql('ALTER TABLE "order" ADD COLUMN surprise INTEGER')
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), domain.metadata)
        assert [_table_of(x) for x in diff] == ["order"]
    finally:
        engine.dispose()
