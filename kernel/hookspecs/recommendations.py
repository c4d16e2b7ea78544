"""Recommendation hooks."""
from __future__ import annotations

from typing import Any

from comptoir.kernel.hookspecs.markers import spec
from comptoir.kernel.types import RecoRequest, ScoredItem


@spec("firstresult", timeout_ms=200)
def recommend(ctx: Any, request: RecoRequest) -> list[ScoredItem] | None:
    """Score products for ``request`` (similar, bought together, for you, popular).

    First result: the first engine that answers wins, so a vendor's engine registered
    ahead of the core plugin (which is ``trylast``) overrides it. Return None to pass.
    The kernel then drops unavailable products and applies merchant rules
    (exclude, boost, pin).

    :returns: up to ``request.k`` :class:`ScoredItem`, best first, or None.
    """


@spec("collect", timeout_ms=3_600_000)  # a background job: minutes on a big catalog, not a request
def recommendations_train(ctx: Any, reason: str) -> dict[str, Any]:
    """Retrain models (``reason``: schedule, manual, data). Run by a background job.

    :returns: a JSON summary (model, items, seconds) for the journal.
    """
