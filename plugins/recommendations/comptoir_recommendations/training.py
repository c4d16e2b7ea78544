"""Training: order lines in, a dict of named arrays out (what the artifact store saves).

``fit`` does no I/O, so the evaluation trains exactly what serving will load.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Mapping

import numpy as np

from comptoir_recommendations import models
from comptoir_recommendations.interactions import (
    Catalog, ItemIndex, Lines, basket_item_matrix, user_item_matrix,
)

MODEL_NAMES = ("popularity", "trending", "knn", "basket", "ease", "history")


@dataclass(frozen=True)
class TrainConfig:
    """Model settings; the plugin builds one from its settings (same names)."""

    similarity: str = "cosine"  # cosine | rp3beta
    neighbours: int = 50
    ease_max_items: int = 10_000
    ease_lambda: float = 100.0
    popularity_half_life_days: float = 60.0
    trending_half_life_days: float = 7.0
    rp3_alpha: float = 1.0
    rp3_beta: float = 0.2
    cosine_shrink: float = 10.0
    models: tuple[str, ...] = MODEL_NAMES

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> "TrainConfig":
        """Pick the known keys out of a plugin's settings; unknown keys are ignored."""
        known = {f for f in cls.__dataclass_fields__}
        kw: dict[str, Any] = {}
        for key, value in settings.items():
            if key in known and value is not None and key != "models":
                kw[key] = type(getattr(cls(), key))(value)
        return cls(**kw)


@dataclass
class Trained:
    """Arrays by name plus a JSON-able summary."""

    arrays: dict[str, np.ndarray]
    meta: dict[str, Any] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        return name in self.arrays


def fit(lines: Lines, catalog: Catalog, cfg: TrainConfig = TrainConfig(), *, now: float | None = None,
        models_wanted: Iterable[str] | None = None) -> Trained:
    """Train every wanted model on ``lines``. ``now`` anchors the time decay (default:
    the latest sale)."""
    wanted = set(cfg.models if models_wanted is None else models_wanted)
    t0 = time.perf_counter()
    index = ItemIndex.build(lines, catalog)
    n = len(index)
    now = float(now if now is not None else (lines.ts.max() if len(lines) else time.time()))
    pos = index.positions(lines.product_id)
    arrays: dict[str, np.ndarray] = {"items": index.items, "item_cat": index.category}
    timings: dict[str, float] = {}
    meta: dict[str, Any] = {"config": asdict(cfg), "lines": len(lines), "items": n, "now": now}

    def timed(name: str, fn: Any) -> None:
        t = time.perf_counter()
        fn()
        timings[name] = round(time.perf_counter() - t, 3)

    def popularity() -> None:
        arrays["popular"] = models.decayed_popularity(pos, lines.ts, n, now=now,
                                                      half_life_days=cfg.popularity_half_life_days)

    def trending() -> None:
        arrays["trending"] = models.decayed_popularity(pos, lines.ts, n, now=now,
                                                       half_life_days=cfg.trending_half_life_days)

    timed("popularity", popularity)
    timed("trending", trending)
    # serving order, computed once here so a web worker maps a new model in O(1)
    for name in ("popular", "trending"):
        arrays[f"{name}_order"] = np.argsort(-arrays[name], kind="stable").astype(np.int64)
        arrays[f"{name}_cat_order"] = np.lexsort((-arrays[name], index.category)).astype(np.int64)
    x, users = user_item_matrix(lines, index)
    meta["customers"] = int(users.shape[0])

    if "history" in wanted:
        # registered customers only (guests are negative ids): what "for you" starts from
        reg = users > 0
        xr = x[reg]
        arrays["users"] = users[reg]
        arrays["hist_indptr"] = xr.indptr.astype(np.int64)
        arrays["hist_items"] = xr.indices.astype(np.int32)

    if "knn" in wanted:
        def knn() -> None:
            if cfg.similarity == "cosine":
                sim = models.cosine_similarity(x, shrink=cfg.cosine_shrink)
            else:
                sim = models.rp3beta_similarity(x, alpha=cfg.rp3_alpha, beta=cfg.rp3_beta)
            arrays["knn_idx"], arrays["knn_sim"] = models.top_k_table(sim, cfg.neighbours)
        timed("knn", knn)

    if "basket" in wanted:
        def basket() -> None:
            b = basket_item_matrix(lines, index)
            sim = models.cosine_similarity(b, shrink=cfg.cosine_shrink)
            arrays["bt_idx"], arrays["bt_sim"] = models.top_k_table(sim, cfg.neighbours)
        timed("basket", basket)

    if "ease" in wanted:
        active = np.flatnonzero(np.diff(x.tocsc().indptr) > 0).astype(np.int32)
        if 0 < active.shape[0] <= cfg.ease_max_items:
            def ease() -> None:
                arrays["ease_items"] = active
                arrays["ease_B"] = models.ease(x[:, active], cfg.ease_lambda)
            timed("ease", ease)
        else:
            meta["ease_skipped"] = (f"{active.shape[0]} active items, above ease_max_items="
                                    f"{cfg.ease_max_items}" if active.shape[0] else "no sales yet")
    meta["seconds"] = timings
    meta["total_seconds"] = round(time.perf_counter() - t0, 3)
    meta["models"] = sorted(k for k in ("popular", "trending", "knn_idx", "bt_idx", "ease_B") if k in arrays)
    return Trained(arrays, meta)
