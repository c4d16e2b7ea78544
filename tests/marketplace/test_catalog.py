"""Catalog: search, categories, compatibility, installs and reviews, web pages."""
from __future__ import annotations

import pytest

from comptoir.marketplace.models import Plugin, Vendor
from comptoir.marketplace.search import Doc, SearchIndex

pytestmark = pytest.mark.xdist_group("marketplace")  # one worker builds the release wheels once


def _seed(market, rows) -> None:  # type: ignore[no-untyped-def]
    with market.factory() as s, s.begin():
        v = Vendor(name="seed", token_hash="x" * 64)
        s.add(v)
        s.flush()
        for pid, name, cat, summary, api, installs in rows:
            s.add(Plugin(id=pid, vendor_id=v.id, dist_name=f"comptoir-{pid}", name=name, category=cat, summary=summary,
                         latest_version="1.0.0", kernel_api=api, install_count=installs,
                         pricing={"model": "recurring", "price": 990, "currency": "EUR", "interval": "month"}))
    market.reindex()


ROWS = [
    ("colissimo-pro", "Colissimo Pro", "shipping", "Labels and relay points", ">=1.0,<2", 30),
    ("colis-express", "Colis Express", "shipping", "Next-day parcels", ">=1.0,<2", 80),
    ("stripe-pay", "Stripe payments", "payments", "Cards and wallets", ">=1.0,<2", 500),
    ("old-carrier", "Old carrier", "shipping", "Parcels for the old kernel", ">=0.1,<1", 5),
]


def test_search_prefix_and_ranking(client, market) -> None:  # type: ignore[no-untyped-def]
    _seed(market, ROWS)
    r = client.get("/api/v1/plugins", params={"q": "colis"}).json()
    assert [x["id"] for x in r["results"]] == ["colis-express", "colissimo-pro"]  # exact token first
    r = client.get("/api/v1/plugins", params={"q": "parcels"}).json()
    assert [x["id"] for x in r["results"]] == ["colis-express", "old-carrier"]  # then by installs
    assert client.get("/api/v1/plugins", params={"q": "colis relay"}).json()["total"] == 1
    assert client.get("/api/v1/plugins", params={"q": "nothing-like-it"}).json()["total"] == 0


def test_category_and_kernel_compatibility(client, market) -> None:  # type: ignore[no-untyped-def]
    _seed(market, ROWS)
    r = client.get("/api/v1/plugins", params={"category": "shipping", "kernel": "1.0.0"}).json()
    assert sorted(x["id"] for x in r["results"]) == ["colis-express", "colissimo-pro"]
    assert all(x["compatible"] for x in r["results"])
    cats = {c["id"]: c["listings"] for c in client.get("/api/v1/categories").json()}
    assert cats["shipping"] == 3 and cats["payments"] == 1 and cats["social"] == 0
    assert client.get("/api/v1/plugins", params={"category": "nope"}).status_code == 422


def test_index_pagination_and_removal() -> None:
    idx = SearchIndex()
    for i in range(30):
        idx.put(Doc(f"p{i:02d}", f"Widget {i}", "v", "widgets", "a dashboard widget", "", installs=i))
    assert idx.search("widget")[:3] == ["p29", "p28", "p27"]
    idx.remove("p29")
    assert "p29" not in idx.search("widget") and len(idx.search("")) == 29


def test_only_installers_review(client, market, releases, vendor_key, register_vendor, upload_release) -> None:  # type: ignore[no-untyped-def]
    token = register_vendor(vendor_key)
    upload_release(token, *releases["1.0.0"])
    pid = releases["id"]
    r = client.post(f"/api/v1/plugins/{pid}/reviews", json={"receipt": "made-up", "rating": 5})
    assert r.status_code == 401
    receipt = client.post(f"/api/v1/plugins/{pid}/installs", json={"version": "1.0.0", "shop_id": "shop-1"}).json()
    r = client.post(f"/api/v1/plugins/{pid}/reviews", json={"receipt": receipt["receipt"], "rating": 4, "text": "Good"})
    assert r.status_code == 201
    assert client.post(f"/api/v1/plugins/{pid}/reviews",
                       json={"receipt": receipt["receipt"], "rating": 1}).status_code == 409
    listing = client.get(f"/api/v1/plugins/{pid}").json()
    assert (listing["installs"], listing["rating"], listing["reviews"][0]["text"]) == (1, 4.0, "Good")
    assert listing["pricing"]["model"] == "free"
    dash = client.get("/api/v1/vendors/me/dashboard", headers={"Authorization": f"Bearer {token}"}).json()
    assert dash["plugins"][0]["installs"] == 1 and dash["reviews"][0]["rating"] == 4


def test_web_pages(client, market, releases, vendor_key, register_vendor, upload_release) -> None:  # type: ignore[no-untyped-def]
    _seed(market, ROWS[:1])
    token = register_vendor(vendor_key)
    upload_release(token, *releases["1.0.0"])
    home = client.get("/", params={"q": "colissimo"}).text
    assert "Colissimo Pro" in home and "9.90 EUR / month" in home  # the pricing plan is shown
    page = client.get(f"/plugins/{releases['id']}").text
    assert "Free" in page and f"comptoir plugins install {releases['id']}" in page
    assert client.post("/dashboard", data={"token": "wrong"}).status_code == 401
    dash = client.post("/dashboard", data={"token": token}).text
    assert releases["id"] in dash and "live" in dash
