"""What isolation each sandboxed plugin actually got, for the CLI and the admin UI.

A layer the worker could not apply is listed with ``applied: False`` and the reason;
nothing is left out. ``sandbox_report(kernel)`` is the one function both doors call.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from comptoir.sandbox.supervisor import SandboxedPlugin, SandboxLimits

if TYPE_CHECKING:
    from comptoir.kernel.runtime import Kernel
    from comptoir.sandbox.manager import SandboxManager

EXPECTED_LAYERS = ("namespaces", "capabilities", "parent-death", "rlimits", "descriptors", "environment",
                   "no_new_privs", "landlock", "seccomp")


def plugin_report(manager: "SandboxManager", plugin: SandboxedPlugin) -> dict[str, Any]:
    """One plugin: state, worker, layers (applied or not, and why), failures, hooks."""
    st = plugin.status
    rec = manager.kernel.host.records.get(plugin.name)
    got = {layer.get("name"): layer for layer in st.layers}
    layers = []
    for name in EXPECTED_LAYERS:
        layer = got.get(name)
        if layer is None:
            layers.append({"name": name, "applied": False,
                           "detail": "unknown: the worker has not started yet" if not st.layers
                           else "not reported by the worker"})
        else:
            layers.append({"name": name, "applied": bool(layer.get("applied")), "detail": str(layer.get("detail", ""))})
    disabled_reason = st.disabled_reason or _journal_reason(manager, plugin.name, rec)
    return {
        "plugin": plugin.name,
        "version": plugin.manifest.version,
        "enabled": bool(rec and rec.enabled),
        "state": st.state,
        "pid": st.pid,
        "start_ms": round(st.start_ms, 1),
        "starts": st.starts,
        "failures_in_a_row": st.failures,
        "failures_total": st.total_failures,
        "last_error": st.last_error,
        "disabled_reason": disabled_reason,
        "hooks": sorted(h for h in st.hooks if h not in manager.skipped_hooks.get(plugin.name, {})),
        "hooks_not_sandboxable": dict(manager.skipped_hooks.get(plugin.name, {})),
        "layers": layers,
        "fully_isolated": all(layer["applied"] for layer in layers),
        "limits": _limits(plugin.limits),
    }


def _limits(limits: SandboxLimits) -> dict[str, Any]:
    return {"memory_bytes": limits.memory_bytes, "cpu_seconds": limits.cpu_seconds, "open_files": limits.open_files,
            "file_bytes": limits.file_bytes, "processes": limits.processes, "max_message_in": limits.max_in,
            "max_message_out": limits.max_out, "call_timeout_s": limits.call_timeout_s,
            "max_failures": limits.max_failures}


def _journal_reason(manager: "SandboxManager", name: str, rec: Any) -> str:
    """A plugin disabled by another process (a web worker) left its reason in the journal."""
    if rec is None or rec.enabled:
        return ""
    try:
        entries = manager.kernel.host.journal.entries(plugin=name, limit=20, outcome="disabled")
    except Exception:
        return ""
    for entry in entries:
        if entry.hook == "sandbox":
            return str(entry.error)
    return ""


def sandbox_report(kernel: "Kernel") -> list[dict[str, Any]]:
    """Every sandboxed plugin of ``kernel`` (empty when the sandbox is not installed)."""
    manager = kernel.services.get("sandbox")
    return manager.report() if manager is not None else []
