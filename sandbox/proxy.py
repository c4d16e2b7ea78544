"""The in-kernel stand-in for a sandboxed plugin: one pluggy hookimpl per hook it has.

Each method has exactly the hookspec's parameter names (pluggy reads them from the
function's code object, so they are generated, not faked with ``__signature__``), which
lets ``PluginHost`` wrap it like any plugin: ``ctx`` injection, timing, journal, breaker.
The body forwards the call over RPC with the kernel's ``PluginContext`` for that plugin,
which serves the worker's context calls.

Three hooks are left out (and reported): the ``order_placement`` wrapper (a generator
around a kernel transaction), ``web_routes`` (Starlette objects), and
``migrations_location`` (Alembic scripts would run untrusted code inside the kernel).
"""
from __future__ import annotations

import inspect
import keyword
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Callable

from comptoir.kernel.hookspecs import all_specs, hookimpl

if TYPE_CHECKING:
    from comptoir.sandbox.supervisor import SandboxedPlugin

NOT_SANDBOXABLE = {"order_placement": "wrapper hooks run inside a kernel transaction",
                   "web_routes": "routes are Python objects served by the kernel's web app",
                   "migrations_location": "migration scripts are code the kernel would run in its own "
                                          "process; a sandboxed plugin keeps its data in its own folder"}
LIFECYCLE = ("plugin_enabled", "plugin_disabled")


def _forwarder(hook: str, params: list[str], forward: Callable[[str, dict[str, Any], Any], Any]) -> Callable[..., Any]:
    for p in params:
        if not p.isidentifier() or keyword.iskeyword(p):
            raise ValueError(f"hookspec {hook} has an unusable parameter name {p!r}")
    ctx_name = "ctx" if "ctx" in params else "None"
    args = ", ".join(f"{p!r}: {p}" for p in params if p != "ctx")
    source = f"def {hook}({', '.join(params)}):\n    return _forward({hook!r}, {{{args}}}, {ctx_name})\n"
    namespace: dict[str, Any] = {"_forward": forward}
    exec(compile(source, f"<sandbox proxy {hook}>", "exec"), namespace)  # names come from our own hookspecs
    fn: Callable[..., Any] = namespace[hook]
    return fn


def build_proxy(plugin: "SandboxedPlugin", on_enabled: Callable[[], None],
                on_disabled: Callable[[], None]) -> tuple[Any, dict[str, str]]:
    """The proxy object for ``plugin`` (its worker must have said hello), and the hooks
    left out with the reason."""
    specs = all_specs()
    proxy = SimpleNamespace(__name__=f"sandbox:{plugin.name}")
    skipped: dict[str, str] = {}
    hooks = plugin.status.hooks
    for hook, info in sorted(hooks.items()):
        if hook in LIFECYCLE:
            continue
        if hook not in specs:
            skipped[hook] = "no such hook in this kernel's API"
            continue
        if hook in NOT_SANDBOXABLE or info.get("wrapper"):
            skipped[hook] = NOT_SANDBOXABLE.get(hook, "wrapper hooks cannot run in the sandbox")
            continue
        params = list(inspect.signature(specs[hook]).parameters)  # type: ignore[arg-type]
        fn = _forwarder(hook, params, plugin.call)
        setattr(proxy, hook, hookimpl(tryfirst=bool(info.get("tryfirst")), trylast=bool(info.get("trylast")))(fn))

    # Always present, so the sandbox learns of enable/disable and starts/stops the worker.
    def plugin_enabled(ctx: Any) -> None:
        on_enabled()
        if "plugin_enabled" in hooks:
            plugin.call("plugin_enabled", {}, ctx)

    def plugin_disabled(ctx: Any) -> None:
        try:
            if "plugin_disabled" in hooks and plugin.status.state == "running":
                plugin.call("plugin_disabled", {}, ctx)
        finally:
            on_disabled()

    proxy.plugin_enabled = hookimpl(plugin_enabled)
    proxy.plugin_disabled = hookimpl(plugin_disabled)
    return proxy, skipped
