"""The billing API and pages through the marketplace app: each audience, each door."""
from __future__ import annotations

import csv
import io
import uuid
from typing import Any

from starlette.testclient import TestClient

from comptoir.marketplace.app import create_app
from comptoir.marketplace.service import Marketplace, _hash_token

OP = {"Authorization": "Bearer op-secret"}


def _setup(market: Marketplace, seed: Any) -> tuple[TestClient, dict[str, str], dict[str, str]]:
    vendor_token = uuid.uuid4().hex
    seed.plugin(seed.vendor("acme", _hash_token(vendor_token)), "labels",
                {"model": "recurring_usage", "price": 1000, "interval": "month", "usage_price": 30,
                 "usage_unit": "label", "usage_cap": 600})
    client = TestClient(create_app(market=market))
    r = client.post("/api/v1/billing/shops", json={"shop_id": "shop-1"})
    assert r.status_code == 201
    return client, {"Authorization": f"Bearer {r.json()['token']}"}, {"Authorization": f"Bearer {vendor_token}"}


def test_merchant_subscribes_reports_usage_and_reads_invoice(market: Marketplace, seed: Any) -> None:
    client, shop, vendor = _setup(market, seed)
    r = client.post("/api/v1/billing/subscriptions", headers=shop, json={"plugin": "labels"})
    assert r.status_code == 201 and r.json()["status"] == "active"
    body = {"plugin": "labels", "unit": "label", "quantity": 12}
    r1 = client.post("/api/v1/billing/usage", headers={**shop, "Idempotency-Key": "order-77"}, json=body)
    r2 = client.post("/api/v1/billing/usage", headers={**shop, "Idempotency-Key": "order-77"}, json=body)
    assert (r1.status_code, r2.status_code) == (201, 200) and r2.json()["recorded"] is False
    assert client.post("/api/v1/billing/usage", headers=shop, json={**body, "quantity": 0,
                                                                      "idempotency_key": "x"}).status_code == 422
    me = client.get("/api/v1/billing/me", headers=shop).json()
    assert me["usage"][0]["quantity"] == 12 and me["usage"][0]["charged"] == 360 and me["usage"][0]["cap"] == 600
    month = me["month"]
    inv = client.get(f"/api/v1/billing/invoices/{month}", headers=shop).json()
    assert inv["totals"] == {"EUR": 1000}
    rows = list(csv.DictReader(io.StringIO(client.get(f"/api/v1/billing/invoices/{month}?format=csv",
                                                      headers=shop).text)))
    assert [(r["kind"], r["amount"]) for r in rows] == [("charge", "1000")]
    assert "10.00 EUR" in client.get(f"/api/v1/billing/invoices/{month}?format=html", headers=shop).text
    assert client.get("/api/v1/billing/me").status_code == 401
    assert client.get("/api/v1/billing/me", headers=vendor).status_code == 401  # a vendor token is not a shop's
    # the vendor sees the revenue; the operator refunds half and sees a balanced ledger
    rev = client.get("/api/v1/billing/vendor/revenue", headers=vendor).json()
    assert rev["this_month"][0]["gross"] == 1000 and rev["installs"][0]["active"] == 1
    charge_id = client.get("/api/v1/billing/ledger", headers=OP).json()["recent"][0]["id"]
    r = client.post(f"/api/v1/billing/charges/{charge_id}/reversals", headers=OP, json={"amount": 500})
    assert r.status_code == 201 and r.json()["vendor"] == 500
    assert client.post(f"/api/v1/billing/charges/{charge_id}/reversals", headers=OP,
                       json={"amount": 501}).status_code == 409
    led = client.get("/api/v1/billing/ledger", headers=OP).json()
    assert led["balanced"] is True and led["totals"] == {"EUR": 0}
    assert client.get("/api/v1/billing/ledger", headers=vendor).status_code == 401
    assert client.delete("/api/v1/billing/subscriptions/labels", headers=shop).json()["status"] == "cancelled"


def test_operator_policy_statements_and_payout_run(market: Marketplace, seed: Any) -> None:
    client, shop, vendor = _setup(market, seed)
    assert client.get("/api/v1/billing/policy").json()["rate_above_bp"] == 8500
    assert client.put("/api/v1/billing/policy", json={"rate_above_bp": 8000}).status_code == 401
    assert client.put("/api/v1/billing/policy", headers=OP, json={"rate_above_bp": 10001}).status_code == 422
    r = client.put("/api/v1/billing/policy", headers=OP, json={"threshold": 0, "rate_above_bp": 8000})
    assert r.json() == {"currency": "EUR", "threshold": 0, "rate_below_bp": 10000, "rate_above_bp": 8000}
    client.post("/api/v1/billing/subscriptions", headers=shop, json={"plugin": "labels"})
    month = client.get("/api/v1/billing/me", headers=shop).json()["month"]
    st = client.get(f"/api/v1/billing/statements/{month}", headers=OP).json()["statements"]
    assert [(s["vendor"], s["gross"], s["share"], s["net"]) for s in st] == [("acme", 1000, 800, 800)]
    assert "acme" in client.get(f"/api/v1/billing/statements/{month}?format=csv", headers=OP).text
    # this month is not over: no payout yet
    assert client.post("/api/v1/billing/payout-runs", headers=OP, json={"month": month}).status_code == 422
    y, m = (int(x) for x in month.split("-"))
    later = f"{y + (m == 12)}-{m % 12 + 1:02d}-03"
    first = client.post("/api/v1/billing/payout-runs", headers=OP, json={"month": month, "date": later})
    again = client.post("/api/v1/billing/payout-runs", headers=OP, json={"month": month, "date": later})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["totals"] == {"EUR": 800} and again.json()["replay"] is True
    stmt = client.get(f"/api/v1/billing/vendor/statements/{month}", headers=vendor).json()
    assert stmt["statements"][0]["status"] == "paid" and stmt["statements"][0]["payout"] == 800
    assert "8.00 EUR" in client.get(f"/api/v1/billing/vendor/statements/{month}?format=html", headers=vendor).text


def test_pages_ask_for_a_token_in_a_form(market: Marketplace, seed: Any) -> None:
    client, shop, vendor = _setup(market, seed)
    client.post("/api/v1/billing/subscriptions", headers=shop, json={"plugin": "labels"})
    assert "password" in client.get("/billing/operator").text
    page = client.post("/billing/operator", data={"token": "op-secret"})
    assert page.status_code == 200 and "Balanced" in page.text and "85.0%" in page.text
    assert client.post("/billing/operator", data={"token": "nope"}).status_code == 401
    page = client.post("/billing/vendor", data={"token": vendor["Authorization"][7:]})
    assert page.status_code == 200 and "labels" in page.text
    page = client.post("/billing/merchant", data={"token": shop["Authorization"][7:]})
    assert page.status_code == 200 and "10.00 EUR / month" in page.text
