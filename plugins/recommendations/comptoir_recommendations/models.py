"""The models, as pure numpy/scipy functions from interactions to arrays (float32).

- popularity with exponential time decay (and "trending": the same with a short half-life);
- item-item neighbour tables: cosine or RP3beta (Paudel et al. 2017) similarities,
  truncated to the top-k neighbours of each item;
- EASE (Steck 2019): ``B = I - P·diag(1/diag(P))`` with ``P = (XᵀX + λI)⁻¹``, zero diagonal.

Each returns plain arrays that the artifact store saves as ``.npy`` and serving reads
memory-mapped.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

DAY = 86_400.0


def decayed_popularity(item_pos: np.ndarray, ts: np.ndarray, n_items: int, *, now: float,
                       half_life_days: float) -> np.ndarray:
    """Each sale weighs ``2^(-age/half_life)``; the score of an item is the sum (float32).

    Ages are measured from the latest sale up to ``now``: that only rescales every score by
    the same factor, and keeps an old log from underflowing float32 to zeros.
    """
    ref = min(now, float(ts.max())) if ts.size else now
    age = np.maximum(ref - ts, 0.0)
    w = np.exp2(-age / (half_life_days * DAY))
    return np.bincount(item_pos, weights=w, minlength=n_items).astype(np.float32)


def cosine_similarity(x: sp.csr_matrix, *, shrink: float = 0.0) -> sp.csr_matrix:
    """Item × item cosine over the columns of a binary user × item matrix, zero diagonal.

    ``shrink`` damps similarities supported by few co-occurrences (s·c/(c+shrink)).
    """
    xt = x.T.tocsr()
    co = (xt @ x).tocsr().astype(np.float32)
    deg = np.asarray(x.sum(axis=0)).ravel().astype(np.float32)
    inv = np.zeros_like(deg)
    np.divide(1.0, np.sqrt(deg), out=inv, where=deg > 0)
    sim = _scale(co, inv, inv)
    if shrink > 0:
        sim.data *= co.data / (co.data + shrink)
    sim.setdiag(0.0)
    sim.eliminate_zeros()
    return sim


def rp3beta_similarity(x: sp.csr_matrix, *, alpha: float = 1.0, beta: float = 0.5) -> sp.csr_matrix:
    """RP3beta: 3-step random-walk transition item → user → item, divided by ``pop^beta``.

    Popular items are penalised, which lifts the long tail; with binary data and alpha=1
    this is ``W = (D_i⁻¹ Xᵀ)(D_u⁻¹ X)`` then ``W[:, j] /= deg_j^beta``.
    """
    deg_u = np.asarray(x.sum(axis=1)).ravel().astype(np.float32)
    deg_i = np.asarray(x.sum(axis=0)).ravel().astype(np.float32)
    inv_u = np.zeros_like(deg_u)
    np.divide(1.0, deg_u, out=inv_u, where=deg_u > 0)
    inv_i = np.zeros_like(deg_i)
    np.divide(1.0, deg_i, out=inv_i, where=deg_i > 0)
    p_ui = sp.diags(inv_u) @ x  # user → item
    p_iu = sp.diags(inv_i) @ x.T.tocsr()  # item → user
    if alpha != 1.0:
        p_ui.data **= alpha
        p_iu.data **= alpha
    w = (p_iu @ p_ui).tocsr().astype(np.float32)
    pen = np.zeros_like(deg_i)
    np.divide(1.0, deg_i ** beta, out=pen, where=deg_i > 0)
    w = _scale(w, np.ones_like(deg_i), pen)
    w.setdiag(0.0)
    w.eliminate_zeros()
    return w


def _scale(m: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray) -> sp.csr_matrix:
    """``diag(rows) · m · diag(cols)`` on the stored entries only (no densifying)."""
    m = m.tocsr(copy=True)
    row_of = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
    m.data *= rows[row_of] * cols[m.indices]
    return m


def top_k_table(sim: sp.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best neighbours of each row, best first: (idx int32, score float32), both
    ``(n, k)``, padded with -1 / 0. Fully vectorized: one sort of all stored entries."""
    sim = sim.tocsr()
    sim.sum_duplicates()
    n = sim.shape[0]
    idx = np.full((n, k), -1, np.int32)
    val = np.zeros((n, k), np.float32)
    counts = np.diff(sim.indptr)
    if sim.nnz == 0 or k == 0:
        return idx, val
    rows = np.repeat(np.arange(n, dtype=np.int64), counts)
    # rows are already grouped (CSR); sort by score descending inside each row
    order = np.lexsort((-sim.data, rows))
    rank = np.arange(sim.nnz, dtype=np.int64) - sim.indptr[rows]
    keep = rank < k
    sel = order[keep]
    idx[rows[keep], rank[keep]] = sim.indices[sel]
    val[rows[keep], rank[keep]] = sim.data[sel]
    return idx, val


def table_to_csr(idx: np.ndarray, val: np.ndarray, n_cols: int) -> sp.csr_matrix:
    """A neighbour table back as a sparse matrix (for batched evaluation)."""
    n, k = idx.shape
    ok = idx >= 0
    rows = np.repeat(np.arange(n), k).reshape(n, k)[ok]
    return sp.csr_matrix((np.asarray(val)[ok], (rows, np.asarray(idx)[ok])), shape=(n, n_cols))


def ease(x: sp.csr_matrix, lam: float) -> np.ndarray:
    """EASE weights ``B`` (items × items, float32, zero diagonal) in closed form.

    Uses a Cholesky factorisation and inverse (LAPACK potrf/potri: half the flops of a
    general inverse) on the Gram matrix ``XᵀX + λI``, which is symmetric positive definite.
    """
    from scipy.linalg import lapack

    g = (x.T @ x).toarray().astype(np.float32)
    g[np.diag_indices_from(g)] += np.float32(lam)
    c, info = lapack.spotrf(g, lower=False, overwrite_a=True, clean=True)
    if info != 0:  # not positive definite (λ too small for float32): fall back to a general inverse
        g = (x.T @ x).toarray().astype(np.float64)
        g[np.diag_indices_from(g)] += lam
        p = np.linalg.inv(g).astype(np.float32)
    else:
        p, info = lapack.spotri(c, lower=False, overwrite_c=True)
        if info != 0:
            raise np.linalg.LinAlgError(f"EASE: potri failed (info={info})")
        # potri fills the upper triangle only: mirror it
        p = np.triu(p)
        p += np.triu(p, 1).T
    d = np.diag(p).copy()
    p /= -d[np.newaxis, :]  # in place: at 20,000 items each copy is 1.6 GB
    p[np.diag_indices_from(p)] = 0.0
    return np.ascontiguousarray(p, dtype=np.float32)
