"""The sandbox manager: registers sandboxed plugins with the host and supervises them.

``kernel.services["sandbox"]`` is one of these (see :mod:`comptoir.sandbox.extension`).
``add_source(path)`` or ``add(manifest, code_path, entry)`` starts the plugin's worker,
builds the proxy, ``host.add(proxy, manifest, source="sandbox")`` and enables it.
"""
from __future__ import annotations

import importlib.util
import logging
import os
import site
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from comptoir.kernel.errors import ManifestError
from comptoir.kernel.manifest import Manifest, manifest_from_pyproject
from comptoir.kernel.plugins import PluginRecord
from comptoir.sandbox.proxy import build_proxy
from comptoir.sandbox.spawn import WorkerProcess, Zygote, spawn_direct
from comptoir.sandbox.supervisor import SandboxedPlugin, SandboxLimits

if TYPE_CHECKING:
    from comptoir.kernel.runtime import Kernel

log = logging.getLogger("comptoir.sandbox")

# System folders a Python worker may read (shared libraries, time zones, CA bundle).
# /etc as a whole is not granted: it holds /etc/shadow, readable by a root-uid worker.
SYSTEM_READ_ONLY = ("/usr/lib", "/usr/lib64", "/usr/local/lib", "/lib", "/lib64", "/usr/share/zoneinfo",
                    "/etc/ld.so.cache", "/etc/localtime", "/etc/ssl/certs")
COMPTOIR_PACKAGES = ("comptoir.kernel", "comptoir.sandbox", "comptoir.sdk")


class SandboxManager:
    """Every sandboxed plugin of one kernel, its workers and their supervision."""

    def __init__(self, kernel: "Kernel", limits: SandboxLimits | None = None, *, use_zygote: bool = True) -> None:
        self.kernel = kernel
        self.limits = limits or SandboxLimits()
        self.plugins: dict[str, SandboxedPlugin] = {}
        self.skipped_hooks: dict[str, dict[str, str]] = {}
        self.use_zygote = use_zygote
        self._zygote: Zygote | None = None
        self._runtime_paths: list[str] | None = None
        self._lock = threading.Lock()

    # ---- paths ---------------------------------------------------------------------
    def data_dir(self, plugin: str) -> Path:
        """The plugin's own folder, the only place its worker may write (same as ctx.storage_dir)."""
        path = self.kernel.settings.data_dir / "plugins" / plugin
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        return path

    def runtime_paths(self) -> list[str]:
        """Read-only paths every worker needs: the interpreter, site-packages, comptoir's
        plain-type packages, system libraries. Never a folder holding the shop's home."""
        if self._runtime_paths is None:
            paths = [sys.base_prefix, sys.prefix, *site.getsitepackages(), *SYSTEM_READ_ONLY]
            for name in COMPTOIR_PACKAGES:
                spec = importlib.util.find_spec(name)
                if spec is not None and spec.submodule_search_locations:
                    paths.extend(spec.submodule_search_locations)
            home = self.kernel.settings.home.resolve()
            safe = []
            for p in dict.fromkeys(os.path.realpath(p) for p in paths):
                if home == Path(p) or Path(p) in home.parents:
                    log.warning("sandbox: not granting %s to workers: it contains the shop's home %s", p, home)
                    continue
                safe.append(p)
            self._runtime_paths = safe
        return list(self._runtime_paths)

    def read_only_paths(self, code_path: Path) -> list[str]:
        return self.runtime_paths() + [os.path.realpath(code_path)]

    # ---- workers -------------------------------------------------------------------
    def _zygote_handle(self) -> Zygote:
        with self._lock:
            if self._zygote is None:
                home = self.kernel.settings.data_dir / "sandbox"
                home.mkdir(parents=True, exist_ok=True, mode=0o700)
                self._zygote = Zygote(str(home))
            return self._zygote

    def warm(self) -> None:
        """Start the zygote in the background, so the first worker does not wait for it."""
        if self.use_zygote:
            threading.Thread(target=self._zygote_handle().warm, name="sandbox-zygote", daemon=True).start()

    def spawn(self) -> WorkerProcess:
        if self.use_zygote:
            try:
                return self._zygote_handle().spawn()
            except OSError as exc:
                log.warning("sandbox zygote unavailable (%s); starting workers directly", exc)
                self.use_zygote = False
        home = self.kernel.settings.data_dir / "sandbox"
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        return spawn_direct(str(home))

    # ---- registration ----------------------------------------------------------------
    def add_source(self, path: Path, *, limits: SandboxLimits | None = None, enable: bool = True,
                   manifest: Manifest | None = None) -> PluginRecord:
        """Sandbox the plugin whose source tree (pyproject.toml with [tool.comptoir]) is ``path``."""
        path = Path(path).resolve()
        manifest = manifest or manifest_from_pyproject(path / "pyproject.toml")
        if not manifest.entry_point:
            raise ManifestError(f"plugin {manifest.id!r}: [tool.comptoir].entry_point (module:object) is needed "
                                "to run it in the sandbox", field="entry_point")
        code = path / "src" if (path / "src").is_dir() else path
        return self.add(manifest, code, manifest.entry_point, limits=limits, enable=enable)

    def add(self, manifest: Manifest, code_path: Path, entry: str, *, limits: SandboxLimits | None = None,
            enable: bool = True) -> PluginRecord:
        """Register a sandboxed plugin with the host; its worker starts when it is enabled.

        The record's loader starts the worker, learns the plugin's hooks from its hello and
        builds the proxy, so a plugin whose code fails to load fails ``host.enable`` with the
        reason, as an in-process plugin does.
        """
        host = self.kernel.host
        old = self.plugins.pop(manifest.id, None)
        if old is not None:
            old.stop()
        plugin = SandboxedPlugin(self, manifest, Path(code_path), entry, limits or self.limits)
        self.plugins[manifest.id] = plugin
        rec = host.add(None, manifest, source="sandbox")
        rec.loader = lambda: self._load(plugin)
        if enable:
            host.enable(manifest.id)
        return rec

    def _load(self, plugin: SandboxedPlugin) -> Any:
        plugin.start()
        proxy, skipped = build_proxy(plugin, on_enabled=lambda: self._on_enabled(plugin),
                                     on_disabled=lambda: self._on_disabled(plugin))
        self.skipped_hooks[plugin.name] = skipped
        for hook, why in skipped.items():
            log.warning("sandboxed plugin %s: hook %s is not available in the sandbox (%s)", plugin.name, hook, why)
        return proxy

    def _on_enabled(self, plugin: SandboxedPlugin) -> None:
        plugin.reset()
        plugin.start()

    def _on_disabled(self, plugin: SandboxedPlugin) -> None:
        plugin.stop()
        self._release_zygote_if_idle()

    def _release_zygote_if_idle(self) -> None:
        if self._zygote is not None and not any(p.proc is not None for p in self.plugins.values()):
            self._zygote.close()  # no worker left: the zygote need not outlive them

    # ---- which plugins run here ------------------------------------------------------
    def trusted_ids(self) -> frozenset[str]:
        """Plugins the operator trusts explicitly (``COMPTOIR_TRUSTED_PLUGINS=id,id``)."""
        raw = os.environ.get("COMPTOIR_TRUSTED_PLUGINS", "")
        return frozenset(x.strip() for x in raw.split(",") if x.strip())

    def should_sandbox(self, manifest: Manifest, source: str) -> bool:
        """Third-party code runs in the sandbox unless the operator trusts it.

        A marketplace install's own ``trusted = true`` is ignored: the vendor wrote that
        manifest. A pip-installed (entry-point) package was installed by the operator, so
        its manifest's flag counts (first-party plugins carry it).
        """
        if manifest.id in self.trusted_ids():
            return False
        if source == "installed":
            return True
        if source == "entry-point":
            return not manifest.trusted
        return False

    def adopt(self, records: list[PluginRecord]) -> list[str]:
        """Move untrusted plugins the host knows (not yet loaded) into the sandbox.

        Their code is located without importing it: for an entry point, its module's
        top-level package on disk; for a marketplace install, its unpacked version folder.
        """
        adopted = []
        for rec in records:
            if rec.enabled or rec.obj is not None or not self.should_sandbox(rec.manifest, rec.source):
                continue
            located = self._locate(rec)
            if located is None:
                log.warning("plugin %s: cannot locate its code to sandbox it; it will not run", rec.name)
                rec.loader = _refuse(rec.name)
                continue
            self.add(rec.manifest, located[0], located[1], enable=False)
            adopted.append(rec.name)
        if adopted:
            self.warm()  # boot will enable them: overlap the zygote's start with the rest of it
        return adopted

    def _locate(self, rec: PluginRecord) -> tuple[Path, str] | None:
        if rec.source == "installed":
            return self.locate_installed(rec.name)
        value = str(getattr(getattr(rec.loader, "__self__", None), "value", ""))
        top = value.partition(":")[0].split(".")[0]
        spec = importlib.util.find_spec(top) if top else None  # a top-level lookup imports nothing
        if spec is None or not (spec.origin or spec.submodule_search_locations):
            return None
        if spec.submodule_search_locations:
            return Path(list(spec.submodule_search_locations)[0]).parent, value
        return Path(str(spec.origin)).parent, value

    def locate_installed(self, plugin: str) -> tuple[Path, str] | None:
        """The current version folder of a marketplace install and its entry point value."""
        from comptoir.kernel.installer import loader  # the installer owns the folder layout

        plugin_dir = self.kernel.settings.effective_plugin_dir
        version = loader.current_version(plugin_dir, plugin)
        if version is None:
            return None
        folder = loader.version_dir(plugin_dir, plugin, version)
        entry = entry_point_in(folder, plugin)
        return (folder, entry) if entry else None

    def add_installed(self, manifest: Manifest, folder: Path, *, enable: bool = True) -> PluginRecord:
        """Sandbox an unpacked marketplace release (for the installer's live install path)."""
        entry = entry_point_in(folder, manifest.id)
        if entry is None:
            raise ManifestError(f"plugin {manifest.id!r}: {folder} has no comptoir.plugins entry point named "
                                f"{manifest.id!r}", field="entry_point")
        return self.add(manifest, folder, entry, enable=enable)

    def disable(self, name: str, reason: str) -> None:
        """Take a plugin that keeps failing out of service; the shop goes on without it."""
        self.journal(name, "disabled", reason)
        log.error("sandboxed plugin %s disabled: %s", name, reason)
        host = self.kernel.host
        rec = host.records.get(name)
        if rec is not None and rec.enabled:
            host.disable(name, persist=False)

        # Persisting writes the database: not from inside a caller's (maybe open) transaction.
        def persist() -> None:
            current = host.records.get(name)
            if current is None or current.enabled:
                return  # re-enabled (or removed) in the meantime: the admin's choice wins
            try:
                host.disable(name)
            except Exception as exc:  # the in-memory state already holds; next boot re-checks
                log.warning("could not persist the disabling of %s: %s", name, exc)

        threading.Thread(target=persist, name=f"sandbox-disable-{name}", daemon=True).start()

    def journal(self, plugin: str, outcome: str, message: str) -> None:
        self.kernel.host.journal.record(plugin, "sandbox", 0, outcome, message[:1000])

    def probe(self) -> list[dict[str, Any]]:
        """Start a worker with no plugin code and return the layers it got on this machine."""
        probe = SandboxedPlugin(self, Manifest(id="sandbox-probe", name="probe", version="0", vendor="comptoir"),
                                self.kernel.settings.data_dir / "plugins" / "sandbox-probe", "", self.limits)
        try:
            probe.start()
            return list(probe.status.layers)
        finally:
            probe.stop()
            self._release_zygote_if_idle()

    # ---- state ---------------------------------------------------------------------
    def report(self) -> list[dict[str, Any]]:
        """What each sandboxed plugin actually got; see :mod:`comptoir.sandbox.report`."""
        from comptoir.sandbox.report import plugin_report

        host = self.kernel.host
        live = [p for p in self.plugins.values()
                if (rec := host.records.get(p.name)) is not None and rec.source == "sandbox"]
        return [plugin_report(self, p) for p in sorted(live, key=lambda p: p.name)]

    def close(self) -> None:
        for plugin in list(self.plugins.values()):
            plugin.stop()
        if self._zygote is not None:
            self._zygote.close()
            self._zygote = None


def entry_point_in(folder: Path, plugin: str) -> str | None:
    """``module:object`` of ``plugin``'s ``comptoir.plugins`` entry point in an unpacked wheel."""
    from importlib import metadata

    from comptoir.kernel.plugins import ENTRY_POINT_GROUP

    for dist in metadata.distributions(path=[str(folder)]):
        for ep in dist.entry_points:
            if ep.group == ENTRY_POINT_GROUP and ep.name == plugin:
                return str(ep.value)
    return None


def _refuse(name: str) -> Any:
    def load() -> Any:
        raise RuntimeError(f"untrusted plugin {name!r} cannot be located for the sandbox and is not run in process")

    return load
