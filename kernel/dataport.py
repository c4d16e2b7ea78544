"""The merchant owns the data: export every kernel table to open files and back.

An export is a folder with one JSON Lines file per table (``<table>.jsonl``, one
object per row, money in integer minor units, times in ISO 8601) and a
``manifest.json`` with the schema revision and row counts. Import loads such a folder
into an empty shop, in dependency order, and checks the counts; it refuses to mix an
export into a shop that already has data, so nothing is half-imported.
"""
from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import DateTime, func, insert, select, text

from comptoir.kernel import domain
from comptoir.kernel.db import read_conn
from comptoir.kernel.errors import Conflict, ValidationFailed
from comptoir.kernel.migrate import current
from comptoir.kernel.runtime import Kernel

FORMAT = "comptoir-export/1"
Progress = Callable[[int], None]
# Diagnostics and transient state are not the merchant's business data.
SKIPPED = {"journal_entry", "kernel_counter", "reservation"}


def _tables() -> list[Any]:
    return [t for t in domain.metadata.sorted_tables if t.name in domain.metadata.tables and t.name not in SKIPPED
            and t.name in _kernel_tables()]


def _kernel_tables() -> set[str]:
    return {m.__table__.name for m in (  # type: ignore[attr-defined]
        domain.Category, domain.Product, domain.Variant, domain.ProductImage, domain.Location, domain.StockLevel,
        domain.StockMove, domain.Customer, domain.CustomerAddress, domain.LoyaltyEntry, domain.Cart, domain.CartLine,
        domain.Order, domain.OrderLine, domain.OrderStatusChange, domain.CheckoutAttempt, domain.PaymentTransaction,
        domain.WebhookReceipt, domain.Shipment, domain.ReturnRequest, domain.OutboxEvent, domain.EventDelivery,
        domain.PluginState, domain.SocialMention, domain.CustomerSocialHandle)}


def count_rows(kernel: Kernel) -> dict[str, int]:
    with read_conn(kernel.engine) as c:
        return {t.name: int(c.execute(select(func.count()).select_from(t)).scalar_one()) for t in _tables()}


def export(kernel: Kernel, folder: Path, progress: Progress | None = None) -> dict[str, int]:
    folder.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    with read_conn(kernel.engine, snapshot=True) as c:  # one snapshot on PostgreSQL; no write lock on SQLite
        for table in _tables():
            n = 0
            with (folder / f"{table.name}.jsonl").open("w", encoding="utf-8") as out:
                for row in c.execute(select(table).order_by(*table.primary_key.columns)):
                    out.write(json.dumps({k: _jsonable(v) for k, v in row._mapping.items()}, ensure_ascii=False))
                    out.write("\n")
                    n += 1
                    if progress and n % 500 == 0:
                        progress(500)
            if progress:
                progress(n % 500)
            counts[table.name] = n
        revision = sorted(current(kernel.engine))
    (folder / "manifest.json").write_text(json.dumps({"format": FORMAT, "revision": revision, "tables": counts},
                                                     indent=2))
    return counts


def _jsonable(v: Any) -> Any:
    return v.isoformat() if isinstance(v, datetime) else v


def import_(kernel: Kernel, folder: Path, progress: Progress | None = None) -> dict[str, int]:
    manifest_path = folder / "manifest.json"
    if not manifest_path.exists():
        raise ValidationFailed(f"{folder} is not a Comptoir export (no manifest.json)", field="folder")
    manifest = json.loads(manifest_path.read_text())
    if manifest.get("format") != FORMAT:
        raise ValidationFailed(f"unknown export format {manifest.get('format')!r}; expected {FORMAT}", field="folder")
    if any(n for name, n in count_rows(kernel).items() if name != "plugin_state"):
        raise Conflict("this shop already has data; import into a new, empty shop (a fresh COMPTOIR_HOME)")
    counts: dict[str, int] = {}
    with kernel.engine.begin() as c:
        for table in _tables():
            path = folder / f"{table.name}.jsonl"
            if not path.exists():
                continue
            if table.name == "plugin_state":
                c.execute(table.delete())
            dt_cols = {col.name for col in table.columns if isinstance(col.type, DateTime)}
            batch: list[dict[str, Any]] = []
            n = 0
            with path.open(encoding="utf-8") as f:
                for line in f:
                    row = json.loads(line)
                    for col in dt_cols:
                        if row.get(col):
                            row[col] = datetime.fromisoformat(row[col])
                    batch.append(row)
                    if len(batch) == 1000:
                        c.execute(insert(table), batch)
                        n += len(batch)
                        batch = []
                        if progress:
                            progress(1000)
            if batch:
                c.execute(insert(table), batch)
                n += len(batch)
                if progress:
                    progress(len(batch))
            if n != manifest["tables"].get(table.name, n):
                raise ValidationFailed(f"{table.name}.jsonl has {n} rows, the manifest says "
                                       f"{manifest['tables'][table.name]}; the export is incomplete", field="folder")
            counts[table.name] = n
        if c.dialect.name == "postgresql":  # identities must continue after the imported ids
            for table in _tables():
                pk = list(table.primary_key.columns)
                if len(pk) == 1 and pk[0].autoincrement is not False and str(pk[0].type) == "INTEGER":
                    c.execute(text(f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', '{pk[0].name}'), "
                                   f"COALESCE((SELECT MAX({pk[0].name}) FROM \"{table.name}\"), 0) + 1, false)"))
    return counts
