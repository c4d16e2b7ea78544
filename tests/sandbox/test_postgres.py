"""The sandbox on PostgreSQL: context calls and a checkout through sandboxed plugins."""
from __future__ import annotations

from pathlib import Path

import pytest

from comptoir.kernel.errors import ScopeDenied
from tests.sandbox.conftest import build_shop


@pytest.mark.postgres
def test_sandboxed_plugins_serve_a_postgres_shop(tmp_path: Path, pg_url: str) -> None:
    shop = build_shop(tmp_path, pg_url)
    try:
        placed = shop.order()
        assert placed.order_id > 0
        assert shop.good("orders")["count"] >= 1  # ctx.data.orders() crossed the RPC, ran on PostgreSQL
        with pytest.raises(ScopeDenied):
            shop.good("customer")
        shop.assert_serving()
    finally:
        shop.kernel.close()
        shop.sandbox.close()
