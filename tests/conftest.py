"""Shared fixtures: a migrated database on SQLite or PostgreSQL, and a booted kernel.

PostgreSQL tests get a private database per test session (created from the ``test``
database), so parallel runs and xdist workers never see each other's rows.
"""
from __future__ import annotations

import importlib
import os
import sys
import uuid
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text

from comptoir.kernel.db import make_engine
from comptoir.kernel.migrate import upgrade
from comptoir.kernel.runtime import Kernel
from comptoir.kernel.settings import Settings

PG_ADMIN_URL = os.environ.get("COMPTOIR_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("COMPTOIR_TEST_REDIS", "redis://127.0.0.1:6379/0")


@pytest.fixture(autouse=True)
def _restore_import_path() -> Iterator[None]:
    """Installed plugins put their shop's folder on the process-wide sys.path; in a server
    there is one shop, but here another test's kernel would discover them. Each test
    leaves sys.path, and the modules it imported from folders it added, as it found them."""
    before = list(sys.path)
    yield
    added = [p for p in sys.path if p not in before]
    if not added:
        return
    sys.path[:] = [p for p in sys.path if p in before]
    for name, module in list(sys.modules.items()):
        origin = getattr(module, "__file__", None) or ""
        if any(origin.startswith(p) for p in added):
            del sys.modules[name]
    importlib.invalidate_caches()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """URL of a fresh, migrated PostgreSQL database private to this test session."""
    name = f"comptoir_t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # pragma: no cover - CI starts the service
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as c:
        c.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def _truncate_pg(engine: Engine) -> None:
    from comptoir.kernel import domain

    names = ", ".join(f'"{t.name}"' for t in domain.metadata.sorted_tables)
    with engine.begin() as c:
        c.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A clean migrated database, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'shop.db'}"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
    else:
        url = request.getfixturevalue("pg_url")
        engine = make_engine(url)
        _truncate_pg(engine)
        engine.dispose()
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def build_kernel(tmp_path: Path, url: str, **kw: object) -> Kernel:
    settings = Settings(home=tmp_path / "home", database_url=url, hook_timeout_ms=5000)
    return Kernel(settings, **kw)  # type: ignore[arg-type]


@pytest.fixture
def kernel(tmp_path: Path, sqlite_url: str) -> Iterator[Kernel]:
    """A booted kernel on SQLite with the installed first-party plugins."""
    k = build_kernel(tmp_path, sqlite_url).boot()
    yield k
    k.close()


@pytest.fixture
def kernel_any(tmp_path: Path, db_url: str) -> Iterator[Kernel]:
    """The same, once per database backend."""
    k = build_kernel(tmp_path, db_url).boot()
    yield k
    k.close()
