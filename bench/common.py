"""Shared benchmark helpers: timing statistics and throw-away databases."""
from __future__ import annotations

import statistics
import tempfile
import uuid
from pathlib import Path
from typing import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def summary(samples_s: list[float]) -> dict[str, float]:
    """Median, p95, p99 in microseconds."""
    xs = sorted(samples_s)
    pick = lambda q: xs[min(len(xs) - 1, int(q * len(xs)))] * 1e6  # noqa: E731
    return {"median_us": statistics.median(xs) * 1e6, "p95_us": pick(0.95), "p99_us": pick(0.99), "n": len(xs)}


@contextmanager
def database(kind: str) -> Iterator[str]:
    """A fresh empty database URL of ``kind`` (sqlite or postgres), dropped afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as d:
            yield f"sqlite:///{Path(d) / 'bench.db'}"
        return
    name = f"comptoir_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as c:
            c.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname='{name}'"))
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
