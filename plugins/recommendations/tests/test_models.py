"""The models against dense, brute-force references."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from comptoir_recommendations import models


def _random_x(seed: int = 0, users: int = 60, items: int = 25, density: float = 0.15) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    dense = (rng.random((users, items)) < density).astype(np.float32)
    return sp.csr_matrix(dense)


def test_cosine_matches_dense_formula() -> None:
    x = _random_x()
    d = x.toarray()
    co = d.T @ d
    norms = np.sqrt(np.diag(co))
    with np.errstate(divide="ignore", invalid="ignore"):
        ref = np.nan_to_num(co / np.outer(norms, norms))
    np.fill_diagonal(ref, 0)
    got = models.cosine_similarity(x).toarray()
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)


def test_rp3beta_matches_dense_formula() -> None:
    x = _random_x(1)
    d = x.toarray()
    du, di = d.sum(1), d.sum(0)
    p_ui = np.divide(d, du[:, None], out=np.zeros_like(d), where=du[:, None] > 0)
    p_iu = np.divide(d.T, di[:, None], out=np.zeros_like(d.T), where=di[:, None] > 0)
    w = p_iu @ p_ui
    w = np.divide(w, di[None, :] ** 0.3, out=np.zeros_like(w), where=di[None, :] > 0)
    np.fill_diagonal(w, 0)
    got = models.rp3beta_similarity(x, beta=0.3).toarray()
    np.testing.assert_allclose(got, w, rtol=1e-5, atol=1e-7)


def test_top_k_table_matches_brute_force() -> None:
    rng = np.random.default_rng(3)
    dense = rng.random((40, 40)).astype(np.float32) * (rng.random((40, 40)) < 0.3)
    idx, val = models.top_k_table(sp.csr_matrix(dense), 5)
    for i in range(40):
        row = dense[i]
        nz = np.flatnonzero(row)
        want = nz[np.argsort(-row[nz], kind="stable")][:5]
        got = idx[i][idx[i] >= 0]
        np.testing.assert_allclose(row[got], row[want])  # same scores, best first
        assert len(got) == min(5, len(nz))
        assert (val[i][: len(got)] == row[got]).all()
        assert (idx[i][len(got):] == -1).all() and (val[i][len(got):] == 0).all()


def test_table_round_trips_to_sparse() -> None:
    x = _random_x(4)
    sim = models.cosine_similarity(x)
    idx, val = models.top_k_table(sim, 1000)  # k above the row length keeps everything
    np.testing.assert_allclose(models.table_to_csr(idx, val, sim.shape[1]).toarray(), sim.toarray())


def test_ease_is_the_closed_form_solution() -> None:
    x = _random_x(5, users=200, items=30, density=0.2)
    lam = 7.0
    d = x.toarray().astype(np.float64)
    g = d.T @ d + lam * np.eye(30)
    p = np.linalg.inv(g)
    ref = -p / np.diag(p)[None, :]
    np.fill_diagonal(ref, 0)
    b = models.ease(x, lam)
    assert b.dtype == np.float32 and b.flags.c_contiguous
    np.testing.assert_allclose(b, ref, atol=2e-4)
    # optimality (KKT) of min ||X - XB||² + λ||B||² s.t. diag(B) = 0:
    # (XᵀX + λI)·B - XᵀX is diagonal
    resid = g @ b - (g - lam * np.eye(30))
    off = resid - np.diag(np.diag(resid))
    assert np.abs(off).max() < 1e-3


def test_decayed_popularity_halves_per_half_life() -> None:
    day = models.DAY
    pos = np.array([0, 1, 1])
    ts = np.array([100 * day, 90 * day, 100 * day])
    pop = models.decayed_popularity(pos, ts, 3, now=100 * day, half_life_days=10)
    np.testing.assert_allclose(pop, [1.0, 1.5, 0.0])
