"""Stock moves between locations, availability per store, and one truth for all channels."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from comptoir.kernel.db import transaction
from comptoir.kernel.domain import StockMove
from comptoir.kernel.errors import OutOfStock, ValidationFailed
from comptoir.kernel.runtime import Kernel
from comptoir.kernel.services import stock
from comptoir.kernel.services.catalog import ensure_location
from tests.kernel.services.helpers import make_shop


def test_transfer_moves_units_and_is_journaled_as_a_move(kernel_any: Kernel) -> None:
    vid = make_shop(kernel_any, units=10)
    with transaction(kernel_any.factory) as s:
        wh = ensure_location(s, "WH", "Warehouse")
        shop = ensure_location(s, "SHOP", "Store", kind="store")
        stock.transfer(s, vid, wh.id or 0, shop.id or 0, 4, note="restock the store")
    with kernel_any.factory() as s:
        assert stock.availability(s, [vid]) == {vid: {wh.id: 6, shop.id: 4}}
        assert [m.reason for m in s.scalars(select(StockMove))] == ["receipt", "transfer"]
    with pytest.raises(OutOfStock), transaction(kernel_any.factory) as s:
        stock.transfer(s, vid, wh.id or 0, shop.id or 0, 7)
    with pytest.raises(ValidationFailed), transaction(kernel_any.factory) as s:
        stock.transfer(s, vid, wh.id or 0, wh.id or 0, 1)


def test_concurrent_removals_never_go_below_zero(kernel_any: Kernel) -> None:
    """POS sales and web orders hit the same rows: 30 tills each take 1 of 12 units."""
    vid = make_shop(kernel_any, units=12)
    with kernel_any.factory() as s:
        loc = stock.availability(s, [vid])[vid]
    (loc_id,) = loc

    def sell(_: int) -> bool:
        try:
            with transaction(kernel_any.factory) as s:
                stock.remove(s, vid, loc_id, 1, reason="pos-sale")
            return True
        except OutOfStock:
            return False

    with ThreadPoolExecutor(max_workers=15) as pool:
        sold = sum(pool.map(sell, range(30)))
    assert sold == 12
    with kernel_any.factory() as s:
        assert stock.total_available(s, vid) == 0
