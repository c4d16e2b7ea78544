"""Export a shop and import it into a new one without loss."""
from __future__ import annotations

from pathlib import Path

import pytest

from comptoir.kernel import dataport
from comptoir.kernel.errors import Conflict
from comptoir.kernel.runtime import Kernel
from tests.conftest import build_kernel
from tests.kernel.services.helpers import buy, make_shop, new_cart


def test_round_trip_keeps_every_row(kernel_any: Kernel, tmp_path: Path) -> None:
    make_shop(kernel_any, units=5)
    placed = buy(kernel_any, new_cart(kernel_any, qty=2))
    before = dataport.count_rows(kernel_any)
    counts = dataport.export(kernel_any, tmp_path / "export")
    assert counts["order"] == 1 and (tmp_path / "export" / "order.jsonl").read_text().count("\n") == 1

    from comptoir.kernel.db import make_engine
    from comptoir.kernel.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    fresh = build_kernel(tmp_path / "fresh", url).boot()
    try:
        dataport.import_(fresh, tmp_path / "export")
        assert dataport.count_rows(fresh) == before
        # the imported shop works: ids continue, stock is right
        assert buy(fresh, new_cart(fresh)).order_id == placed.order_id + 1
        with pytest.raises(Conflict, match="already has data"):
            dataport.import_(fresh, tmp_path / "export")
    finally:
        fresh.close()
