"""In-memory inverted index over the listings: catalog search stays fast at 10,000+.

Each listing's id, name, vendor, category, summary and description are tokenised;
a query term matches every token it prefixes (``colis`` finds ``colissimo``), terms
are ANDed, and results rank by field weight then install count.
"""
from __future__ import annotations

import bisect
import re
import threading
from dataclasses import dataclass

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


class SearchIndex:
    """Token → listing ids, with per-listing token weights. Thread-safe for one writer."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.docs: dict[str, Doc] = {}
        self._weights: dict[str, dict[str, int]] = {}
        self._postings: dict[str, set[str]] = {}
        self._by_category: dict[str, set[str]] = {}
        self._sorted: list[str] = []
        self._stale = False

    def put(self, doc: Doc) -> None:
        """Add or replace one listing."""
        with self._lock:
            self._remove(doc.id)
            weights: dict[str, int] = {}
            for fieldname, w in WEIGHTS.items():
                for tok in tokenize(getattr(doc, fieldname)):
                    weights[tok] = max(weights.get(tok, 0), w)
            self.docs[doc.id] = doc
            self._weights[doc.id] = weights
            for tok in weights:
                if tok not in self._postings:
                    self._postings[tok] = set()
                    self._stale = True
                self._postings[tok].add(doc.id)
            self._by_category.setdefault(doc.category, set()).add(doc.id)

    def remove(self, doc_id: str) -> None:
        with self._lock:
            self._remove(doc_id)

    def _remove(self, doc_id: str) -> None:
        old = self.docs.pop(doc_id, None)
        if old is None:
            return
        for tok in self._weights.pop(doc_id, {}):
            ids = self._postings.get(tok)
            if ids is not None:
                ids.discard(doc_id)
                if not ids:
                    del self._postings[tok]
                    self._stale = True
        self._by_category.get(old.category, set()).discard(doc_id)

    def _tokens_with_prefix(self, prefix: str) -> list[str]:
        if self._stale:
            with self._lock:
                self._sorted = sorted(self._postings)
                self._stale = False
        toks = self._sorted
        i = bisect.bisect_left(toks, prefix)
        out = []
        while i < len(toks) and toks[i].startswith(prefix):
            out.append(toks[i])
            i += 1
        return out

    def search(self, query: str = "", *, category: str = "") -> list[str]:
        """Listing ids matching every term of ``query`` (all when empty), best first."""
        terms = tokenize(query)
        pool: set[str] | None = set(self._by_category.get(category, set())) if category else None
        scores: dict[str, int] = {}
        for term in terms:
            matched: dict[str, int] = {}
            for tok in self._tokens_with_prefix(term):
                exact = 1 if tok == term else 0
                for doc_id in self._postings.get(tok, ()):
                    w = self._weights[doc_id].get(tok, 0) * 2 + exact
                    if w > matched.get(doc_id, 0):
                        matched[doc_id] = w
            pool = set(matched) if pool is None else pool & matched.keys()
            for doc_id in pool:
                scores[doc_id] = scores.get(doc_id, 0) + matched[doc_id]
            if not pool:
                return []
        ids = pool if pool is not None else set(self.docs)
        docs = self.docs
        return sorted(ids, key=lambda d: (-scores.get(d, 0), -docs[d].installs, d))
