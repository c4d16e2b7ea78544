"""The catalog listing SQL on both databases: filters, sorting, pages, stock per store."""
from __future__ import annotations

import random
from pathlib import Path

from sqlalchemy import select

from comptoir.kernel import demo
from comptoir.kernel.db import read_only
from comptoir.kernel.domain import Location
from comptoir.kernel.web.api.admin_catalog import add_to_collection
from comptoir.kernel.web.queries import list_products, product_availability, summaries
from tests.conftest import build_kernel


def test_listing_on_each_database(tmp_path: Path, db_url: str) -> None:
    k = build_kernel(tmp_path, db_url).boot()
    try:
        demo.seed_catalog(k, products=15, rng=random.Random(5))
        add_to_collection(k, "Picks", [1, 2])
        with read_only(k.factory) as s:
            everything = list_products(s, limit=100)
            assert everything.total == 15 and len(everything.items) == 15
            titles = [p["title"] for p in everything.items]
            assert titles == sorted(titles)
            page2 = list_products(s, limit=4, offset=4)
            assert [p["id"] for p in page2.items] == [p["id"] for p in everything.items[4:8]]
            assert list_products(s, limit=4, offset=400).total == 15  # past the end still counts
            cheap = list_products(s, sort="price_asc", limit=100, max_price=1500)
            amounts = [p["price_from"]["amount"] for p in cheap.items]
            assert amounts == sorted(amounts) and all(a <= 1500 for a in amounts)
            assert {p["id"] for p in list_products(s, collection="picks").items} == {1, 2}
            store = s.scalar(select(Location.id).where(Location.code == "ST-LYON"))
            at_store = list_products(s, location_id=store, in_stock=True, limit=100)
            for p in at_store.items:
                per_loc = product_availability(s, p["id"])["locations"]
                here = sum(v["available"] for loc in per_loc if loc["location_id"] == store for v in loc["variants"])
                assert p["available"] == here > 0
            word = everything.items[0]["title"].split()[0].lower()
            assert list_products(s, q=word).total >= 1
            ranked = summaries(s, [3, 1, 2])
            assert [p["id"] for p in ranked] == [3, 1, 2]
    finally:
        k.close()
