"""The marketplace on PostgreSQL: its own database, created with its own metadata."""
from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
from sqlalchemy import create_engine, text

from comptoir.marketplace import catalog
from comptoir.marketplace.service import Marketplace
from comptoir.marketplace.settings import MarketSettings
from comptoir.sdk.signing import public_b64

pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("marketplace")]


@pytest.fixture
def pg_market(tmp_path: Path) -> Iterator[Marketplace]:
    import os

    admin_url = os.environ.get("COMPTOIR_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    name = f"comptoir_mp_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    mp = Marketplace(MarketSettings(home=tmp_path / "m", database_url=admin_url.rsplit("/", 1)[0] + "/" + name))
    try:
        yield mp
    finally:
        mp.close()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_upload_search_install_review_snapshot_on_postgres(pg_market: Marketplace, releases: Any,  # type: ignore[no-untyped-def]
                                                           vendor_key) -> None:
    vendor, _, key = pg_market.register_vendor("acme", public_b64(vendor_key))
    pg_market.approve_key(key.key_id)
    for v in ("1.0.0", "1.1.0"):
        wheel, sig = releases[v]
        pg_market.upload(vendor, wheel.name, wheel.read_bytes(), sig.read_bytes())
    pid = releases["id"]
    found = catalog.search(pg_market, "weight", kernel="1.0.0")
    assert [r["id"] for r in found["results"]] == [pid] and found["results"][0]["version"] == "1.1.0"
    receipt = catalog.record_install(pg_market, pid, "1.1.0", "shop-pg")
    catalog.add_review(pg_market, pid, receipt, 5, "fast")
    assert catalog.listing(pg_market, pid)["rating"] == 5.0
    first = pg_market.snapshot()["signed"]["version"]
    pg_market.yank(vendor, pid, "1.1.0", "oops")
    assert pg_market.snapshot()["signed"]["version"] == first + 1
    assert catalog.listing(pg_market, pid)["version"] == "1.0.0"
