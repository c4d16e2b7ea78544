"""The plugin host: discovery, live enable/disable, error isolation, journal.

Plugins are found through the ``comptoir.plugins`` entry-point group; each one's
manifest is validated before its code is imported. Every hook implementation is
wrapped once, at enable time, so a call goes: pluggy → wrapper (breaker check, ``ctx``
injection, timing, journal, exception capture) → the plugin's function. A plugin that
raises is journaled and skipped; after repeated failures its breaker opens and it is
not called for a while. Enabling or disabling registers or unregisters it with pluggy:
no restart. Other processes notice through the ``plugins`` counter in the database.
"""
from __future__ import annotations

import contextvars
import functools
import inspect
import logging
import threading
import time
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Callable, Iterable

import pluggy
from sqlalchemy import select, update
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from comptoir.kernel import hookspecs
from comptoir.kernel.breaker import Breaker
from comptoir.kernel.context import DataAccess, PluginContext
from comptoir.kernel.domain.base import utcnow
from comptoir.kernel.domain.events import KernelCounter, PluginState
from comptoir.kernel.errors import ComptoirError, ManifestError, NotFound, PluginError, ScopeDenied
from comptoir.kernel.hookspecs.markers import PROJECT, HookPolicy, policy_of
from comptoir.kernel.journal import Journal
from comptoir.kernel.manifest import Manifest, manifest_from_distribution
from comptoir.kernel.rights import ManifestRights, RightsPolicy
from comptoir.kernel.settings import Settings
from comptoir.kernel.types import KernelInfo

ENTRY_POINT_GROUP = "comptoir.plugins"
KERNEL_VERSION = "0.1.0"
log = logging.getLogger("comptoir.plugins")

# Set while the kernel calls one plugin on purpose (targeted hooks): failures then
# raise PluginError to the caller instead of being skipped.
_targeted: contextvars.ContextVar[bool] = contextvars.ContextVar("comptoir_targeted", default=False)
_SPECS = hookspecs.all_specs()


@dataclass
class PluginRecord:
    """A plugin known to the kernel, enabled or not."""

    name: str
    manifest: Manifest
    loader: Callable[[], Any]  # imports and returns the plugin object (module or instance)
    source: str = "entry-point"  # entry-point | object | sandbox
    enabled: bool = False
    obj: Any = None
    proxy: Any = None
    ctx: PluginContext | None = None
    breaker: Breaker = field(default_factory=Breaker)
    settings: dict[str, Any] = field(default_factory=dict)
    load_error: str = ""


class _Proxy:
    """Holds the wrapped hook implementations pluggy registers for one plugin."""

    def __init__(self, name: str) -> None:
        self.__name__ = name

    def __repr__(self) -> str:
        return f"<plugin {self.__name__}>"


class PluginHost:
    """Owns the pluggy manager and every plugin's record, context and breaker."""

    def __init__(self, settings: Settings, factory: sessionmaker[Session] | None,
                 *, journal: Journal | None = None, rights: RightsPolicy | None = None) -> None:
        self.settings = settings
        self.factory = factory
        self.journal = journal or Journal(factory, enabled=settings.journal_enabled)
        self.rights: RightsPolicy = rights or ManifestRights()
        self.pm = pluggy.PluginManager(PROJECT)
        for module in hookspecs.MODULES:
            self.pm.add_hookspecs(module)
        self.records: dict[str, PluginRecord] = {}
        self._lock = threading.RLock()
        self._generation = -1
        self._checked_at = 0.0
        self.context_extras: list[Callable[[PluginRecord, PluginContext], None]] = []
        self._info = KernelInfo(version=KERNEL_VERSION, hook_api=hookspecs.HOOK_API_VERSION)
        self.pm.hook.kernel_ready.call_historic(kwargs={"ctx": None, "info": self._info})

    # ---- discovery -------------------------------------------------------------
    def discover(self) -> list[PluginRecord]:
        """Find installed plugins by entry point; validate manifests before import."""
        found = []
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist = ep.dist
            try:
                if dist is None:
                    raise ManifestError(f"entry point {ep.name!r} has no distribution")
                manifest = manifest_from_distribution(dist)
            except ComptoirError as exc:
                log.warning("plugin %s not loaded: %s", ep.name, exc.message)
                continue
            if manifest.id in self.records:
                continue
            if not manifest.supports_api(hookspecs.HOOK_API_VERSION):
                log.warning("plugin %s needs hook API %s, kernel has %s; not loaded",
                            manifest.id, manifest.kernel_api, hookspecs.HOOK_API_VERSION)
                continue
            rec = PluginRecord(manifest.id, manifest, ep.load)
            self.records[manifest.id] = rec
            found.append(rec)
        return found

    def add(self, obj: Any, manifest: Manifest, *, source: str = "object") -> PluginRecord:
        """Make a plugin object known (tests, the SDK's test kernel, sandbox proxies)."""
        if manifest.id in self.records and self.records[manifest.id].enabled:
            self.disable(manifest.id, persist=False)
        rec = PluginRecord(manifest.id, manifest, lambda: obj, source=source)
        self.records[manifest.id] = rec
        return rec

    def forget(self, name: str) -> None:
        if name in self.records:
            if self.records[name].enabled:
                self.disable(name, persist=False)
            del self.records[name]

    # ---- enable / disable ------------------------------------------------------
    def enable(self, name: str, *, persist: bool = True, settings: dict[str, Any] | None = None) -> PluginRecord:
        """Enable a plugin now; its hooks serve the next call. Persisted for other workers."""
        with self._lock:
            rec = self._get(name)
            if settings is not None:
                rec.settings = dict(settings)
            if not rec.enabled:
                if rec.obj is None:
                    try:
                        rec.obj = rec.loader()
                    except Exception as exc:  # an import error must not take the shop down
                        rec.load_error = f"{type(exc).__name__}: {exc}"
                        raise PluginError(f"plugin {name!r} failed to import: {rec.load_error}", plugin=name) from None
                if isinstance(self.rights, ManifestRights):
                    self.rights.register(rec.manifest)
                rec.ctx = self._make_context(rec)
                rec.proxy = self._wrap(rec)
                self.pm.register(rec.proxy, name=name)
                rec.enabled = True
                rec.breaker = Breaker(self.settings.breaker_threshold, self.settings.breaker_cooldown_s)
                self._call_own(rec, "plugin_enabled")
            if persist:
                self._persist(name, True, rec.settings, rec.manifest.version)
            return rec

    def disable(self, name: str, *, persist: bool = True) -> PluginRecord:
        with self._lock:
            rec = self._get(name)
            if rec.enabled:
                self._call_own(rec, "plugin_disabled")
                self.pm.unregister(rec.proxy, name=name)
                rec.enabled = False
                rec.proxy = None
            if persist:
                self._persist(name, False, rec.settings, rec.manifest.version)
            return rec

    def configure(self, name: str, settings: dict[str, Any]) -> PluginRecord:
        """Replace a plugin's (non-secret) settings; its context sees them at once."""
        with self._lock:
            rec = self._get(name)
            rec.settings = dict(settings)
            if rec.ctx is not None:
                rec.ctx.settings = self._effective_settings(rec)
            self._persist(name, rec.enabled, rec.settings, rec.manifest.version)
            return rec

    def _get(self, name: str) -> PluginRecord:
        rec = self.records.get(name)
        if rec is None:
            known = ", ".join(sorted(self.records)) or "none"
            raise NotFound(f"no plugin {name!r} is installed (installed: {known}); "
                           "see `comptoir plugins list`", field="plugin")
        return rec

    def _persist(self, name: str, enabled: bool, settings: dict[str, Any], version: str) -> None:
        if self.factory is None:
            return
        with self.factory() as s, s.begin():
            row = s.get(PluginState, name)
            if row is None:
                row = PluginState(name=name)
            row.enabled, row.settings, row.version, row.updated_at = enabled, dict(settings), version, utcnow()
            s.add(row)
            counter = s.get(KernelCounter, "plugins")
            if counter is None:
                s.add(KernelCounter(name="plugins", value=1))
            else:
                s.execute(update(KernelCounter).where(KernelCounter.name == "plugins")
                          .values(value=KernelCounter.value + 1))
        self._generation = -1  # our own change: re-read the number next time

    def load_state(self, *, default_enabled: Iterable[str] = ()) -> None:
        """Apply the enabled/disabled state stored in the database.

        Plugins never seen before are enabled when listed in ``default_enabled``.
        """
        if self.factory is None:
            return
        with self.factory() as s:
            rows = {r.name: r for r in s.scalars(select(PluginState))}
            gen = s.get(KernelCounter, "plugins")
        defaults = set(default_enabled)
        for name, rec in list(self.records.items()):
            row = rows.get(name)
            want = row.enabled if row is not None else name in defaults
            if row is not None:
                rec.settings = dict(row.settings)
            try:
                if want and not rec.enabled:
                    self.enable(name, persist=row is None)
                elif not want and rec.enabled:
                    self.disable(name, persist=False)
                elif rec.enabled and rec.ctx is not None:
                    rec.ctx.settings = self._effective_settings(rec)
            except PluginError as exc:
                log.error("%s", exc.message)
        self._generation = gen.value if gen else 0

    def refresh(self, *, max_age_s: float = 1.0) -> bool:
        """Pick up enable/disable done by another process, at most once per ``max_age_s``."""
        now = time.monotonic()
        if self.factory is None or now - self._checked_at < max_age_s:
            return False
        self._checked_at = now
        with self.factory() as s:
            gen = s.get(KernelCounter, "plugins")
        value = gen.value if gen else 0
        if value == self._generation:
            return False
        self.load_state()
        return True

    # ---- contexts --------------------------------------------------------------
    def _effective_settings(self, rec: PluginRecord) -> dict[str, Any]:
        merged = {k: f.default for k, f in rec.manifest.settings.items() if f.type != "secret"}
        merged.update({k: v for k, v in rec.settings.items() if k not in rec.manifest.secret_settings()})
        return merged

    def _make_context(self, rec: PluginRecord) -> PluginContext:
        storage = self.settings.data_dir / "plugins" / rec.name
        ctx = PluginContext(
            plugin=rec.name, manifest=rec.manifest, settings=self._effective_settings(rec),
            log=logging.getLogger(f"comptoir.plugin.{rec.name}"), storage_dir=storage,
            data=DataAccess(rec.name, self.rights, self.factory),
        )
        for extend in self.context_extras:
            extend(rec, ctx)
        return ctx

    def context(self, name: str) -> PluginContext:
        rec = self._get(name)
        if rec.ctx is None:
            rec.ctx = self._make_context(rec)
        return rec.ctx

    # ---- wrapping --------------------------------------------------------------
    def _wrap(self, rec: PluginRecord) -> _Proxy:
        proxy = _Proxy(rec.name)
        obj = rec.obj
        for attr in dir(obj):
            fn = getattr(obj, attr, None)
            opts = getattr(fn, f"{PROJECT}_impl", None)
            if opts is None or not callable(fn):
                continue
            hook_name = opts.get("specname") or attr
            spec = _SPECS.get(hook_name)
            if spec is None:
                raise PluginError(f"plugin {rec.name!r} implements {hook_name!r}, which is no hook of API "
                                  f"{hookspecs.HOOK_API_VERSION}; check the name against docs/hooks.md",
                                  plugin=rec.name, hook=hook_name)
            if opts.get("wrapper") or opts.get("hookwrapper"):
                wrapped = self._bind_ctx(rec, fn)  # wrappers guard transactions: errors propagate
            else:
                wrapped = self._isolate(rec, hook_name, fn, policy_of(spec))
            setattr(proxy, attr, wrapped)
        return proxy

    @staticmethod
    def _ctx_index(fn: Callable[..., Any]) -> int | None:
        params = [p for p in inspect.signature(fn).parameters]
        return params.index("ctx") if "ctx" in params else None

    def _bind_ctx(self, rec: PluginRecord, fn: Callable[..., Any]) -> Callable[..., Any]:
        idx = self._ctx_index(fn)

        def with_ctx(args: tuple[Any, ...]) -> tuple[Any, ...]:
            return args if idx is None else args[:idx] + (rec.ctx,) + args[idx + 1:]

        if inspect.isgeneratorfunction(fn):  # pluggy wrappers must stay generator functions
            @functools.wraps(fn)
            def bound_gen(*args: Any) -> Any:
                return (yield from fn(*with_ctx(args)))

            return bound_gen

        @functools.wraps(fn)
        def bound(*args: Any) -> Any:
            return fn(*with_ctx(args))

        return bound

    def _isolate(self, rec: PluginRecord, hook: str, fn: Callable[..., Any], policy: HookPolicy) -> Callable[..., Any]:
        idx = self._ctx_index(fn)
        budget_ns = (policy.timeout_ms or self.settings.hook_timeout_ms) * 1_000_000
        journal = self.journal
        name = rec.name

        record = journal.record_ns
        perf = time.perf_counter_ns

        @functools.wraps(fn)
        def isolated(*args: Any) -> Any:
            breaker = rec.breaker
            if breaker.failures >= breaker.threshold and not breaker.allow():
                record(name, hook, perf(), 0, "skipped", "circuit breaker open after repeated failures")
                if _targeted.get():
                    raise PluginError(f"plugin {name!r} is paused after repeated failures; "
                                      "see `comptoir journal --plugin " + name + "`", plugin=name, hook=hook)
                return None
            if idx is not None:
                args = args[:idx] + (rec.ctx,) + args[idx + 1:]
            t0 = perf()
            try:
                result = fn(*args)
            except ScopeDenied as exc:
                record(name, hook, t0, (perf() - t0) // 1000, "denied", exc.message)
                if _targeted.get():
                    raise
                return None
            except Exception as exc:
                record(name, hook, t0, (perf() - t0) // 1000, "error", f"{type(exc).__name__}: {exc}")
                breaker.failure()
                if breaker.failures in (1, breaker.threshold):  # first failure and breaker opening
                    log.warning("plugin %s failed in %s: %s (%d in a row)", name, hook,
                                type(exc).__name__, breaker.failures)
                if _targeted.get():
                    raise PluginError(f"plugin {name!r} failed in {hook}: {journal.redact(str(exc))[:300]}",
                                      plugin=name, hook=hook) from None
                return None
            elapsed = perf() - t0
            if elapsed > budget_ns:
                record(name, hook, t0, elapsed // 1000, "timeout",
                       f"took {elapsed // 1_000_000} ms, budget {budget_ns // 1_000_000} ms")
                breaker.failure()
                if not policy.side_effects:
                    return None  # a late quote or score is dropped; a late payment is kept
                return result
            record(name, hook, t0, elapsed // 1000, "ok", "")
            if breaker.failures:
                breaker.success()
            return result

        return isolated

    # ---- calling ---------------------------------------------------------------
    def call(self, hook: str, **kwargs: Any) -> Any:
        """Broadcast call with the hook's own semantics (collect or first result).

        Collect hooks return a flat list of what each plugin answered (lists are
        concatenated, Nones dropped). Failing plugins are skipped.
        """
        kwargs.setdefault("ctx", None)
        caller = getattr(self.pm.hook, hook)
        result = caller(**kwargs)
        if caller.spec is not None and caller.spec.opts.get("firstresult"):
            return result
        out: list[Any] = []
        for item in result:
            if isinstance(item, list):
                out.extend(item)
            elif item is not None:
                out.append(item)
        return out

    def call_each(self, hook: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Broadcast call that keeps who answered what: ``[(plugin, answer), …]``."""
        kwargs.setdefault("ctx", None)
        out = []
        for impl in reversed(getattr(self.pm.hook, hook).get_hookimpls()):
            answer = impl.function(*[kwargs[a] for a in impl.argnames])
            if answer is not None:
                out.append((impl.plugin_name, answer))
        return out

    def call_one(self, plugin: str, hook: str, **kwargs: Any) -> Any:
        """Targeted call: only ``plugin`` is asked; its failure raises ``PluginError``."""
        kwargs.setdefault("ctx", None)
        rec = self.records.get(plugin)
        if rec is None or not rec.enabled:
            raise PluginError(f"plugin {plugin!r} is not enabled; enable it with "
                              f"`comptoir plugins enable {plugin}`", plugin=plugin, hook=hook)
        for impl in getattr(self.pm.hook, hook).get_hookimpls():
            if impl.plugin_name == plugin:
                token = _targeted.set(True)
                try:
                    return impl.function(*[kwargs[a] for a in impl.argnames])
                finally:
                    _targeted.reset(token)
        raise PluginError(f"plugin {plugin!r} does not implement {hook}", plugin=plugin, hook=hook)

    def implements(self, plugin: str, hook: str) -> bool:
        return any(i.plugin_name == plugin for i in getattr(self.pm.hook, hook).get_hookimpls())

    def _call_own(self, rec: PluginRecord, hook: str) -> None:
        try:
            if self.implements(rec.name, hook):
                self.call_one(rec.name, hook)
        except PluginError as exc:
            log.warning("%s", exc.message)

    def enabled(self) -> list[PluginRecord]:
        return [r for r in self.records.values() if r.enabled]

    def start(self) -> None:
        self.journal.start()

    def stop(self) -> None:
        for rec in self.enabled():
            self._call_own(rec, "plugin_disabled")
        self.journal.stop()
