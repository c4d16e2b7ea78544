"""Storefront API: browse, filter, ETags, availability, cart to order, customers, problems."""
from __future__ import annotations

from starlette.testclient import TestClient

ADDRESS = {"name": "Ada Martin", "line1": "3 rue du Commerce", "postal_code": "75011", "city": "Paris",
           "country": "FR"}


def test_catalog_pages_filters_and_etag(client: TestClient) -> None:
    r = client.get("/api/v1/products", params={"limit": 5})
    assert r.status_code == 200
    page = r.json()
    assert len(page["items"]) == 5 and page["total"] == 24 and page["next_offset"] == 5
    assert all(isinstance(p["price_from"]["amount"], int) for p in page["items"])
    again = client.get("/api/v1/products", params={"limit": 5}, headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304
    cheap = client.get("/api/v1/products", params={"max_price": 1000, "sort": "price_desc", "limit": 100}).json()
    prices = [p["price_from"]["amount"] for p in cheap["items"]]
    assert prices and max(prices) <= 1000 and prices == sorted(prices, reverse=True)
    tea = client.get("/api/v1/products", params={"category": "tea", "limit": 100}).json()
    assert tea["items"] and all(p["category"] == "Tea" for p in tea["items"])
    word = tea["items"][0]["title"].split()[0]
    found = client.get("/api/v1/products", params={"q": word.lower()}).json()
    assert any(p["title"].startswith(word) for p in found["items"])


def test_product_detail_and_availability_per_store(client: TestClient) -> None:
    slug = client.get("/api/v1/products", params={"limit": 1}).json()["items"][0]["slug"]
    p = client.get(f"/api/v1/products/{slug}").json()
    assert p["variants"] and p["variants"][0]["price"]["currency"] == "EUR"
    av = client.get(f"/api/v1/products/{slug}/availability").json()
    codes = {loc["code"] for loc in av["locations"]}
    assert "WH-PARIS" in codes
    assert client.get("/api/v1/products/no-such-thing").json()["status"] == 404


def test_cart_quote_checkout_and_order_status(client: TestClient) -> None:
    p = client.get("/api/v1/products", params={"in_stock": "true", "limit": 1}).json()["items"][0]
    sku = client.get(f"/api/v1/products/{p['slug']}").json()["variants"][0]["sku"]
    cart = client.post("/api/v1/carts", json={"currency": "EUR"}).json()
    tok = cart["token"]
    cart = client.post(f"/api/v1/carts/{tok}/items", json={"sku": sku, "quantity": 2}).json()
    assert cart["item_count"] == 2
    quotes = client.post(f"/api/v1/carts/{tok}/shipping-quotes", json={"address": ADDRESS}).json()
    methods = client.get(f"/api/v1/carts/{tok}/payment-methods").json()
    assert quotes and methods
    r = client.post("/api/v1/checkout", json={
        "cart_token": tok, "email": "ada@example.com", "address": ADDRESS, "shipping_quote_id": quotes[0]["id"],
        "payment_method_id": methods[0]["id"], "idempotency_key": "k-1"})
    assert r.status_code == 201, r.text
    placed = r.json()
    assert placed["total"]["amount"] == cart["subtotal"]["amount"] + quotes[0]["price"]["amount"]
    status = client.get(f"/api/v1/orders/{placed['reference']}", params={"email": "ada@example.com"}).json()
    assert status["number"] == placed["number"] and status["lines"][0]["sku"] == sku
    wrong = client.get(f"/api/v1/orders/{placed['reference']}", params={"email": "eve@example.com"})
    assert wrong.status_code == 404


def test_problem_details_name_the_field(client: TestClient) -> None:
    cart = client.post("/api/v1/carts", json={}).json()
    r = client.post(f"/api/v1/carts/{cart['token']}/items", json={"sku": "X", "quantity": 0})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["field"] == "quantity" and body["status"] == 422 and body["title"]
    nested = client.post(f"/api/v1/carts/{cart['token']}/shipping-quotes", json={"address": {**ADDRESS, "country": "F"}})
    assert nested.json()["field"] == "address.country"
    missing = client.post(f"/api/v1/carts/{cart['token']}/items", json={"sku": "NOPE-1"})
    assert missing.status_code == 404 and missing.json()["field"] == "sku"
    bad_json = client.post("/api/v1/carts", content=b"{", headers={"content-type": "application/json"})
    assert bad_json.status_code == 400 and bad_json.json()["field"] == "body"
    bad_query = client.get("/api/v1/products", params={"limit": 1000})
    assert bad_query.status_code == 422 and bad_query.json()["field"] == "limit"


def test_customer_sign_up_sign_in_and_history(client: TestClient) -> None:
    r = client.post("/api/v1/customers", json={"email": "new@example.com", "password": "a long password"})
    assert r.status_code == 201
    tok = client.post("/api/v1/customers/sign-in", json={"email": "new@example.com",
                                                          "password": "a long password"}).json()["token"]
    assert client.get("/api/v1/customers/me", headers={"X-Customer-Token": tok}).json()["email"] == "new@example.com"
    assert client.get("/api/v1/customers/me").status_code == 401
    p = client.get("/api/v1/products", params={"in_stock": "true", "limit": 1}).json()["items"][0]
    sku = client.get(f"/api/v1/products/{p['slug']}").json()["variants"][0]["sku"]
    cart = client.post("/api/v1/carts", json={}).json()["token"]
    client.post(f"/api/v1/carts/{cart}/items", json={"sku": sku})
    q = client.post(f"/api/v1/carts/{cart}/shipping-quotes", json={"address": ADDRESS}).json()[0]
    r = client.post("/api/v1/checkout", headers={"X-Customer-Token": tok}, json={
        "cart_token": cart, "email": "new@example.com", "address": ADDRESS, "shipping_quote_id": q["id"],
        "payment_method_id": "bank_transfer"})
    assert r.status_code == 201, r.text
    history = client.get("/api/v1/customers/me/orders", headers={"X-Customer-Token": tok}).json()
    assert history["total"] == 1 and history["items"][0]["number"] == r.json()["number"]
    dup = client.post("/api/v1/customers", json={"email": "new@example.com", "password": "another password"})
    assert dup.status_code == 409 and dup.json()["field"] == "email"
