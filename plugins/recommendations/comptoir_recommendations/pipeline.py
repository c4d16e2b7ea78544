"""From the shop's data to a published model version: what the training hook runs."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from comptoir_recommendations.artifacts import ModelStore
from comptoir_recommendations.interactions import Catalog, Lines
from comptoir_recommendations.threads import training_threads
from comptoir_recommendations.training import TrainConfig, fit


def load_shop(data: Any) -> tuple[Lines, Catalog]:
    """Order lines and active catalog through a plugin's ``ctx.data`` (rights-checked)."""
    lines = Lines.from_rows(data.order_lines())
    catalog = Catalog.from_rows(data.products(active_only=True, limit=10**9))
    return lines, catalog


def train_and_publish(lines: Lines, catalog: Catalog, storage: Path, settings: Mapping[str, Any], *,
                      now: float | None = None, reason: str = "manual") -> dict[str, Any]:
    """Train on ``lines``, publish atomically under ``storage/models``; returns a summary."""
    t0 = time.perf_counter()
    cfg = TrainConfig.from_settings(settings)
    with training_threads():
        trained = fit(lines, catalog, cfg, now=now if now is not None else time.time())
    if catalog.product_id.size:
        # products switched off in the catalog stay known (history) but are never shown
        trained.arrays["item_active"] = np.isin(trained.arrays["items"], catalog.product_id)
    trained.meta["reason"] = reason
    version = ModelStore(Path(storage) / "models").publish(trained)
    return {"version": version, "reason": reason, "lines": len(lines), "items": int(trained.meta["items"]),
            "customers": int(trained.meta["customers"]), "models": trained.meta["models"],
            "seconds": round(time.perf_counter() - t0, 3), **({"ease_skipped": trained.meta["ease_skipped"]}
                                                              if "ease_skipped" in trained.meta else {})}
