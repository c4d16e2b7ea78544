"""The plugin object: Comptoir's built-in recommendation engine.

It answers ``recommend`` last (``trylast``), so any vendor engine that is enabled
answers first; it trains on ``recommendations_train`` (run by a background job) and
loads the latest model when enabled.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from comptoir.sdk import RecoRequest, ScoredItem, hookimpl
from comptoir_recommendations.engine import Engine
from comptoir_recommendations.pipeline import load_shop, train_and_publish
from comptoir_recommendations.threads import pin_blas


class RecommendationsPlugin:
    """One instance serves every kernel in the process, one engine per storage folder."""

    def __init__(self) -> None:
        self._engines: dict[Path, Engine] = {}

    def engine(self, ctx: Any) -> Engine:
        key = Path(ctx.storage_dir)
        eng = self._engines.get(key)
        if eng is None:
            eng = Engine(key, available=ctx.data.available_product_ids)
            self._engines[key] = eng
        return eng

    @hookimpl
    def plugin_enabled(self, ctx: Any) -> None:
        """Pin BLAS threads for serving and load the latest model version."""
        pin_blas(int(ctx.setting("blas_threads", 1) or 1))
        self.engine(ctx).reload()

    @hookimpl(trylast=True)
    def recommend(self, ctx: Any, request: RecoRequest) -> list[ScoredItem] | None:
        """Similar, bought together, for you, popular, trending (see docs/recommendations.md)."""
        return self.engine(ctx).recommend(request, ctx.settings)

    @hookimpl
    def recommendations_train(self, ctx: Any, reason: str) -> dict[str, Any]:
        """Train on every order line, publish a new version, serve it at once."""
        lines, catalog = load_shop(ctx.data)
        summary = train_and_publish(lines, catalog, Path(ctx.storage_dir), ctx.settings,
                                    now=ctx.now().timestamp(), reason=reason)
        eng = self.engine(ctx)
        eng.reload()
        eng.invalidate_stock()
        ctx.log.info("recommendations trained: %s", summary)
        return summary


plugin = RecommendationsPlugin()
