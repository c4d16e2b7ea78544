"""A synthetic shop with the structure real order logs have, for tests and benchmarks.

- long-tail popularity: item appeal follows a Zipf law inside each category, and
  category sizes are skewed too;
- category affinities: each customer favours two or three categories;
- baskets: an order holds 1 + Poisson lines; extra lines are often a complement of the
  first (each product has companions in a related category: tent → sleeping bag);
- repeat purchases: a share of lines re-buy something the customer bought before;
- customers differ in frequency (gamma-Poisson orders), orders spread over a year.

All of it is vectorized: a million lines take about a second.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from comptoir_recommendations.interactions import Catalog, Lines

DAY = 86_400.0


@dataclass(frozen=True)
class ShopSpec:
    customers: int = 2_000
    items: int = 1_000
    categories: int = 50
    orders_per_customer: float = 4.0  # mean; gamma-distributed across customers
    lines_per_order: float = 1.8  # mean
    repeat_rate: float = 0.15  # share of lines that re-buy an earlier product
    complement_rate: float = 0.5  # share of extra basket lines that complement the first
    focus: float = 0.9  # share of a customer's picks inside their favourite categories
    zipf: float = 0.8
    days: int = 365
    seed: int = 0
    start: float = 1_700_000_000.0  # epoch seconds of the first day


def generate(spec: ShopSpec = ShopSpec()) -> tuple[Lines, Catalog]:
    """Order lines and catalog of a synthetic shop (deterministic for a given seed)."""
    rng = np.random.default_rng(spec.seed)
    n_items, n_cats = spec.items, spec.categories

    # catalog: skewed category sizes, Zipf appeal within each category
    cat_weight = 1.0 / np.arange(1, n_cats + 1) ** 0.7
    item_cat = rng.choice(n_cats, size=n_items, p=cat_weight / cat_weight.sum())
    item_cat[:n_cats] = np.arange(n_cats)  # every category has at least one product
    rank = rng.permutation(n_items) + 1
    appeal = 1.0 / rank ** spec.zipf
    by_cat = np.argsort(item_cat, kind="stable")
    cat_start = np.searchsorted(item_cat[by_cat], np.arange(n_cats + 1))
    # one global cumulative table: category c spans [c, c+1), so a draw is c + U(0,1)
    cum = np.empty(n_items)
    for c in range(n_cats):
        a, b = cat_start[c], cat_start[c + 1]
        w = appeal[by_cat[a:b]]
        cum[a:b] = c + np.cumsum(w) / w.sum()

    def draw(cats: np.ndarray) -> np.ndarray:
        pos = np.searchsorted(cum, cats + rng.random(cats.shape[0]))
        return by_cat[np.minimum(pos, n_items - 1)]

    # complements: each product has 2 companions drawn from a paired category
    pair = rng.permutation(n_cats)
    companions = draw(np.repeat(pair[item_cat], 2)).reshape(n_items, 2)

    # customers: favourite categories and how often they order
    favs = np.stack([rng.choice(n_cats, size=spec.customers, p=cat_weight / cat_weight.sum())
                     for _ in range(3)], axis=1)
    rate = rng.gamma(shape=1.2, scale=spec.orders_per_customer / 1.2, size=spec.customers)
    n_orders = 1 + rng.poisson(np.maximum(rate - 1.0, 0.05))

    # orders: a first date per customer, then exponential gaps
    o_cust = np.repeat(np.arange(spec.customers), n_orders)
    first = rng.uniform(0, spec.days * 0.9, spec.customers) * DAY
    gaps = rng.exponential(spec.days * DAY / (2.0 * n_orders[o_cust]))
    o_start = np.concatenate(([0], np.cumsum(n_orders)[:-1]))
    gaps[o_start] = 0.0
    csum = np.cumsum(gaps)
    o_ts = first[o_cust] + csum - np.repeat(csum[o_start], n_orders)
    o_ts = np.minimum(o_ts, spec.days * DAY - 1.0)

    # lines: the first line of each order from the customer's tastes, then extras
    n_lines = 1 + rng.poisson(spec.lines_per_order - 1.0, o_cust.shape[0])
    l_order = np.repeat(np.arange(o_cust.shape[0]), n_lines)
    l_cust = o_cust[l_order]
    in_fav = rng.random(l_order.shape[0]) < spec.focus
    cats = np.where(in_fav, favs[l_cust, rng.integers(0, 3, l_order.shape[0])],
                    rng.integers(0, n_cats, l_order.shape[0]))
    item = draw(cats)
    l_first = np.concatenate(([0], np.cumsum(n_lines)[:-1]))
    is_first = np.zeros(l_order.shape[0], bool)
    is_first[l_first] = True
    comp = (~is_first) & (rng.random(l_order.shape[0]) < spec.complement_rate)
    first_item = item[l_first][l_order]
    item = np.where(comp, companions[first_item, rng.integers(0, 2, l_order.shape[0])], item)

    # repeat purchases: re-buy one of the customer's earlier lines (lines are in time order
    # within a customer because orders are)
    c_start = np.searchsorted(l_cust, np.arange(spec.customers))
    offset = np.arange(l_order.shape[0]) - c_start[l_cust]
    rep = (offset > 0) & (rng.random(l_order.shape[0]) < spec.repeat_rate)
    earlier = c_start[l_cust] + np.floor(rng.random(l_order.shape[0]) * offset).astype(np.int64)
    item = np.where(rep, item[earlier], item)

    price = np.round(np.exp(rng.normal(7.5, 0.8, n_items))).astype(np.int64)  # minor units
    qty = (1 + rng.poisson(0.2, l_order.shape[0])).astype(np.int32)

    # order ids follow time, as a real shop's do
    chrono = np.argsort(o_ts, kind="stable")
    order_id = np.empty(o_cust.shape[0], np.int64)
    order_id[chrono] = np.arange(1, o_cust.shape[0] + 1)
    lines = Lines(
        order_id=order_id[l_order],
        customer_id=(l_cust + 1).astype(np.int64),
        product_id=(item + 1).astype(np.int64),
        quantity=qty,
        total=price[item] * qty,
        ts=spec.start + o_ts[l_order],
    )
    catalog = Catalog(np.arange(1, n_items + 1, dtype=np.int64), (item_cat + 1).astype(np.int64))
    return lines, catalog
