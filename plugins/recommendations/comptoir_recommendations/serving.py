"""Serving: one loaded model version answers recommendation requests.

Every answer is one table lookup (kNN) or one vector-matrix product (EASE: the sum of
the history's rows of ``B``), then masking (already bought, asked-about products,
out of stock, excluded), boosts, and an ``argpartition`` top-k. Popular and trending
lists are pre-sorted at load, per category too, so cold start is a slice and a mask.

``Filters`` holds the per-item masks (stock, exclusions, boosts) computed once per
stock snapshot or rules change, not per request.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

import numpy as np

from comptoir_recommendations.artifacts import LoadedModel
from comptoir_recommendations.rules import Rules

Engine = Literal["auto", "ease", "knn"]


@dataclass(frozen=True)
class Filters:
    """What may be shown: ``ok`` (in stock and not excluded) and the boost vector."""

    ok: np.ndarray  # bool (n,)
    boost: np.ndarray | None  # float32 (n,) or None when no product is boosted
    ok_ease: np.ndarray | None  # ok restricted to the EASE columns


@dataclass(frozen=True)
class Ranked:
    positions: np.ndarray  # int64 item positions, best first
    scores: np.ndarray  # float32, non-increasing


def member(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.isin(a, b)`` tuned for the request path, where ``b`` is a handful of items
    (np.isin may pick a lookup table as large as the id range: slow for two ids)."""
    if b.shape[0] == 0:
        return np.zeros(a.shape[0], bool)
    if b.shape[0] <= 16:
        return (a[:, None] == b[None, :]).any(axis=1)
    return np.isin(a, b, kind="sort")


def top_k(cand: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best (candidate, score) pairs, best first; -inf scores never make it."""
    valid = np.isfinite(scores)
    if not valid.all():
        cand, scores = cand[valid], scores[valid]
    if scores.shape[0] > k:
        part = np.argpartition(-scores, k - 1)[:k]
        cand, scores = cand[part], scores[part]
    order = np.argsort(-scores, kind="stable")
    return cand[order], scores[order]


class Recommender:
    """Read-only view over one model version's (memory-mapped) arrays."""

    def __init__(self, model: LoadedModel) -> None:
        # plain ndarray views of the maps: same shared pages, without np.memmap's
        # Python-level __getitem__ on every index
        a = {name: np.asarray(arr) for name, arr in model.arrays.items()}
        self.model = model
        self.version = model.version
        self.items: np.ndarray = a["items"]
        self.n = int(self.items.shape[0])
        self.item_cat: np.ndarray = np.asarray(a["item_cat"])
        self.popular = np.asarray(a["popular"])
        self.trending = np.asarray(a["trending"])
        # best first; per category: positions grouped by category, best first inside each
        # (saved by training; computed here for models trained before they were)
        def saved(name: str, compute: Callable[[], np.ndarray]) -> np.ndarray:
            return a[name] if name in a else compute()

        self.pop_order = saved("popular_order", lambda: np.argsort(-self.popular, kind="stable"))
        self.trend_order = saved("trending_order", lambda: np.argsort(-self.trending, kind="stable"))
        self._cat_pop = saved("popular_cat_order", lambda: np.lexsort((-self.popular, self.item_cat)))
        self._cat_trend = saved("trending_cat_order", lambda: np.lexsort((-self.trending, self.item_cat)))
        self._cats_sorted = self.item_cat[self._cat_pop]
        self.knn = (a["knn_idx"], a["knn_sim"]) if "knn_idx" in a else None
        self.basket = (a["bt_idx"], a["bt_sim"]) if "bt_idx" in a else None
        self.users = a.get("users")
        self.hist_indptr = a.get("hist_indptr")
        self.hist_items = a.get("hist_items")
        self.active = np.asarray(a["item_active"], bool) if "item_active" in a else None
        self.ease_B = a.get("ease_B")
        self.ease_items = np.asarray(a["ease_items"], np.int64) if "ease_items" in a else None
        self.ease_pos = None
        if self.ease_items is not None:
            self.ease_pos = np.full(self.n, -1, np.int64)
            self.ease_pos[self.ease_items] = np.arange(self.ease_items.shape[0])

    # ---- lookups -------------------------------------------------------------------
    def positions(self, product_ids: tuple[int, ...] | np.ndarray) -> np.ndarray:
        """Positions of known products (unknown ids are dropped)."""
        ids = np.asarray(product_ids, np.int64)
        if ids.size == 0 or self.n == 0:
            return np.zeros(0, np.int64)
        pos = np.minimum(np.searchsorted(self.items, ids), self.n - 1)
        return pos[self.items[pos] == ids]

    def history(self, customer_id: int | None) -> np.ndarray:
        """Positions of what the customer bought (as of training)."""
        if customer_id is None or self.users is None or self.users.shape[0] == 0:
            return np.zeros(0, np.int64)
        u = int(np.searchsorted(self.users, customer_id))
        if u >= self.users.shape[0] or self.users[u] != customer_id:
            return np.zeros(0, np.int64)
        assert self.hist_indptr is not None and self.hist_items is not None
        return np.asarray(self.hist_items[self.hist_indptr[u]:self.hist_indptr[u + 1]], np.int64)

    def filters(self, available: np.ndarray | None, rules: Rules) -> Filters:
        """Masks for a stock snapshot (product ids, None = ignore stock) and rules."""
        ok = np.ones(self.n, bool) if self.active is None else self.active.copy()
        if available is not None:
            in_stock = np.zeros(self.n, bool)
            in_stock[self.positions(available)] = True
            ok &= in_stock
        if rules.exclude:
            ok[self.positions(np.fromiter(rules.exclude, np.int64))] = False
        boost = None
        if rules.boost:
            boost = np.ones(self.n, np.float32)
            ids = np.fromiter(rules.boost, np.int64)
            factors = np.fromiter(rules.boost.values(), np.float32)
            pos = np.minimum(np.searchsorted(self.items, ids), max(self.n - 1, 0))
            hit = self.items[pos] == ids if self.n else np.zeros(0, bool)
            boost[pos[hit]] = factors[hit]
        ok_ease = ok[self.ease_items] if self.ease_items is not None else None
        return Filters(ok, boost, ok_ease)

    # ---- scoring -------------------------------------------------------------------
    def _table(self, table: tuple[np.ndarray, np.ndarray], seeds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        idx = np.asarray(table[0][seeds]).ravel()
        sim = np.asarray(table[1][seeds]).ravel()
        keep = idx >= 0
        idx, sim = idx[keep], sim[keep]
        if seeds.shape[0] == 1:
            return idx.astype(np.int64), sim  # one row: already unique
        cand, inv = np.unique(idx, return_inverse=True)
        return cand.astype(np.int64), np.bincount(inv, weights=sim).astype(np.float32)

    def _ease(self, seeds: np.ndarray, f: Filters) -> tuple[np.ndarray, np.ndarray] | None:
        assert self.ease_pos is not None and self.ease_B is not None and self.ease_items is not None
        rows = self.ease_pos[seeds]
        rows = rows[rows >= 0]
        if rows.shape[0] == 0:
            return None
        scores = np.asarray(self.ease_B[rows[0]], np.float32).copy() if rows.shape[0] == 1 \
            else np.asarray(self.ease_B[np.sort(rows)], np.float32).sum(axis=0)
        assert f.ok_ease is not None
        scores[~f.ok_ease] = -np.inf
        return self.ease_items, scores

    def score(self, seeds: np.ndarray, f: Filters, *, engine: Engine, table: str = "knn") -> tuple[np.ndarray, np.ndarray] | None:
        """Candidates and raw scores given seed positions (history or viewed products)."""
        if seeds.shape[0] == 0:
            return None
        if table == "basket" and self.basket is not None:
            return self._table(self.basket, seeds)
        use_ease = self.ease_B is not None and engine in ("auto", "ease")
        if use_ease:
            got = self._ease(seeds, f)
            if got is not None:
                return got
        if self.knn is not None:
            return self._table(self.knn, seeds)
        return None

    def rank(self, cand: np.ndarray, scores: np.ndarray, k: int, f: Filters, blocked: np.ndarray) -> Ranked:
        """Mask, boost and take the top ``k`` of scored candidates."""
        keep = f.ok[cand]
        if blocked.shape[0]:
            keep &= ~member(cand, blocked)
        cand, scores = cand[keep], scores[keep]
        if f.boost is not None:
            b = f.boost[cand]
            # a multiplier must lift a positive score and sink a negative one the same way
            scores = np.where(scores >= 0, scores * b, scores / b).astype(np.float32)
        cand, scores = top_k(cand, scores, k)
        return Ranked(cand, scores)

    def ordered(self, which: str, k: int, f: Filters, blocked: np.ndarray, category: int | None = None) -> Ranked:
        """The first ``k`` showable items of the popular/trending list (optionally one category)."""
        vec = self.popular if which == "popular" else self.trending
        if category is None:
            order = self.pop_order if which == "popular" else self.trend_order
        else:
            lo, hi = np.searchsorted(self._cats_sorted, [category, category + 1])
            order = (self._cat_pop if which == "popular" else self._cat_trend)[lo:hi]
        picked: list[np.ndarray] = []
        got = 0
        step = 4 * k + 64
        for start in range(0, order.shape[0], step):
            chunk = order[start:start + step]
            chunk = chunk[f.ok[chunk]]
            if blocked.shape[0]:
                chunk = chunk[~member(chunk, blocked)]
            picked.append(chunk)
            got += chunk.shape[0]
            if got >= k:
                break
        pos = np.concatenate(picked)[:k] if picked else np.zeros(0, np.int64)
        scores = vec[pos].astype(np.float32)
        if f.boost is not None and pos.shape[0]:
            # boosts re-rank within the showable prefix of the list
            scores = scores * f.boost[pos]
            o = np.argsort(-scores, kind="stable")
            pos, scores = pos[o], scores[o]
        return Ranked(pos.astype(np.int64), scores)

    def category_of(self, seeds: np.ndarray) -> int | None:
        """The most common category among seeds (for category-aware cold start)."""
        if seeds.shape[0] == 0:
            return None
        if seeds.shape[0] == 1:
            c = int(self.item_cat[seeds[0]])
            return c if c >= 0 else None
        cats = self.item_cat[seeds]
        cats = cats[cats >= 0]
        if cats.shape[0] == 0:
            return None
        values, counts = np.unique(cats, return_counts=True)
        return int(values[np.argmax(counts)])
