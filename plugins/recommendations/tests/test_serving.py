"""The request path: top-k against brute force, masking, stock, rules, cold start."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from comptoir.kernel.types import RecoRequest
from comptoir_recommendations.engine import Engine
from comptoir_recommendations.interactions import Catalog, Lines
from comptoir_recommendations.models import table_to_csr
from comptoir_recommendations.pipeline import train_and_publish
from comptoir_recommendations.rules import Rules, save_rules


class Clock:
    """A monotonic clock the test moves by hand (the engine re-checks files once a second)."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, shop: tuple[Lines, Catalog]) -> Path:
    lines, catalog = shop
    storage = tmp_path_factory.mktemp("reco")
    train_and_publish(lines, catalog, storage, {}, now=float(lines.ts.max()))
    return storage


def _engine(storage: Path, available: set[int] | None = None) -> tuple[Engine, Clock]:
    clock = Clock()
    eng = Engine(storage, available=(lambda: available) if available is not None else None, clock=clock)
    return eng, clock


def _customer_with_history(eng: Engine, min_items: int = 5) -> tuple[int, np.ndarray]:
    eng.reload()
    reco = eng.reco
    assert reco is not None and reco.users is not None
    sizes = np.diff(np.asarray(reco.hist_indptr))
    u = int(np.flatnonzero(sizes >= min_items)[0])
    return int(reco.users[u]), reco.history(int(reco.users[u]))


@pytest.mark.parametrize("engine", ["knn", "ease"])
def test_for_you_matches_brute_force(trained: Path, engine: str) -> None:
    eng, _ = _engine(trained)
    customer, hist = _customer_with_history(eng)
    reco = eng.reco
    assert reco is not None
    if engine == "knn":
        dense = table_to_csr(*reco.knn, reco.n).toarray()  # type: ignore[misc]
        ref = dense[hist].sum(axis=0)
    else:
        ref = np.full(reco.n, -np.inf, np.float32)
        ref[reco.ease_items] = np.asarray(reco.ease_B)[reco.ease_pos[hist][reco.ease_pos[hist] >= 0]].sum(axis=0)
    if engine == "knn":
        ref[ref == 0] = -np.inf  # kNN only proposes items reachable through a neighbour
    ref[hist] = -np.inf  # seen-item masking
    want = np.argsort(-ref, kind="stable")[:20]
    got = eng.recommend(RecoRequest("for_you", k=20, customer_id=customer), {"engine": engine})
    assert got is not None and len(got) == 20
    got_pos = reco.positions(np.array([g.product_id for g in got]))
    np.testing.assert_allclose([g.score for g in got], ref[want], rtol=1e-4)  # same scores, same order
    assert set(got_pos.tolist()).isdisjoint(hist.tolist())
    assert set(got_pos.tolist()) == set(want.tolist()) or np.allclose(ref[got_pos], ref[want], rtol=1e-4)


def test_seen_items_come_back_when_masking_is_off(trained: Path) -> None:
    eng, _ = _engine(trained)
    customer, hist = _customer_with_history(eng, 8)
    masked = eng.recommend(RecoRequest("for_you", k=50, customer_id=customer), {"engine": "ease"})
    unmasked = eng.recommend(RecoRequest("for_you", k=50, customer_id=customer), {"engine": "ease", "mask_seen": False})
    assert eng.reco is not None
    seen = set(eng.reco.items[hist].tolist())
    assert masked and unmasked
    assert not seen & {g.product_id for g in masked}
    assert seen & {g.product_id for g in unmasked}


def test_similar_excludes_the_asked_products_and_request_exclusions(trained: Path) -> None:
    eng, _ = _engine(trained)
    first = eng.recommend(RecoRequest("similar", k=10, product_ids=(5,)))
    assert first and 5 not in {g.product_id for g in first}
    banned = first[0].product_id
    again = eng.recommend(RecoRequest("similar", k=10, product_ids=(5,), exclude=(banned,)))
    assert again and banned not in {g.product_id for g in again}
    assert [g.product_id for g in again][:3] == [g.product_id for g in first][1:4]


def test_stock_filter_drops_unavailable_products(trained: Path) -> None:
    eng_all, _ = _engine(trained)
    top = eng_all.recommend(RecoRequest("popular", k=10))
    assert top
    out_of_stock = {g.product_id for g in top[:5]}
    available = set(range(1, 1001)) - out_of_stock
    eng, clock = _engine(trained, available)
    for kind, kw in [("popular", {}), ("trending", {}), ("similar", {"product_ids": (5,)}),
                     ("for_you", {"customer_id": 3}), ("bought_together", {"product_ids": (5, 6)})]:
        got = eng.recommend(RecoRequest(kind, k=30, **kw))  # type: ignore[arg-type]
        assert got and not out_of_stock & {g.product_id for g in got}, kind
        assert len(got) == 30
    popular = eng.recommend(RecoRequest("popular", k=5))
    assert popular and [g.product_id for g in popular] == [g.product_id for g in top[5:10]]
    # the in-stock list is cached, then re-read
    available |= out_of_stock
    assert eng.recommend(RecoRequest("popular", k=1))[0].product_id != top[0].product_id  # type: ignore[index]
    clock.t += 31
    assert eng.recommend(RecoRequest("popular", k=1))[0].product_id == top[0].product_id  # type: ignore[index]


def test_rules_exclude_boost_pin(trained: Path, tmp_path: Path) -> None:
    eng, clock = _engine(trained)
    base = eng.recommend(RecoRequest("popular", k=10))
    assert base
    ids = [g.product_id for g in base]
    save_rules(trained, Rules(exclude=frozenset({ids[0]}), boost={ids[5]: 1000.0},
                              pin={"popular": (ids[9],), "*": (999_999,)}))
    try:
        clock.t += 2  # rules are re-read at most once a second
        got = [g.product_id for g in eng.recommend(RecoRequest("popular", k=10)) or []]
        assert got[0] == ids[9]  # pinned first (the unknown pinned id is ignored)
        assert ids[0] not in got  # excluded
        assert got[1] == ids[5]  # boosted above everything unpinned
        scores = [g.score for g in eng.recommend(RecoRequest("popular", k=10)) or []]
        assert scores == sorted(scores, reverse=True)
        # exclusions hold for the model-based kinds too
        sim = eng.recommend(RecoRequest("similar", k=50, product_ids=(ids[1],)))
        assert sim and ids[0] not in {g.product_id for g in sim}
    finally:
        (trained / "rules.json").unlink()


def test_pins_still_respect_stock(trained: Path) -> None:
    eng, clock = _engine(trained, set(range(1, 1001)) - {7})
    save_rules(trained, Rules(pin={"*": (7, 8)}))
    try:
        clock.t += 2
        got = eng.recommend(RecoRequest("for_you", k=5, customer_id=1))
        assert got and [g.product_id for g in got][:1] == [8] and 7 not in {g.product_id for g in got}
    finally:
        (trained / "rules.json").unlink()


def test_cold_start_uses_trending_in_the_category(trained: Path, shop: tuple[Lines, Catalog]) -> None:
    eng, _ = _engine(trained)
    _, catalog = shop
    cat = int(catalog.category_id[10])
    got = eng.recommend(RecoRequest("trending", k=5, category_id=cat))
    assert got and all(int(catalog.category_id[g.product_id - 1]) == cat for g in got)
    unknown = eng.recommend(RecoRequest("for_you", k=10, customer_id=10_000_000))
    popular = eng.recommend(RecoRequest("popular", k=10))
    assert unknown and popular and [g.product_id for g in unknown] == [g.product_id for g in popular]


def test_no_model_means_no_answer(tmp_path: Path) -> None:
    eng, _ = _engine(tmp_path)
    assert eng.recommend(RecoRequest("popular")) is None
