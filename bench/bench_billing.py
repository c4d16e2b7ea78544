"""Benchmark: monthly vendor statements over 1,000,000 charges across 1,000 vendors (PostgreSQL).

Generates the month with COPY (charges, 2% refunds, and their double-entry ledger lines),
then times :func:`comptoir.marketplace.billing.statements.statements` — one
``GROUP BY vendor_id, currency`` plus the upsert of 1,000 statement rows — and the
payout run that follows (balances per vendor account from the entries, 1,000 payouts).

    .venv/bin/python bench/bench_billing.py [--charges 1000000] [--vendors 1000] [--repeat 7]

Needs the PostgreSQL service (COMPTOIR_TEST_PG, default postgres@127.0.0.1:5432/test);
creates and drops its own database.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import time
import uuid
from datetime import date
from typing import Iterator

from sqlalchemy import create_engine, text

PG_ADMIN_URL = os.environ.get("COMPTOIR_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MONTH = "2026-11"


def _rows_txn(n: int, vendors: int, plugins_per_vendor: int, rng: random.Random) -> Iterator[tuple[object, ...]]:
    """billing_txn rows: n charges of the month, then a refund of 2% of them."""
    refunds: list[tuple[int, int, int, int, str]] = []
    for i in range(1, n + 1):
        v = rng.randrange(vendors) + 1
        gross = rng.randrange(100, 20_000)
        vendor_amount = gross * 85 // 100 if v % 3 else gross  # a third of the vendors are under the threshold
        plugin = f"p{v}-{rng.randrange(plugins_per_vendor)}"
        day = date(2026, 11, rng.randrange(1, 31))
        yield (i, "charge", "EUR", day, MONTH, f"shop{rng.randrange(50_000)}", v, plugin, "default", gross,
               vendor_amount, gross - vendor_amount, None, "", "2026-11-30T00:00:00Z")
        if rng.random() < 0.02:
            refunds.append((i, v, gross, vendor_amount, plugin))
    for j, (charge_id, v, gross, vendor_amount, plugin) in enumerate(refunds, start=n + 1):
        yield (j, "refund", "EUR", date(2026, 11, 30), MONTH, "shop", v, plugin, "default", gross, vendor_amount,
               gross - vendor_amount, charge_id, "", "2026-11-30T00:00:00Z")


def generate(url: str, charges: int, vendors: int, seed: int = 7) -> tuple[int, float]:
    """Create the schema and load the month; returns (transactions, seconds)."""
    from comptoir.kernel.db import make_engine
    from comptoir.marketplace.billing.models import TABLES  # noqa: F401  (registers the tables)
    from comptoir.marketplace.models import metadata

    engine = make_engine(url)
    metadata.create_all(engine)
    t0 = time.perf_counter()
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        with cur.copy("COPY vendor (id, name, display_name, token_hash, created_at) FROM STDIN") as cp:
            for v in range(1, vendors + 1):
                cp.write_row((v, f"vendor{v}", f"Vendor {v}", uuid.uuid4().hex, "2026-01-01T00:00:00Z"))
        cur.execute("INSERT INTO billing_account (code, currency, kind, vendor_id) VALUES "
                    "('clearing', 'EUR', 'asset', NULL), ('revenue', 'EUR', 'revenue', NULL)")
        with cur.copy("COPY billing_account (code, currency, kind, vendor_id) FROM STDIN") as cp:
            for v in range(1, vendors + 1):
                cp.write_row((f"vendor:{v}", "EUR", "liability", v))
        cols = ("id, kind, currency, day, period, shop_id, vendor_id, plugin_id, plan, gross, vendor_amount, "
                "market_amount, reverses_id, memo, created_at")
        rng = random.Random(seed)
        count = 0
        with cur.copy(f"COPY billing_txn ({cols}) FROM STDIN") as cp:
            for row in _rows_txn(charges, vendors, 3, rng):
                cp.write_row(row)
                count += 1
        # the ledger lines, derived in SQL from the transactions (3 per charge or refund)
        cur.execute("""
            INSERT INTO billing_entry (txn_id, account_id, amount, currency)
            SELECT t.id, a.id, CASE WHEN t.kind = 'charge' THEN t.gross ELSE -t.gross END, t.currency
              FROM billing_txn t JOIN billing_account a ON a.code = 'clearing'
            UNION ALL
            SELECT t.id, a.id, CASE WHEN t.kind = 'charge' THEN -t.vendor_amount ELSE t.vendor_amount END, t.currency
              FROM billing_txn t JOIN billing_account a ON a.vendor_id = t.vendor_id
            UNION ALL
            SELECT t.id, a.id, CASE WHEN t.kind = 'charge' THEN -t.market_amount ELSE t.market_amount END, t.currency
              FROM billing_txn t JOIN billing_account a ON a.code = 'revenue'
             WHERE t.market_amount <> 0""")
        cur.execute("SELECT setval(pg_get_serial_sequence('billing_txn', 'id'), (SELECT max(id) FROM billing_txn))")
        cur.execute("SELECT setval(pg_get_serial_sequence('vendor', 'id'), (SELECT max(id) FROM vendor))")
        raw.commit()
        cur.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
        engine.dispose()
    return count, time.perf_counter() - t0


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--charges", type=int, default=1_000_000)
    ap.add_argument("--vendors", type=int, default=1_000)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()

    from comptoir.kernel.db import make_engine
    from comptoir.marketplace.billing import Billing, ledger
    from comptoir.marketplace.billing import statements as stm

    name = f"comptoir_bench_billing_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        txns, gen_s = generate(url, args.charges, args.vendors)
        print(f"generated {txns:,} transactions ({args.charges:,} charges, {txns - args.charges:,} refunds) "
              f"+ ledger entries for {args.vendors:,} vendors in {gen_s:.1f} s")
        engine = make_engine(url)
        b = Billing(engine)
        with b.factory() as s:
            assert ledger.totals_by_currency(s) == {"EUR": 0}, "generated ledger must balance"
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            rows = stm.statements(b, MONTH)
            times.append(time.perf_counter() - t0)
        assert len(rows) == args.vendors
        check = sum(r["net"] for r in rows)
        with b.factory() as s:
            expected = s.execute(text("SELECT sum(CASE WHEN kind='charge' THEN vendor_amount ELSE -vendor_amount END) "
                                      "FROM billing_txn")).scalar()
        assert check == expected, (check, expected)
        print(f"statements {MONTH}: {len(rows):,} vendors, median {statistics.median(times):.3f} s, "
              f"p99 {_pct(times, 99):.3f} s, min {min(times):.3f} s over {args.repeat} runs (target < 5 s)")
        t0 = time.perf_counter()
        run = stm.payout_run(b, MONTH, date(2026, 12, 2))
        pay_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        stm.payout_run(b, MONTH, date(2026, 12, 2))
        replay_s = time.perf_counter() - t0
        print(f"payout run {MONTH}: {run['payouts']:,} payouts in {pay_s:.3f} s (includes statements); "
              f"replay {replay_s * 1000:.1f} ms")
        with b.factory() as s:
            assert ledger.totals_by_currency(s) == {"EUR": 0}
        engine.dispose()
    finally:
        with admin.connect() as c:
            c.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


if __name__ == "__main__":
    main()
