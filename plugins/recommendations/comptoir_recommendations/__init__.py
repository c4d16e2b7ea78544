"""Comptoir's built-in recommendation engine (a plugin like any other).

Modules: ``interactions`` (order lines as arrays), ``models`` (EASE, item-kNN, RP3beta,
popularity), ``training`` (fit), ``artifacts`` (versions on disk, atomic swap),
``serving``/``engine`` (the request path), ``rules`` (exclude, boost, pin),
``evaluate`` (time-split Recall/NDCG), ``synthetic`` (a realistic fake shop),
``plugin`` (the hooks), ``jobs`` (background job entry points).
"""
from __future__ import annotations

__version__ = "0.1.0"
