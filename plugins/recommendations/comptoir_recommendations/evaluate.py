"""Offline evaluation: a time-ordered hold-out, Recall@k and NDCG@k per model.

Every line before the cut-off trains; for customers who bought before and after it,
the products they bought after it for the first time are the targets. Each model ranks
the whole catalog for those customers (what they already bought masked), exactly as
"for you" serving does, and is compared with popularity.

Recall@k is normalised by ``min(k, |targets|)`` (Steck 2019; Liang et al. 2018) so that
a perfect ranking scores 1.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Callable, Iterable

import numpy as np
import scipy.sparse as sp

from comptoir_recommendations.interactions import Catalog, ItemIndex, Lines, user_item_matrix
from comptoir_recommendations.models import table_to_csr
from comptoir_recommendations.training import TrainConfig, Trained, fit

EVAL_MODELS = ("popularity", "knn-cosine", "rp3beta", "ease")  # "trending" also accepted


@dataclass(frozen=True)
class Split:
    train: Lines
    users: np.ndarray  # customer ids evaluated
    history: sp.csr_matrix  # users × items (train purchases), in the train index
    targets: sp.csr_matrix  # users × items (new purchases after the cut-off)
    index: ItemIndex
    cutoff: float


@dataclass(frozen=True)
class Score:
    model: str
    recall: float
    ndcg: float
    users: int
    train_seconds: float


def time_split(lines: Lines, catalog: Catalog, *, test_fraction: float = 0.2, max_users: int = 5_000,
               seed: int = 0, per_user: bool = False) -> Split:
    """Cut at the ``1 - test_fraction`` quantile of sale times; see the module doc.

    ``per_user`` holds out each customer's own latest ``test_fraction`` of lines instead
    (for logs such as MovieLens where customers are active in short, disjoint periods,
    so that a global cut leaves almost nobody on both sides).
    """
    if per_user:
        order = np.lexsort((lines.ts, lines.customer_id))
        cust = lines.customer_id[order]
        start = np.searchsorted(cust, cust, side="left")
        size = np.searchsorted(cust, cust, side="right") - start
        rank = np.arange(cust.shape[0]) - start
        is_train = np.empty(cust.shape[0], bool)
        is_train[order] = rank < np.ceil(size * (1.0 - test_fraction))
        cutoff = float(lines.ts[is_train].max()) if is_train.any() else float(lines.ts.min())
    else:
        cutoff = float(np.quantile(lines.ts, 1.0 - test_fraction))
        is_train = lines.ts < cutoff
    train, test = lines.take(is_train), lines.take(~is_train)
    index = ItemIndex.build(train, catalog)
    x, users = user_item_matrix(train, index)
    test = test.take(np.isin(test.customer_id, users) & (index.positions(test.product_id) >= 0))
    rows = np.searchsorted(users, test.customer_id)
    y = sp.csr_matrix((np.ones(len(test), np.float32), (rows, index.positions(test.product_id))),
                      shape=x.shape)
    y.sum_duplicates()
    y = y - y.multiply(x)  # only products new to the customer count
    y.eliminate_zeros()
    keep = np.flatnonzero(np.diff(y.indptr) > 0)
    if keep.shape[0] > max_users:
        keep = np.sort(np.random.default_rng(seed).choice(keep, max_users, replace=False))
    return Split(train, users[keep], x[keep], y[keep].tocsr(), index, cutoff)


def rank_top_k(scores: np.ndarray, seen: sp.csr_matrix, k: int) -> np.ndarray:
    """Top-``k`` columns of each row, best first, after masking ``seen`` (in place)."""
    rows = np.repeat(np.arange(seen.shape[0]), np.diff(seen.indptr))
    scores[rows, seen.indices] = -np.inf
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def metrics(top: np.ndarray, targets: sp.csr_matrix, k: int) -> tuple[float, float]:
    """Mean Recall@k (normalised) and NDCG@k over rows."""
    hits = np.asarray(targets[np.arange(top.shape[0])[:, None], top].todense()) > 0
    n_t = np.diff(targets.indptr)
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = (hits * disc[: top.shape[1]]).sum(axis=1)
    idcg = np.cumsum(disc)[np.minimum(n_t, k) - 1]
    recall = hits.sum(axis=1) / np.minimum(n_t, k)
    return float(recall.mean()), float((dcg / idcg).mean())


def scorer(model: Trained, name: str) -> Callable[[sp.csr_matrix], np.ndarray]:
    """Batch scorer ``history (b × n) → scores (b × n)`` for one trained model."""
    a = model.arrays
    n = a["items"].shape[0]
    if name in ("popularity", "trending"):
        vec = a["popular" if name == "popularity" else "trending"]
        return lambda h: np.tile(vec, (h.shape[0], 1)).astype(np.float32)
    if name == "ease":
        cols = a["ease_items"]
        b = a["ease_B"]

        def ease_scores(h: sp.csr_matrix) -> np.ndarray:
            out = np.full((h.shape[0], n), -np.inf, np.float32)
            out[:, cols] = h[:, cols] @ b
            return out
        return ease_scores
    table = table_to_csr(a["knn_idx"], a["knn_sim"], n)
    return lambda h: np.asarray((h @ table).todense(), dtype=np.float32)


def evaluate(lines: Lines, catalog: Catalog, cfg: TrainConfig = TrainConfig(), *,
             models: Iterable[str] = EVAL_MODELS, k: int = 20, test_fraction: float = 0.2,
             max_users: int = 5_000, batch: int = 512, per_user: bool = False) -> list[Score]:
    """Train each model on the past, score it on the future. One row per model."""
    split = time_split(lines, catalog, test_fraction=test_fraction, max_users=max_users, per_user=per_user)
    out = []
    for name in models:
        t0 = time.perf_counter()
        if name == "knn-cosine":
            trained = fit(split.train, catalog, replace(cfg, similarity="cosine"), now=split.cutoff,
                          models_wanted=("knn",))
            key = "knn"
        elif name == "rp3beta":
            trained = fit(split.train, catalog, replace(cfg, similarity="rp3beta"), now=split.cutoff,
                          models_wanted=("knn",))
            key = "knn"
        elif name == "ease":
            trained = fit(split.train, catalog, cfg, now=split.cutoff, models_wanted=("ease",))
            if not trained.has("ease_B"):
                continue  # catalog too large for EASE with this config
            key = "ease"
        else:
            trained = fit(split.train, catalog, cfg, now=split.cutoff, models_wanted=())
            key = name
        seconds = time.perf_counter() - t0
        score = scorer(trained, key)
        recalls, ndcgs, sizes = [], [], []
        for start in range(0, split.users.shape[0], batch):
            h = split.history[start:start + batch]
            top = rank_top_k(score(h), h, k)
            r, g = metrics(top, split.targets[start:start + batch], k)
            recalls.append(r)
            ndcgs.append(g)
            sizes.append(h.shape[0])
        w = np.asarray(sizes, float)
        out.append(Score(name, float(np.dot(recalls, w) / w.sum()) if sizes else 0.0,
                         float(np.dot(ndcgs, w) / w.sum()) if sizes else 0.0,
                         int(split.users.shape[0]), round(seconds, 3)))
    return out


def format_scores(scores: list[Score], k: int = 20) -> list[list[str]]:
    """Table rows: model, Recall@k, NDCG@k, lift over popularity, users, training time."""
    base = next((s.recall for s in scores if s.model == "popularity"), 0.0)
    rows = []
    for s in scores:
        lift = f"{s.recall / base:.2f}x" if base > 0 else "-"
        rows.append([s.model, f"{s.recall:.4f}", f"{s.ndcg:.4f}", lift, str(s.users), f"{s.train_seconds:.2f}s"])
    return rows
