"""Hook level: the plugin inside a real kernel, trained on orders in the database."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select

from comptoir.kernel.domain import (
    Category, Customer, Location, Order, OrderLine, Product, StockLevel, Variant,
)
from comptoir.kernel.manifest import manifest_from_pyproject, parse_manifest
from comptoir.sdk import RecoRequest, ScoredItem, check_plugin, hookimpl
from comptoir_recommendations.synthetic import ShopSpec, generate

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def _seed_shop(kernel: Any) -> dict[int, set[int]]:
    """A small synthetic shop written as real rows; returns each customer's products."""
    lines, catalog = generate(ShopSpec(customers=80, items=40, categories=5, seed=3))
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    bought: dict[int, set[int]] = {}
    with kernel.factory() as s, s.begin():
        s.add(Location(id=1, code="main", name="Main"))
        for c in range(1, 6):
            s.add(Category(id=c, slug=f"cat-{c}", name=f"Category {c}"))
        for pid, cat in zip(catalog.product_id.tolist(), catalog.category_id.tolist()):
            s.add(Product(id=pid, slug=f"p-{pid}", title=f"Product {pid}", category_id=cat))
            s.add(Variant(id=pid, product_id=pid, sku=f"SKU-{pid}", price_amount=1000, currency="EUR"))
            s.add(StockLevel(variant_id=pid, location_id=1, on_hand=10))
        for cid in np.unique(lines.customer_id).tolist():
            s.add(Customer(id=cid, email=f"c{cid}@example.com"))
        s.flush()
        order_ids = np.unique(lines.order_id)
        for oid in order_ids.tolist():
            m = lines.order_id == oid
            cid = int(lines.customer_id[m][0])
            total = int(lines.total[m].sum())
            placed = start + timedelta(seconds=float(lines.ts[m][0] - lines.ts.min()))
            s.add(Order(id=oid, reference=f"R{oid}", customer_id=cid, email=f"c{cid}@example.com",
                        currency="EUR", subtotal=total, total=total, placed_at=placed))
        s.flush()
        for i in range(len(lines)):
            pid = int(lines.product_id[i])
            s.add(OrderLine(order_id=int(lines.order_id[i]), variant_id=pid, sku=f"SKU-{pid}", title="x",
                            quantity=int(lines.quantity[i]), unit_price=1000,
                            total=int(lines.total[i]), location_id=1))
            bought.setdefault(int(lines.customer_id[i]), set()).add(pid)
    return bought


def test_hook_signatures_match_the_hookspecs() -> None:
    from comptoir_recommendations.plugin import plugin

    hooks = {i.hook for i in check_plugin(plugin, "recommendations")}
    assert hooks == {"plugin_enabled", "recommend", "recommendations_train"}


def test_manifest_is_valid_and_asks_only_for_reads() -> None:
    m = manifest_from_pyproject(PYPROJECT)
    assert m.id == "recommendations" and m.trusted and m.category == "recommendations"
    assert set(m.scopes.data) == {"orders:read", "products:read", "stock:read"}
    assert m.exclusive_slots == ("recommendations-engine",)
    assert m.supports_api("1.0.0")


def test_train_and_recommend_through_the_hooks(kernel: Any) -> None:
    host = kernel.host
    host.enable("recommendations")
    bought = _seed_shop(kernel)
    [summary] = host.call("recommendations_train", reason="manual")
    with kernel.factory() as s:
        assert summary["lines"] == len(s.scalars(select(OrderLine.id)).all()) > 100
    assert summary["items"] == 40 and "ease_B" in summary["models"]
    customer = max(bought, key=lambda c: len(bought[c]))
    got = host.call("recommend", request=RecoRequest("for_you", k=5, customer_id=customer))
    assert isinstance(got, list) and len(got) == 5 and all(isinstance(g, ScoredItem) for g in got)
    assert not {g.product_id for g in got} & bought[customer]  # seen items masked
    similar = host.call("recommend", request=RecoRequest("similar", k=5, product_ids=(got[0].product_id,)))
    assert similar and got[0].product_id not in {g.product_id for g in similar}

    # stock: sell out the best "for you" product; with no cache it disappears at once
    host.configure("recommendations", {"stock_cache_seconds": 0})
    with kernel.factory() as s, s.begin():
        level = s.get(StockLevel, (got[0].product_id, 1))
        level.reserved = level.on_hand
    again = host.call("recommend", request=RecoRequest("for_you", k=5, customer_id=customer))
    assert again and got[0].product_id not in {g.product_id for g in again}
    assert [g.product_id for g in again][:3] == [g.product_id for g in got][1:4]


def test_training_runs_as_a_background_job(kernel: Any) -> None:
    _seed_shop(kernel)
    result = kernel.jobs.enqueue("comptoir_recommendations.jobs:train", reason="schedule").result(timeout=60)
    assert result["reason"] == "schedule" and result["items"] == 40
    store_root = kernel.host.context("recommendations").storage_dir / "models"
    assert (store_root / result["version"] / "meta.json").is_file()


def test_a_vendor_engine_answers_first(kernel: Any) -> None:
    class Vendor:
        @hookimpl
        def recommend(self, ctx: Any, request: RecoRequest) -> list[ScoredItem]:
            return [ScoredItem(424242, 1.0)]

    _seed_shop(kernel)
    kernel.host.call("recommendations_train", reason="manual")
    manifest = parse_manifest({"id": "vendor-reco", "name": "V", "version": "1.0.0", "vendor": "v",
                               "capabilities": ["recommendations"]})
    kernel.host.add(Vendor(), manifest)
    kernel.host.enable("vendor-reco", persist=False)
    got = kernel.host.call("recommend", request=RecoRequest("popular", k=3))
    assert [g.product_id for g in got] == [424242]
    kernel.host.disable("vendor-reco", persist=False)
    got = kernel.host.call("recommend", request=RecoRequest("popular", k=3))
    assert len(got) == 3 and 424242 not in {g.product_id for g in got}


def test_a_long_training_is_not_a_timeout(tmp_path: Path, sqlite_url: str) -> None:
    """Training runs for minutes on a big shop: the request budget must not drop its
    answer nor count against the breaker that also guards ``recommend``."""
    from comptoir.kernel.runtime import Kernel
    from comptoir.kernel.settings import Settings

    kernel = Kernel(Settings(home=tmp_path / "h", database_url=sqlite_url, hook_timeout_ms=1)).boot()
    try:
        _seed_shop(kernel)
        for _ in range(6):  # more than the breaker threshold
            [summary] = kernel.host.call("recommendations_train", reason="manual")
            assert summary["items"] == 40
        assert not kernel.host.records["recommendations"].breaker.is_open
    finally:
        kernel.close()
