"""Hook-signature checks against the hookspecs, by the pluggy rules.

Every hook implementation's name (or ``specname``) must be a hook of the kernel's API,
and its parameters without defaults must be a subset of the spec's parameters (pluggy
passes only what the spec names). Two entry points share one rule:

- :func:`check_plugin` inspects an imported plugin object (the SDK, the kernel);
- :func:`check_sources` reads Python source with :mod:`ast`, never importing it (the
  marketplace, which must not run a vendor's code on upload).
"""
from __future__ import annotations

import ast
import difflib
import inspect
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from comptoir.kernel import hookspecs
from comptoir.kernel.hookspecs.markers import PROJECT, policy_of
from comptoir.sdk.errors import HookSignatureError


@dataclass(frozen=True, slots=True)
class FoundImpl:
    """One hook implementation as found in a plugin: where, which hook, which params."""

    attr: str
    hook: str
    params: tuple[str, ...]  # parameters without defaults, ``self`` excluded
    wrapper: bool = False
    where: str = ""


def spec_params(fn: Callable[..., Any]) -> tuple[str, ...]:
    """Parameter names of a hookspec, in order."""
    return tuple(inspect.signature(fn).parameters)


def _problems(plugin: str, impls: list[FoundImpl]) -> list[str]:
    specs = hookspecs.all_specs()
    problems = []
    for impl in impls:
        where = f" ({impl.where})" if impl.where else ""
        spec = specs.get(impl.hook)
        if spec is None:
            close = difflib.get_close_matches(impl.hook, list(specs), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else "; see docs/hooks.md"
            problems.append(f"plugin {plugin!r}: {impl.hook!r}{where} is no hook of API "
                            f"{hookspecs.HOOK_API_VERSION}{hint}")
            continue
        allowed = spec_params(spec)  # type: ignore[arg-type]
        extra = [p for p in impl.params if p not in allowed]
        if extra:
            problems.append(f"plugin {plugin!r}: hook {impl.hook!r}{where} takes {', '.join(map(repr, extra))}, "
                            f"which the spec does not give; the spec is {impl.hook}({', '.join(allowed)})")
        policy = policy_of(spec)  # type: ignore[arg-type]
        if impl.wrapper and policy.mode == "historic":
            problems.append(f"plugin {plugin!r}: hook {impl.hook!r}{where} is historic and cannot be wrapped")
    return problems


def find_impls(obj: Any) -> list[FoundImpl]:
    """The hook implementations of an imported plugin (module or instance)."""
    found = []
    for attr in dir(obj):
        fn = getattr(obj, attr, None)
        opts = getattr(fn, f"{PROJECT}_impl", None)
        if opts is None or not callable(fn):
            continue
        sig = inspect.signature(fn)  # bound methods already drop ``self``
        params = tuple(n for n, p in sig.parameters.items()
                       if p.default is inspect.Parameter.empty
                       and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))
        found.append(FoundImpl(attr, opts.get("specname") or attr, params,
                               bool(opts.get("wrapper") or opts.get("hookwrapper"))))
    return found


def check_plugin(obj: Any, plugin: str) -> list[FoundImpl]:
    """Check an imported plugin; raise :class:`HookSignatureError` naming plugin and hooks."""
    impls = find_impls(obj)
    problems = _problems(plugin, impls)
    if problems:
        raise HookSignatureError(problems)
    return impls


# ---- static (no import) ---------------------------------------------------------
def _is_hookimpl(deco: ast.expr) -> tuple[bool, dict[str, Any]]:
    target = deco.func if isinstance(deco, ast.Call) else deco
    name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
    if name != "hookimpl":
        return False, {}
    opts: dict[str, Any] = {}
    if isinstance(deco, ast.Call):
        for kw in deco.keywords:
            if kw.arg and isinstance(kw.value, ast.Constant):
                opts[kw.arg] = kw.value.value
    return True, opts


def _impls_in_source(source: str, filename: str) -> list[FoundImpl]:
    tree = ast.parse(source, filename=filename)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for deco in node.decorator_list:
            ok, opts = _is_hookimpl(deco)
            if not ok:
                continue
            args = [*node.args.posonlyargs, *node.args.args]
            n_defaults = len(node.args.defaults)
            required = args[: len(args) - n_defaults] if n_defaults else args
            params = tuple(a.arg for a in required if a.arg not in ("self", "cls"))
            found.append(FoundImpl(node.name, opts.get("specname") or node.name, params,
                                   bool(opts.get("wrapper") or opts.get("hookwrapper")),
                                   f"{filename}:{node.lineno}"))
    return found


def check_sources(sources: Mapping[str, str], plugin: str) -> list[FoundImpl]:
    """Check every ``@hookimpl`` function in ``sources`` (file name → text) without importing.

    Raises :class:`HookSignatureError` when a hook is unknown or a parameter is not in
    its spec, or when no hook implementation is found at all.
    """
    impls: list[FoundImpl] = []
    problems: list[str] = []
    for filename, text in sources.items():
        try:
            impls += _impls_in_source(text, filename)
        except SyntaxError as exc:
            problems.append(f"plugin {plugin!r}: {filename}:{exc.lineno}: syntax error: {exc.msg}")
    problems += _problems(plugin, impls)
    if not impls and not problems:
        problems.append(f"plugin {plugin!r}: no @hookimpl function found; a plugin implements at least one hook")
    if problems:
        raise HookSignatureError(problems)
    return impls
