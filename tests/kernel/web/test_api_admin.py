"""Admin API over a scoped token: catalog edits, stock moves, orders, plugins, journal."""
from __future__ import annotations

import io

from sqlalchemy import select
from starlette.testclient import TestClient

from comptoir.kernel.db import read_only
from comptoir.kernel.domain import Location, Order, Variant
from comptoir.kernel.runtime import Kernel
from tests.kernel.web.helpers import token

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


def auth(tok: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tok}"}


def test_create_edit_bulk_price_collection_and_image(client: TestClient, owner_token: str, shop: Kernel) -> None:
    h = auth(owner_token)
    r = client.post("/api/admin/v1/products", headers=h, json={
        "title": "Test blend", "category": "Coffee", "variants": [{"sku": "TB-1", "price_amount": 1000}]})
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    ids = [p["id"] for p in client.get("/api/admin/v1/products", headers=h, params={"limit": 3}).json()["items"]]
    with read_only(shop.factory) as s:
        before = {v.id: v.price_amount for v in s.scalars(select(Variant).where(Variant.product_id.in_(ids)))}
    r = client.post("/api/admin/v1/products/bulk-price", headers=h, json={"product_ids": ids, "mode": "percent",
                                                                          "value": -10})
    assert r.json()["variants_changed"] == len(before)
    with read_only(shop.factory) as s:
        after = {v.id: v.price_amount for v in s.scalars(select(Variant).where(Variant.product_id.in_(ids)))}
    assert all(after[k] == (before[k] * 90 + 50) // 100 for k in before)
    too_low = client.post("/api/admin/v1/products/bulk-price", headers=h,
                          json={"product_ids": ids, "mode": "delta", "value": -10_000_000})
    assert too_low.status_code == 422 and too_low.json()["field"] == "value"
    col = client.post("/api/admin/v1/collections", headers=h, json={"name": "Summer sale", "product_ids": ids}).json()
    assert col["product_count"] == 3
    listed = client.get("/api/v1/products", params={"collection": "summer-sale"}).json()
    assert sorted(p["id"] for p in listed["items"]) == sorted(ids)
    up = client.post(f"/api/admin/v1/products/{pid}/images", headers=h, files={"file": ("a.png", io.BytesIO(PNG))})
    assert up.status_code == 201, up.text
    assert client.get(up.json()["url"]).content == PNG
    bad = client.post(f"/api/admin/v1/products/{pid}/images", headers=h, files={"file": ("a.png", b"<svg/>")})
    assert bad.status_code == 422 and bad.json()["field"] == "file"
    patched = client.patch(f"/api/admin/v1/products/{pid}", headers=h, json={"active": False}).json()
    assert patched["active"] is False
    assert client.get("/api/v1/products/test-blend").status_code == 404


def test_stock_transfer_and_moves(client: TestClient, owner_token: str, shop: Kernel) -> None:
    h = auth(owner_token)
    with read_only(shop.factory) as s:
        wh = s.scalar(select(Location.id).where(Location.code == "WH-PARIS"))
        store = s.scalar(select(Location.id).where(Location.code == "ST-LYON"))
    level = client.get("/api/admin/v1/stock", headers=h, params={"location_id": wh, "limit": 1}).json()["items"][0]
    r = client.post("/api/admin/v1/stock/transfer", headers=h, json={
        "variant_id": level["variant_id"], "from_location_id": wh, "to_location_id": store, "quantity": 3})
    assert r.status_code == 200, r.text
    again = client.get("/api/admin/v1/stock", headers=h, params={"location_id": wh, "q": level["sku"]}).json()
    assert again["items"][0]["on_hand"] == level["on_hand"] - 3
    too_many = client.post("/api/admin/v1/stock/remove", headers=h, json={
        "variant_id": level["variant_id"], "location_id": wh, "quantity": 1_000_000})
    assert too_many.status_code == 409 and too_many.json()["field"] == "quantity"
    moves = client.get("/api/admin/v1/stock/moves", headers=h).json()
    assert moves["items"][0]["reason"] == "transfer"


def test_order_mark_paid_fulfil_refund(client: TestClient, owner_token: str, shop: Kernel) -> None:
    h = auth(owner_token)
    placed = client.get("/api/admin/v1/orders", headers=h, params={"status": "placed"}).json()["items"]
    oid = placed[0]["id"]
    assert client.post(f"/api/admin/v1/orders/{oid}/fulfil", headers=h, json={}).status_code == 409
    o = client.post(f"/api/admin/v1/orders/{oid}/mark-paid", headers=h, json={"note": "transfer received"}).json()
    assert o["status"] == "paid"
    o = client.post(f"/api/admin/v1/orders/{oid}/fulfil", headers=h, json={}).json()
    assert o["status"] == "fulfilled" and o["shipments"][0]["tracking_number"]
    o = client.post(f"/api/admin/v1/orders/{oid}/refund", headers=h, json={"amount": 100}).json()
    assert o["status"] == "partially_refunded" and o["refunded_total"] == 100
    assert [x["to"] for x in o["history"]][-3:] == ["paid", "fulfilled", "partially_refunded"]


def test_plugins_journal_customers_segments(client: TestClient, owner_token: str) -> None:
    h = auth(owner_token)
    plugins = client.get("/api/admin/v1/plugins", headers=h).json()["items"]
    names = {p["name"]: p for p in plugins}
    assert names["flat-rate-shipping"]["enabled"]
    off = client.post("/api/admin/v1/plugins/flat-rate-shipping/disable", headers=h).json()
    assert off["enabled"] is False
    cart = client.post("/api/v1/carts", json={}).json()["token"]
    sku = client.get("/api/v1/products/" + client.get("/api/v1/products").json()["items"][0]["slug"]).json()
    client.post(f"/api/v1/carts/{cart}/items", json={"sku": sku["variants"][0]["sku"]})
    addr = {"name": "A", "line1": "B", "postal_code": "75001", "city": "Paris", "country": "FR"}
    assert client.post(f"/api/v1/carts/{cart}/shipping-quotes", json={"address": addr}).status_code == 409
    assert client.post("/api/admin/v1/plugins/flat-rate-shipping/enable", headers=h).json()["enabled"]
    bad = client.put("/api/admin/v1/plugins/flat-rate-shipping/settings", headers=h, json={"settings": {"nope": 1}})
    assert bad.status_code == 422 and bad.json()["field"] == "settings.nope"
    journal = client.get("/api/admin/v1/journal", headers=h, params={"plugin": "flat-rate-shipping"}).json()
    assert journal["total"] >= 1 and journal["items"][0]["plugin"] == "flat-rate-shipping"
    customers = client.get("/api/admin/v1/customers", headers=h).json()
    assert customers["total"] == 4
    detail = client.get(f"/api/admin/v1/customers/{customers['items'][0]['id']}", headers=h).json()
    assert "loyalty_points" in detail
    assert client.get("/api/admin/v1/segments", headers=h).json()["total"] >= 1


def test_scopes_and_revocation(client: TestClient, shop: Kernel) -> None:
    reader = token(shop, "catalog:read")
    assert client.get("/api/admin/v1/products", headers=auth(reader)).status_code == 200
    denied = client.post("/api/admin/v1/products/bulk-price", headers=auth(reader),
                         json={"product_ids": [1], "mode": "set", "value": 1})
    assert denied.status_code == 403 and "catalog:write" in denied.json()["detail"]
    assert client.get("/api/admin/v1/orders").status_code == 401
    assert client.get("/api/admin/v1/orders", headers=auth("cpt_forged")).status_code == 401
    with read_only(shop.factory) as s:
        assert s.scalar(select(Order.id)) is not None


def test_segments_refresh_and_recommendations(client: TestClient, owner_token: str) -> None:
    h = auth(owner_token)
    r = client.post("/api/admin/v1/segments/refresh", headers=h)
    report = r.json()
    assert r.status_code == 200 and report["customers"] >= 1  # customers who ordered
    assert sum(report["counts"].values()) == report["customers"]
    segs = {x["segment"]: x["customers"] for x in client.get("/api/admin/v1/segments", headers=h).json()["items"]}
    for name, n in report["counts"].items():
        if n:
            assert segs[name] == n
    recos = client.get("/api/v1/recommendations", params={"kind": "popular", "k": 5})
    assert recos.status_code == 200
    for item in recos.json():
        assert item["slug"] and isinstance(item["score"], float)


def test_requested_rights_are_shown_and_granted(client: TestClient, owner_token: str, shop: Kernel) -> None:
    from tests.plugins.kernel_fixtures import manifest

    class Reader:
        pass

    shop.host.add(Reader(), manifest("reader", scopes={"data": ["orders:read"], "hosts": ["api.example.com"]}))
    h = auth(owner_token)
    p = client.get("/api/admin/v1/plugins/reader", headers=h).json()
    assert set(p["requested_rights"]) == {"orders:read", "host:api.example.com"}
    assert set(p["pending_rights"]) == set(p["requested_rights"])
    refused = client.post("/api/admin/v1/plugins/reader/grant", headers=h, json={"rights": ["customers:read"]})
    assert refused.status_code == 422 and refused.json()["field"] == "rights"
    p = client.post("/api/admin/v1/plugins/reader/grant", headers=h, json={"rights": ["orders:read"]}).json()
    assert p["pending_rights"] == ["host:api.example.com"]
    assert shop.host.rights.allowed("reader", "orders:read")
