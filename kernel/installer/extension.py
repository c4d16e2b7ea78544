"""Kernel extension: plugins installed from the marketplace are known at start and live.

Runs at ``Kernel.__init__`` (before the schema may be migrated, so it reads only the
plugin folder): each ``<plugin_dir>/<id>/current`` names the version whose code is
registered with the host — lazily, imported when enabled. ``kernel.boot()`` then
enables those whose stored state says so.

An install, upgrade or uninstall made by another process (the CLI, another web
worker) bumps the plugins counter; the host's ``refresh`` then reloads its state, and
this extension first syncs the records with the plugin folder, so the change goes live
here too, without a restart. Also attaches ``kernel.services["installer"]``.
"""
from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

from comptoir.kernel.errors import ComptoirError
from comptoir.kernel.installer import loader
from comptoir.kernel.installer.service import Installer

if TYPE_CHECKING:
    from comptoir.kernel.runtime import Kernel

log = logging.getLogger("comptoir.installer")


def sync(kernel: "Kernel") -> list[str]:
    """Make the host's records match the plugin folder; returns the ids that changed."""
    host = kernel.host
    plugin_dir = kernel.settings.effective_plugin_dir
    changed: list[str] = []
    on_disk: dict[str, str] = {}
    if plugin_dir.is_dir():
        for entry in plugin_dir.iterdir():
            version = loader.current_version(plugin_dir, entry.name) if entry.is_dir() else None
            if version and (entry / version).is_dir():
                on_disk[entry.name] = version
    for name, rec in list(host.records.items()):
        if rec.source in ("installed", "sandbox") and _from_plugin_dir(kernel, rec) and name not in on_disk:
            host.forget(name)  # uninstalled elsewhere
            changed.append(name)
    fresh = []
    for name, version in sorted(on_disk.items()):
        rec = host.records.get(name)
        if rec is not None and (rec.manifest.version == version or not _from_plugin_dir(kernel, rec)):
            continue  # up to date, or a development install of the same id wins
        try:
            new = loader.record_for(plugin_dir / name / version, name)
        except (ComptoirError, OSError) as exc:
            log.error("installed plugin %s %s not loaded: %s", name, version, getattr(exc, "message", exc))
            continue
        if rec is not None:
            host.forget(name)  # another version was installed or rolled back elsewhere
        host.records[name] = new
        fresh.append(new)
        changed.append(name)
    sandbox = kernel.services.get("sandbox")
    if fresh and sandbox is not None and os.environ.get("COMPTOIR_SANDBOX", "untrusted") != "off":
        sandbox.adopt(fresh)
    return changed


def _from_plugin_dir(kernel: "Kernel", rec: Any) -> bool:
    if rec.source == "installed":
        return True
    sandbox = kernel.services.get("sandbox")  # a sandboxed record: installed if its code is in our folder
    plugin = getattr(sandbox, "plugins", {}).get(rec.name) if sandbox is not None else None
    path = getattr(plugin, "code_path", None)
    return path is not None and kernel.settings.effective_plugin_dir in path.parents


def extend(kernel: "Kernel") -> None:
    """Register installed plugins with the host, keep them in sync, attach the installer."""
    kernel.services["installer"] = Installer(kernel)
    host = kernel.host
    try:
        for rec in loader.installed_records(kernel.settings.effective_plugin_dir):
            if rec.name not in host.records:  # a development install of the same plugin wins
                host.records[rec.name] = rec
    except (ComptoirError, OSError) as exc:
        log.error("installed plugins not loaded: %s", getattr(exc, "message", exc))
    load_state = host.load_state

    def load_state_in_sync(**kwargs: Any) -> None:
        try:
            sync(kernel)
        except Exception as exc:  # a broken folder must not stop the shop from loading its state
            log.error("plugin folder sync failed: %s", exc)
        load_state(**kwargs)

    host.load_state = load_state_in_sync  # type: ignore[method-assign]
