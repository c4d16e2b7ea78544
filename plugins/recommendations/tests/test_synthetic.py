"""The synthetic shop has the structure the models are meant to exploit."""
from __future__ import annotations

import numpy as np

from comptoir_recommendations.interactions import Catalog, Lines
from comptoir_recommendations.synthetic import ShopSpec, generate


def test_deterministic_per_seed() -> None:
    a, _ = generate(ShopSpec(customers=200, items=100, seed=7))
    b, _ = generate(ShopSpec(customers=200, items=100, seed=7))
    c, _ = generate(ShopSpec(customers=200, items=100, seed=8))
    assert np.array_equal(a.product_id, b.product_id) and not np.array_equal(a.product_id, c.product_id)


def test_long_tail_baskets_repeats_and_affinity(shop: tuple[Lines, Catalog]) -> None:
    lines, catalog = shop
    sales = np.sort(np.bincount(lines.product_id))[::-1]
    top_decile = sales[: len(sales) // 10].sum() / sales.sum()
    assert top_decile > 0.3  # long tail: the top 10% of products make a large share of sales
    per_order = np.bincount(np.unique(lines.order_id, return_inverse=True)[1])
    assert 1.5 < per_order.mean() < 2.2 and per_order.max() >= 4  # baskets
    pairs = np.unique(np.stack([lines.customer_id, lines.product_id]), axis=1).shape[1]
    assert pairs < 0.97 * len(lines)  # repeat purchases of the same product
    # category affinity: a customer's lines concentrate in few categories
    cats = catalog.category_id[lines.product_id - 1]
    share = []
    for cust in range(1, 300):
        c = cats[lines.customer_id == cust]
        if len(c) >= 6:
            share.append(np.bincount(c).max() / len(c))
    assert np.mean(share) > 0.3
    assert (np.diff(lines.ts[np.argsort(lines.order_id)]) >= 0).all()  # order ids follow time
    assert lines.total.dtype == np.int64 and (lines.total > 0).all()  # money in minor units
