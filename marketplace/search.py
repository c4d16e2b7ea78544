"""In-memory inverted index over the listings: catalog search stays fast at 10,000+.

Each listing's id, name, vendor, category, summary and description are tokenised;
a query term matches every token it prefixes (``colis`` finds ``colissimo``), terms
are ANDed, and results rank by field weight (an exact token beats a prefix), then by
install count, then by id. Postings are kept in dicts (the truth, cheap to update) and
compiled into numpy arrays on first search after a change, so a query is a handful of
vectorised operations over at most one row per listing.
"""
from __future__ import annotations

import bisect
import re
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

_TOKEN = re.compile(r"[a-z0-9]+")
WEIGHTS = {"id": 4, "name": 4, "vendor": 2, "category": 2, "summary": 2, "description": 1}


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


@dataclass(frozen=True, slots=True)
class Doc:
    id: str
    name: str
    vendor: str
    category: str
    summary: str
    description: str
    installs: int = 0
    kernel_api: str = ""
    # shown in result lists, so a search page needs no database read
    version: str = ""
    dist_name: str = ""
    pricing: Any = None
    rating: float | None = None
    ratings: int = 0

    def text_key(self) -> tuple[str, ...]:
        return (self.name, self.vendor, self.category, self.summary, self.description, self.kernel_api)


class _Compiled:
    """The arrays one search reads; rebuilt only when the set of listings or their text changes."""

    def __init__(self, docs: dict[str, Doc], postings: dict[str, dict[str, int]]) -> None:
        self.ids = sorted(docs)
        self.row = {d: i for i, d in enumerate(self.ids)}
        n = len(self.ids)
        self.installs = np.fromiter((docs[d].installs for d in self.ids), dtype=np.int64, count=n)
        self.alive = np.ones(n, dtype=bool)
        self.tokens = sorted(postings)
        self.postings: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for tok, by_doc in postings.items():
            rows = np.fromiter((self.row[d] for d in by_doc), dtype=np.int64, count=len(by_doc))
            weights = np.fromiter(by_doc.values(), dtype=np.int64, count=len(by_doc))
            self.postings[tok] = (rows, weights)
        self.categories: dict[str, np.ndarray] = {}
        for i, d in enumerate(self.ids):
            cat = docs[d].category
            if cat not in self.categories:
                self.categories[cat] = np.zeros(n, dtype=bool)
            self.categories[cat][i] = True
        self.ranges = [docs[d].kernel_api for d in self.ids]
        self._compat: dict[str, np.ndarray] = {}

    def compatible(self, kernel: str) -> np.ndarray:
        mask = self._compat.get(kernel)
        if mask is None:
            verdicts: dict[str, bool] = {}
            for r in set(self.ranges):  # few distinct ranges: parse each once
                try:
                    verdicts[r] = Version(kernel) in SpecifierSet(r)
                except (InvalidSpecifier, InvalidVersion):
                    verdicts[r] = False
            mask = np.fromiter((verdicts[r] for r in self.ranges), dtype=bool, count=len(self.ranges))
            self._compat[kernel] = mask
        return mask

    def prefixed(self, prefix: str) -> list[str]:
        i = bisect.bisect_left(self.tokens, prefix)
        j = bisect.bisect_left(self.tokens, prefix + "\uffff")
        return self.tokens[i:j]


class SearchIndex:
    """Token → listing weights; thread-safe for one writer and many readers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.docs: dict[str, Doc] = {}
        self._weights: dict[str, dict[str, int]] = {}
        self._postings: dict[str, dict[str, int]] = {}
        self._compiled: _Compiled | None = None

    def put(self, doc: Doc) -> None:
        """Add or replace one listing (an install-count change alone recompiles nothing)."""
        with self._lock:
            old = self.docs.get(doc.id)
            comp = self._compiled
            if old is not None and old.text_key() == doc.text_key():
                self.docs[doc.id] = doc
                if comp is not None:
                    comp.installs[comp.row[doc.id]] = doc.installs
                return
            self._remove(doc.id)
            weights: dict[str, int] = {}
            for fieldname, w in WEIGHTS.items():
                for tok in tokenize(getattr(doc, fieldname)):
                    weights[tok] = max(weights.get(tok, 0), w)
            self.docs[doc.id] = doc
            self._weights[doc.id] = weights
            for tok, w in weights.items():
                self._postings.setdefault(tok, {})[doc.id] = w
            self._compiled = None

    def remove(self, doc_id: str) -> None:
        with self._lock:
            comp = self._compiled
            if comp is not None and doc_id in comp.row:
                comp.alive[comp.row[doc_id]] = False  # hidden at once, compacted on the next rebuild
            self._remove(doc_id)

    def _remove(self, doc_id: str) -> None:
        if self.docs.pop(doc_id, None) is None:
            return
        for tok in self._weights.pop(doc_id, {}):
            by_doc = self._postings.get(tok)
            if by_doc is not None:
                by_doc.pop(doc_id, None)
                if not by_doc:
                    del self._postings[tok]

    def _comp(self) -> _Compiled:
        comp = self._compiled
        if comp is None:
            with self._lock:
                if self._compiled is None:
                    self._compiled = _Compiled(self.docs, self._postings)
                comp = self._compiled
        return comp

    def search(self, query: str = "", *, category: str = "", kernel: str = "") -> list[str]:
        """Listing ids matching every term of ``query`` (all when empty), best first;
        ``kernel`` keeps only listings whose kernel range admits that hook-API version."""
        return self.search_page(query, category=category, kernel=kernel, offset=0, limit=None)[1]

    def search_page(self, query: str = "", *, category: str = "", kernel: str = "", offset: int = 0,
                    limit: int | None = 20) -> tuple[int, list[str]]:
        """(number of matches, ids of the ``limit`` best from ``offset``)."""
        comp = self._comp()
        n = len(comp.ids)
        if n == 0:
            return 0, []
        mask: Any = comp.alive.copy()
        if category:
            cat = comp.categories.get(category)
            if cat is None:
                return 0, []
            mask &= cat
        if kernel:
            mask &= comp.compatible(kernel)
        score = np.zeros(n, dtype=np.int64)
        for term in tokenize(query):
            best = np.zeros(n, dtype=np.int64)
            for tok in comp.prefixed(term):
                rows, weights = comp.postings[tok]
                # field weight doubled, +1 for an exact token: exact beats prefix at equal weight
                cand = weights * 2 + (1 if tok == term else 0)
                best[rows] = np.maximum(best[rows], cand)  # rows are unique within one token
            mask &= best > 0
            score += best
        rows = np.flatnonzero(mask)
        total = int(rows.size)
        if total == 0:
            return 0, []
        # one sortable key: score first, then installs, then id order (the row number)
        key = score[rows] * (1 << 40) + comp.installs[rows]
        end = total if limit is None else min(total, offset + limit)
        if end < total // 4:
            top = np.argpartition(-key, end - 1)[:end]  # only the first pages need a full sort
            rows, key = rows[top], key[top]
        order = np.lexsort((rows, -key))[offset:end]
        ids = comp.ids
        return total, [ids[r] for r in rows[order]]
