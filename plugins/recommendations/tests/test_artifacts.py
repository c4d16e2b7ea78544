"""Model versions on disk: atomic publish, memory-mapped loading, rollback, pruning."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from comptoir.kernel.types import RecoRequest
from comptoir_recommendations.artifacts import ModelStore
from comptoir_recommendations.engine import Engine
from comptoir_recommendations.interactions import Catalog, Lines
from comptoir_recommendations.training import Trained, fit


def _tiny(value: float) -> Trained:
    items = np.array([1, 2, 3], np.int64)
    return Trained({"items": items, "item_cat": np.full(3, -1, np.int64),
                    "popular": np.array([value, 2.0, 1.0], np.float32),
                    "trending": np.array([value, 2.0, 1.0], np.float32)}, {"items": 3})


def test_publish_then_load_is_memory_mapped(storage: Path, shop: tuple[Lines, Catalog]) -> None:
    lines, catalog = shop
    store = ModelStore(storage / "models")
    assert store.current() is None and store.load() is None
    trained = fit(lines, catalog)
    version = store.publish(trained)
    assert store.current() == version
    model = store.load()
    assert model is not None and model.version == version
    for name, arr in trained.arrays.items():
        loaded = model.arrays[name]
        assert isinstance(loaded, np.memmap), name
        assert not loaded.flags.writeable
        np.testing.assert_array_equal(loaded, arr)
    assert model.arrays["ease_B"].dtype == np.float32
    assert json.loads((storage / "models" / version / "meta.json").read_text())["version"] == version
    assert not [p for p in (storage / "models").iterdir() if p.name.startswith(".tmp-")]


def test_swap_and_rollback(storage: Path) -> None:
    store = ModelStore(storage / "models", keep=3)
    v1 = store.publish(_tiny(10.0))
    v2 = store.publish(_tiny(0.5))
    assert (store.current(), store.previous()) == (v2, v1)
    assert store.rollback() == v1
    assert (store.current(), store.previous()) == (v1, v2)
    assert store.rollback() == v2  # rolling back a rollback returns to the new model


def test_rollback_without_previous_fails(storage: Path) -> None:
    store = ModelStore(storage / "models")
    store.publish(_tiny(1.0))
    with pytest.raises(FileNotFoundError):
        store.rollback()


def test_old_versions_are_pruned_but_current_and_previous_kept(storage: Path) -> None:
    store = ModelStore(storage / "models", keep=3)
    versions = [store.publish(_tiny(float(i))) for i in range(6)]
    kept = store.versions()
    assert len(kept) == 3
    assert versions[-1] in kept and versions[-2] in kept
    store.activate(versions[-3])
    assert store.current() == versions[-3]


def test_engine_swaps_to_a_new_version_while_serving(storage: Path) -> None:
    t = [0.0]
    store = ModelStore(storage / "models", keep=2)
    v1 = store.publish(_tiny(10.0))
    eng = Engine(storage, clock=lambda: t[0])
    assert [g.product_id for g in eng.recommend(RecoRequest("popular", k=1)) or []] == [1]
    mapped = eng.reco
    v2 = store.publish(_tiny(0.5))  # another process trained
    assert [g.product_id for g in eng.recommend(RecoRequest("popular", k=1)) or []] == [1]  # checked once a second
    t[0] += 1.5
    assert [g.product_id for g in eng.recommend(RecoRequest("popular", k=1)) or []] == [2]
    store.publish(_tiny(0.25))
    assert v1 not in store.versions()  # pruned: neither current nor previous
    # a worker still mapping the pruned version reads it fine (unlinked files live on)
    assert mapped is not None and float(mapped.popular[0]) == 10.0
    assert store.rollback() == v2
    t[0] += 1.5
    assert eng.reco is not None
    eng.recommend(RecoRequest("popular", k=1))
    assert eng.reco.version == v2


def test_a_failed_publish_leaves_the_current_model(storage: Path) -> None:
    store = ModelStore(storage / "models")
    v1 = store.publish(_tiny(1.0))
    bad = Trained({"items": np.array([object()], dtype=object)}, {})  # cannot be saved without pickle
    with pytest.raises(ValueError):
        store.publish(bad)
    assert store.current() == v1
    assert not [p for p in (storage / "models").iterdir() if p.name.startswith(".tmp-")]
