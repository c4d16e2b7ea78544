"""Background job entry points, importable by dotted path for the kernel's job runner.

The runner calls ``fn(kernel, **kwargs)`` (in-process pool, or an rq worker with its
own booted kernel), so a schedule or an admin's "retrain now" does::

    kernel.jobs.enqueue("comptoir_recommendations.jobs:train", reason="manual")

The job asks this plugin to train through its ``recommendations_train`` hook, so rights,
the journal and the breaker apply exactly as for any other hook call.
"""
from __future__ import annotations

from typing import Any

PLUGIN_ID = "recommendations"


def train(kernel: Any, reason: str = "schedule") -> dict[str, Any]:
    """Retrain the recommendation models of ``kernel``'s shop; returns the summary."""
    result = kernel.host.call_one(PLUGIN_ID, "recommendations_train", reason=reason)
    return dict(result or {})
