"""THE plugin API: one module per capability. Docstrings are the reference docs.

``HOOK_API_VERSION`` follows semver: a new hook is a minor bump, a changed signature
or semantics a major one. A manifest declares the range it needs (``kernel_api``).
"""
from __future__ import annotations

from types import ModuleType

from comptoir.kernel.hookspecs import (
    channels, data, events, lifecycle, payments, recommendations, shipping, social, widgets,
)
from comptoir.kernel.hookspecs.markers import HookPolicy, hookimpl, hookspec, policy_of, spec

HOOK_API_VERSION = "1.3.0"

MODULES: tuple[ModuleType, ...] = (
    lifecycle, payments, shipping, social, widgets, recommendations, channels, events, data,
)

__all__ = ["HOOK_API_VERSION", "MODULES", "HookPolicy", "hookimpl", "hookspec", "policy_of", "spec", "all_specs"]


def all_specs() -> dict[str, object]:
    """Every hookspec function by name, across modules."""
    out: dict[str, object] = {}
    for module in MODULES:
        for name, fn in vars(module).items():
            if callable(fn) and hasattr(fn, "comptoir_policy"):
                out[name] = fn
    return out
