"""Orders placed per second through the checkout service, single process.

Catalog of 10,000 products (one variant each, stock in one warehouse), the default
plugins (flat-rate shipping, manual payment) enabled, journal on. Each order: a new
cart with 1-3 lines, ranked shipping quotes, payment methods, placement (two
transactions: reservation, then order + lines + payment + outbox event).

    .venv/bin/python bench/bench_checkout.py [--orders 2000] [--db sqlite,postgres]
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select  # noqa: E402

from bench.common import database  # noqa: E402
from comptoir.kernel.db import make_engine, transaction, write_conn  # noqa: E402,F401
from comptoir.kernel.domain import Location, Product, StockLevel, Variant  # noqa: E402
from comptoir.kernel.migrate import upgrade  # noqa: E402
from comptoir.kernel.runtime import Kernel  # noqa: E402
from comptoir.kernel.services.carts import add_item, create_cart  # noqa: E402
from comptoir.kernel.services.checkout import CheckoutRequest, checkout_service  # noqa: E402
from comptoir.kernel.settings import Settings  # noqa: E402
from comptoir.kernel.types import Address  # noqa: E402

ADDRESS = Address(name="Bench", line1="1 rue", postal_code="75001", city="Paris", country="FR")
PRODUCTS = 10_000


def seed(kernel: Kernel) -> list[str]:
    with transaction(kernel.factory) as s:
        loc = s.execute(insert(Location).values(code="WH", name="WH", kind="warehouse", city="", country="FR",
                                                priority=1, ships_online=True).returning(Location.id)).scalar_one()
        s.execute(insert(Product), [{"slug": f"p-{i}", "title": f"Product {i}", "description": "", "attributes": {},
                                     "active": True, "created_at": __import__("datetime").datetime.now()}
                                    for i in range(PRODUCTS)])
        pids = list(s.scalars(select(Product.id)))
        s.execute(insert(Variant), [{"product_id": pid, "sku": f"SKU-{pid}", "title": "", "price_amount": 500 + pid % 4000,
                                     "currency": "EUR", "weight_grams": 300, "attributes": {}} for pid in pids])
        vids = list(s.scalars(select(Variant.id)))
        s.execute(insert(StockLevel), [{"variant_id": v, "location_id": loc, "on_hand": 1_000_000, "reserved": 0,
                                        "low_threshold": 0} for v in vids])
    return [f"SKU-{pid}" for pid in pids]


def run(kind: str, orders: int) -> float:
    with database(kind) as url, tempfile.TemporaryDirectory() as home:
        engine = make_engine(url)
        upgrade(engine)
        kernel = Kernel(Settings(home=Path(home), database_url=url), engine=engine).boot()
        skus = seed(kernel)
        svc = checkout_service(kernel)
        rng = random.Random(1)

        phases = {"cart": 0.0, "quotes": 0.0, "methods": 0.0, "place": 0.0}

        def one() -> None:
            t0 = time.perf_counter()
            with write_conn(kernel.engine) as c:  # the storefront's cart path
                cart = create_cart(c, "EUR")
                for sku in rng.sample(skus, rng.randint(1, 3)):
                    add_item(c, cart, sku=sku, quantity=1)
                token = cart.token
            t1 = time.perf_counter()
            quote = svc.shipping_quotes(token, ADDRESS)[0]
            t2 = time.perf_counter()
            method = svc.payment_methods(token)[0]
            t3 = time.perf_counter()
            svc.place(CheckoutRequest(cart_token=token, email="b@example.com", address=ADDRESS,
                                      shipping_quote_id=quote.id, payment_method_id=method.id))
            t4 = time.perf_counter()
            for k, dt in zip(phases, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
                phases[k] += dt

        for _ in range(50):  # warm up
            one()
        phases.update({k: 0.0 for k in phases})
        rates = []
        for _ in range(3):
            t0 = time.perf_counter()
            for _ in range(orders // 3):
                one()
            rates.append((orders // 3) / (time.perf_counter() - t0))
        kernel.close()
        rates.sort()
        n = 3 * (orders // 3)
        split = ", ".join(f"{k} {v / n * 1000:.2f} ms" for k, v in phases.items())
        print(f"{kind:9s} orders/s (median of 3 rounds of {orders // 3}): {rates[1]:7.1f}   "
              f"[min {rates[0]:.1f}, max {rates[2]:.1f}]  catalog {PRODUCTS} products; per order: {split}")
        return rates[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=1500)
    ap.add_argument("--db", default="sqlite,postgres")
    args = ap.parse_args()
    for kind in args.db.split(","):
        run(kind, args.orders)


if __name__ == "__main__":
    main()
