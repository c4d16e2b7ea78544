"""Offline evaluation: metrics by hand, the split, and models beating popularity."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from comptoir_recommendations.evaluate import evaluate, format_scores, metrics, rank_top_k, time_split
from comptoir_recommendations.interactions import Catalog, Lines


def test_metrics_by_hand() -> None:
    # user 0 wants {1, 3}; ranked [3, 0, 1]: hits at ranks 1 and 3
    # user 1 wants {2};    ranked [0, 1, 4]: no hit
    targets = sp.csr_matrix(np.array([[0, 1, 0, 1, 0], [0, 0, 1, 0, 0]], np.float32))
    top = np.array([[3, 0, 1], [0, 1, 4]])
    recall, ndcg = metrics(top, targets, 3)
    assert recall == (2 / 2 + 0) / 2
    dcg = 1 + 1 / np.log2(4)
    idcg = 1 + 1 / np.log2(3)
    assert abs(ndcg - (dcg / idcg) / 2) < 1e-12


def test_rank_top_k_masks_seen() -> None:
    scores = np.array([[5.0, 4.0, 3.0, 2.0]], np.float32)
    seen = sp.csr_matrix(np.array([[1, 0, 1, 0]], np.float32))
    assert rank_top_k(scores, seen, 2).tolist() == [[1, 3]]


def test_split_is_time_ordered_and_targets_are_new(shop: tuple[Lines, Catalog]) -> None:
    lines, catalog = shop
    split = time_split(lines, catalog, test_fraction=0.2)
    assert split.train.ts.max() < split.cutoff
    assert split.users.shape[0] > 100
    assert split.history.multiply(split.targets).nnz == 0  # nothing already bought counts
    assert (np.diff(split.targets.indptr) > 0).all()


def test_every_model_beats_popularity_on_synthetic_data(shop: tuple[Lines, Catalog]) -> None:
    lines, catalog = shop
    scores = {s.model: s for s in evaluate(lines, catalog)}
    pop = scores["popularity"].recall
    for name in ("knn-cosine", "rp3beta", "ease"):
        assert scores[name].recall > 1.2 * pop, (name, scores[name].recall, pop)
        assert scores[name].ndcg > scores["popularity"].ndcg
    rows = format_scores(list(scores.values()))
    assert rows[0][0] == "popularity" and rows[0][3] == "1.00x"


def test_per_user_split_holds_out_each_customers_latest_lines(shop: tuple[Lines, Catalog]) -> None:
    lines, catalog = shop
    split = time_split(lines, catalog, test_fraction=0.25, per_user=True)
    # every customer keeps their earliest 75% (rounded up) for training
    for cust in np.unique(lines.customer_id)[:50].tolist():
        mine = np.sort(lines.ts[lines.customer_id == cust])
        kept = np.sort(split.train.ts[split.train.customer_id == cust])
        assert kept.shape[0] == int(np.ceil(mine.shape[0] * 0.75))
        np.testing.assert_array_equal(kept, mine[: kept.shape[0]])
