"""The catalog listing SQL on both databases: filters, sorting, pages, stock per store, and
"price from" over the variants still sold."""
from __future__ import annotations

import random
from pathlib import Path

from sqlalchemy import select

from comptoir.kernel import demo
from comptoir.kernel.db import read_only, transaction
from comptoir.kernel.domain import Location, Variant
from comptoir.kernel.services.catalog import VariantInput, create_product, update_variant
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


def test_price_from_counts_only_variants_still_sold(tmp_path: Path, db_url: str) -> None:
    k = build_kernel(tmp_path, db_url).boot()
    try:
        with transaction(k.factory) as s:
            mug = create_product(s, "Mug", [VariantInput("MUG-10", 1000), VariantInput("MUG-5", 500,
                                                                                       attributes={"colour": "red"})])
            gone = create_product(s, "Gone", [VariantInput("GONE-1", 700), VariantInput("GONE-2", 300)])
            mug_id, gone_id = mug.id, gone.id
            ids = {v.sku: v.id for v in s.scalars(select(Variant))}

        def listed(**kw: object) -> dict[int, dict[str, object]]:
            with read_only(k.factory) as s:
                return {p["id"]: p for p in list_products(s, limit=100, **kw).items}  # type: ignore[arg-type]

        assert listed()[mug_id]["price_from"] == {"amount": 500, "currency": "EUR"}
        with transaction(k.factory) as s:
            for sku in ("MUG-5", "GONE-1", "GONE-2"):
                update_variant(s, ids[sku], active=False)
        shop = listed()
        assert shop[mug_id]["price_from"] == {"amount": 1000, "currency": "EUR"}
        assert gone_id not in shop and len(shop) == 1
        assert mug_id not in listed(max_price=600)
        with read_only(k.factory) as s:
            assert list_products(s).total == 1 and summaries(s, [gone_id, mug_id])[0]["id"] == mug_id
        staff = listed(include_inactive=True)
        assert staff[gone_id]["price_from"] is None  # staff still find it, with no price to show
        assert staff[mug_id]["price_from"] == {"amount": 1000, "currency": "EUR"}

        with transaction(k.factory) as s:
            update_variant(s, ids["MUG-5"], active=True)
        assert listed()[mug_id]["price_from"] == {"amount": 500, "currency": "EUR"}
    finally:
        k.close()


def test_stock_and_sku_search_count_only_variants_still_sold(tmp_path: Path, db_url: str) -> None:
    """Units of a retired variant are not 'available' to shoppers, nor does its SKU find the
    product in the shop; staff still find it by SKU."""
    from comptoir.kernel.services import stock
    from comptoir.kernel.services.catalog import ensure_location

    k = build_kernel(tmp_path, db_url).boot()
    try:
        with transaction(k.factory) as s:
            loc = ensure_location(s, "WH", "Warehouse", priority=1)
            cup = create_product(s, "Cup", [VariantInput("CUP-S", 900), VariantInput("CUP-XL", 1200)])
            ids = {v.sku: v.id for v in s.scalars(select(Variant))}
            stock.receive(s, ids["CUP-S"], loc.id or 0, 2)
            stock.receive(s, ids["CUP-XL"], loc.id or 0, 5)
            cup_id = cup.id

        def page(**kw: object) -> dict[int, dict[str, object]]:
            with read_only(k.factory) as s:
                return {p["id"]: p for p in list_products(s, limit=100, **kw).items}  # type: ignore[arg-type]

        assert page()[cup_id]["available"] == 7 and cup_id in page(q="cup-xl")
        with transaction(k.factory) as s:
            update_variant(s, ids["CUP-XL"], active=False)
        assert page()[cup_id]["available"] == 2
        assert cup_id not in page(q="cup-xl") and cup_id in page(q="cup-s")
        assert cup_id in page(q="cup-xl", include_inactive=True)
        with transaction(k.factory) as s:
            stock.remove(s, ids["CUP-S"], loc.id or 0, 2)
        assert cup_id not in page(in_stock=True)  # five XL left, none of them for sale
    finally:
        k.close()
