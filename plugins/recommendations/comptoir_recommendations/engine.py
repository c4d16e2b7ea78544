"""The engine a plugin context owns: the live model, rules and stock, and the request path.

It re-checks the model pointer and the rules file at most once a second (two ``stat``
calls), so a model trained by another process (the rq worker) or a rollback is picked
up by every web worker without a restart. The in-stock list comes from
``available_product_ids`` and is cached for ``stock_cache_seconds``.
"""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import numpy as np

from comptoir.sdk import RecoRequest, ScoredItem
from comptoir_recommendations.artifacts import ModelStore
from comptoir_recommendations.rules import RULES_FILE, Rules, load_rules
from comptoir_recommendations.serving import Filters, Ranked, Recommender, member

CHECK_EVERY_S = 1.0


class Engine:
    """Answers ``RecoRequest``s from the current model version in ``storage``."""

    def __init__(self, storage: Path, *, available: Callable[[], Iterable[int]] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.storage = Path(storage)
        self.store = ModelStore(self.storage / "models")
        self._available = available
        self._clock = clock
        self._lock = threading.Lock()
        self.reco: Recommender | None = None
        self.rules = Rules()
        self._model_stamp: tuple[int, int] | None = None
        self._rules_stamp: int | None = None
        self._checked = -1e18
        self._stock: np.ndarray | None = None
        self._stock_at = -1e18
        self._filters: Filters | None = None
        self._filters_key: tuple[Any, ...] = ()

    # ---- freshness -----------------------------------------------------------------
    def reload(self) -> None:
        """Load the current model and rules now (also on enable)."""
        self._checked = -1e18
        self._refresh()

    def invalidate_stock(self) -> None:
        self._stock_at = -1e18

    def _refresh(self) -> None:
        now = self._clock()
        if now - self._checked < CHECK_EVERY_S:
            return
        with self._lock:
            self._checked = now
            stamp = self.store.stamp()
            if stamp != self._model_stamp:
                model = self.store.load()
                self.reco = Recommender(model) if model is not None else None
                self._model_stamp = stamp
            try:
                rstamp: int | None = os.stat(self.storage / RULES_FILE).st_mtime_ns
            except FileNotFoundError:
                rstamp = None
            if rstamp != self._rules_stamp:
                self.rules = load_rules(self.storage)
                self._rules_stamp = rstamp

    def _filters_for(self, reco: Recommender, respect_stock: bool, cache_s: float) -> Filters:
        available = None
        if respect_stock and self._available is not None:
            now = self._clock()
            if self._stock is None or now - self._stock_at >= cache_s:
                self._stock = np.fromiter(self._available(), np.int64)
                self._stock_at = now
            available = self._stock
        key = (reco.version, id(available), self._rules_stamp, id(self.rules))
        if self._filters is None or key != self._filters_key:
            self._filters = reco.filters(available, self.rules)
            self._filters_key = key
        return self._filters

    # ---- the request path ----------------------------------------------------------
    def recommend(self, request: RecoRequest, settings: Mapping[str, Any] | None = None) -> list[ScoredItem] | None:
        """Answer ``request``; None when no model has been trained yet."""
        settings = settings or {}
        self._refresh()
        reco = self.reco
        if reco is None or request.k <= 0:
            return None
        f = self._filters_for(reco, bool(settings.get("respect_stock", True)),
                              float(settings.get("stock_cache_seconds", 30)))
        engine = settings.get("engine", "auto")
        k = request.k
        seeds = reco.positions(request.product_ids)
        blocked = np.concatenate([seeds, reco.positions(request.exclude)]) if request.exclude else seeds
        ranked: Ranked | None = None
        category = request.category_id

        if request.kind in ("similar", "bought_together"):
            got = reco.score(seeds, f, engine=engine, table="basket" if request.kind == "bought_together" else "knn")
            if request.kind == "bought_together" and (got is None or got[0].shape[0] == 0):
                got = reco.score(seeds, f, engine=engine)  # no basket evidence yet: similar items
            if got is not None:
                ranked = reco.rank(got[0], got[1], k, f, blocked)
            if category is None:
                category = reco.category_of(seeds)
        elif request.kind == "for_you":
            hist = reco.history(request.customer_id)
            context = np.union1d(hist, seeds) if seeds.shape[0] else hist
            got = reco.score(context, f, engine=engine)
            if settings.get("mask_seen", True):
                blocked = np.concatenate([blocked, hist])
            if got is not None:
                ranked = reco.rank(got[0], got[1], k, f, blocked)
        elif request.kind in ("popular", "trending"):
            ranked = reco.ordered(request.kind, k, f, blocked, category)

        ranked = self._fill(reco, ranked, k, f, blocked, category)
        return self._finish(reco, request, ranked, f, k)

    def _fill(self, reco: Recommender, ranked: Ranked | None, k: int, f: Filters, blocked: np.ndarray,
              category: int | None) -> Ranked:
        """Cold start and short answers: trending in the category, then popular overall."""
        pos = ranked.positions if ranked is not None else np.zeros(0, np.int64)
        scores = ranked.scores if ranked is not None else np.zeros(0, np.float32)
        sources: list[tuple[str, int | None]] = [("trending", category)] if category is not None else []
        sources.append(("popular", None))
        for which, cat in sources:
            if pos.shape[0] >= k:
                break
            more = reco.ordered(which, k, f, np.concatenate([blocked, pos]), cat)
            need = k - pos.shape[0]
            add = more.positions[:need]
            # fillers rank below every model answer: keep the scores non-increasing
            last = float(scores[-1]) if scores.shape[0] else 0.0
            eps = max(abs(last), 1.0) * 1e-3
            pos = np.concatenate([pos, add])
            scores = np.concatenate([scores, (last - eps * np.arange(1, add.shape[0] + 1)).astype(np.float32)])
        return Ranked(pos, scores)

    def _finish(self, reco: Recommender, request: RecoRequest, ranked: Ranked, f: Filters, k: int) -> list[ScoredItem]:
        """Pins first (still subject to stock and exclusions), then the ranked list."""
        pins = reco.positions(self.rules.pins_for(request.kind)) if self.rules.pin else np.zeros(0, np.int64)
        if pins.shape[0]:
            not_asked = ~member(pins, reco.positions(request.product_ids + request.exclude))
            pins = pins[f.ok[pins] & not_asked]
            _, first = np.unique(pins, return_index=True)
            pins = pins[np.sort(first)][:k]
        top = float(ranked.scores[0]) if ranked.scores.shape[0] else 0.0
        out = [ScoredItem(pid, top + float(pins.shape[0] - i)) for i, pid in enumerate(reco.items[pins].tolist())]
        pos, scores = ranked.positions, ranked.scores
        if pins.shape[0]:
            keep = ~member(pos, pins)
            pos, scores = pos[keep], scores[keep]
        room = k - len(out)
        out += [ScoredItem(pid, s) for pid, s in zip(reco.items[pos[:room]].tolist(), scores[:room].tolist())]
        return out
