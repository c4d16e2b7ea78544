"""Billing fixtures: a marketplace on SQLite or on a private PostgreSQL database, with
vendors and priced plugins inserted directly (no wheels needed to test money)."""
from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
from sqlalchemy import create_engine, text

from comptoir.marketplace.billing import Billing
from comptoir.marketplace.models import Plugin, Vendor
from comptoir.marketplace.service import Marketplace
from comptoir.marketplace.settings import MarketSettings

PG_ADMIN_URL = os.environ.get("COMPTOIR_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

MONTHLY = {"model": "recurring", "currency": "EUR", "price": 3000, "interval": "month", "trial_days": 14}


@pytest.fixture(scope="session")
def market_pg_url() -> Iterator[str]:
    """A private PostgreSQL database for the marketplace tables of this test session."""
    name = f"comptoir_bill_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as c:
        c.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def _truncate(mp: Marketplace) -> None:
    from comptoir.marketplace.models import metadata

    with mp.engine.begin() as c:
        c.execute(text("TRUNCATE " + ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
                       + " RESTART IDENTITY CASCADE"))


def make_market(tmp_path: Path, url: str = "") -> Marketplace:
    return Marketplace(MarketSettings(home=tmp_path / "market", database_url=url, admin_token="op-secret"))


@pytest.fixture
def market(tmp_path: Path) -> Iterator[Marketplace]:
    mp = make_market(tmp_path)
    yield mp
    mp.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def market_any(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Marketplace]:
    """The marketplace once on SQLite and once on PostgreSQL (emptied before the test)."""
    if request.param == "sqlite":
        mp = make_market(tmp_path)
    else:
        mp = make_market(tmp_path, request.getfixturevalue("market_pg_url"))
        _truncate(mp)
    yield mp
    mp.close()


@pytest.fixture
def billing(market: Marketplace) -> Billing:
    return Billing.of(market)


def add_vendor(mp: Marketplace, name: str, token_hash: str = "") -> int:
    with mp.factory() as s, s.begin():
        v = Vendor(name=name, token_hash=token_hash or uuid.uuid4().hex)
        s.add(v)
        s.flush()
        return v.id  # type: ignore[return-value]


def add_plugin(mp: Marketplace, vendor_id: int, plugin_id: str, pricing: dict[str, Any]) -> str:
    with mp.factory() as s, s.begin():
        s.add(Plugin(id=plugin_id, vendor_id=vendor_id, dist_name=plugin_id, name=plugin_id.title(),
                     category="shipping", pricing=pricing, latest_version="1.0.0"))
    return plugin_id


class Seed:
    """Test data helpers bound to one marketplace (fixture ``seed``)."""

    def __init__(self, mp: Marketplace) -> None:
        self.mp = mp

    def vendor(self, name: str, token_hash: str = "") -> int:
        return add_vendor(self.mp, name, token_hash)

    def plugin(self, vendor_id: int, plugin_id: str, pricing: dict[str, Any] | None = None) -> str:
        return add_plugin(self.mp, vendor_id, plugin_id, dict(pricing or MONTHLY))


@pytest.fixture
def seed(market: Marketplace) -> Seed:
    return Seed(market)


@pytest.fixture
def seeder() -> Any:
    """``seeder(mp)``: a :class:`Seed` for any marketplace (e.g. ``market_any``)."""
    return Seed
