"""POS endpoints: a till sells from its store's stock and shares loyalty with the web."""
from __future__ import annotations

from sqlalchemy import select
from starlette.testclient import TestClient

from comptoir.kernel.db import read_only
from comptoir.kernel.domain import Location, StockLevel, Variant
from comptoir.kernel.runtime import Kernel
from tests.kernel.web.helpers import token


def _store_item(shop: Kernel) -> tuple[int, str, int]:
    with read_only(shop.factory) as s:
        store = s.scalar(select(Location.id).where(Location.code == "ST-MARAIS"))
        vid, avail = s.execute(select(StockLevel.variant_id, StockLevel.on_hand - StockLevel.reserved)
                               .where(StockLevel.location_id == store, StockLevel.on_hand > 1)).first()  # type: ignore[misc]
        sku = s.scalar(select(Variant.sku).where(Variant.id == vid))
    return store, sku or "", avail


def test_sale_takes_store_stock_and_loyalty_is_shared(client: TestClient, shop: Kernel) -> None:
    store, sku, avail = _store_item(shop)
    h = {"Authorization": f"Bearer {token(shop, 'pos', location_id=store)}"}
    found = client.get("/api/pos/v1/products", headers=h, params={"q": sku}).json()
    assert found["items"][0]["available"] >= avail
    c = client.post("/api/pos/v1/customers", headers=h, json={"email": "till@example.com", "name": "Till"}).json()
    sale = client.post("/api/pos/v1/sales", headers=h, json={"lines": [{"sku": sku, "quantity": 1}],
                                                            "customer_id": c["id"], "payment": "cash",
                                                            "idempotency_key": "sale-1"})
    assert sale.status_code == 201, sale.text
    body = sale.json()
    assert body["channel"] == "pos" and body["status"] == "paid" and body["loyalty_points"] > 0
    replay = client.post("/api/pos/v1/sales", headers=h, json={"lines": [{"sku": sku, "quantity": 1}],
                                                              "customer_id": c["id"], "idempotency_key": "sale-1"})
    assert replay.json()["id"] == body["id"]
    with read_only(shop.factory) as s:
        left = s.scalar(select(StockLevel.on_hand - StockLevel.reserved).where(
            StockLevel.location_id == store, StockLevel.variant_id == select(Variant.id).where(
                Variant.sku == sku).scalar_subquery()))
    assert left == avail - 1
    points = client.get(f"/api/pos/v1/customers/{c['id']}/loyalty", headers=h).json()["points"]
    assert points == body["loyalty_points"]
    spend = client.post("/api/pos/v1/sales", headers=h, json={"lines": [{"sku": sku, "quantity": 1}],
                                                             "customer_id": c["id"], "redeem_points": points})
    assert spend.status_code == 201, spend.text
    second = spend.json()
    used = min(points, second["subtotal"])
    assert second["discount_total"] == used and second["total"] == second["subtotal"] - used
    earned = second["total"] // 100  # one point per whole euro paid
    assert client.get(f"/api/pos/v1/customers/{c['id']}/loyalty", headers=h).json()["points"] == points - used + earned
    too_many = client.post("/api/pos/v1/sales", headers=h, json={"lines": [{"sku": sku, "quantity": 999}]})
    assert too_many.status_code == 409


def test_pos_needs_the_pos_scope(client: TestClient, shop: Kernel) -> None:
    h = {"Authorization": f"Bearer {token(shop, 'catalog:read')}"}
    assert client.get("/api/pos/v1/products", headers=h).status_code == 403
