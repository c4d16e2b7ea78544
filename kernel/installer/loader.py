"""Plugin code on disk: ``<plugin_dir>/<id>/<version>/`` plus a ``current`` pointer.

A pure-Python wheel is unpacked as is (it was verified first), its folder goes on
``sys.path``, and the plugin is found through the ``comptoir.plugins`` entry point of
that folder's ``.dist-info`` — the same metadata pip would have installed. Switching
versions unloads the old modules, so upgrade and rollback need no restart.
"""
from __future__ import annotations

import importlib
import os
import shutil
import sys
import zipfile
from importlib import metadata
from pathlib import Path
from typing import Any

from comptoir.kernel.errors import ManifestError
from comptoir.kernel.installer.errors import InstallRefused
from comptoir.kernel.manifest import Manifest, manifest_from_distribution
from comptoir.kernel.plugins import ENTRY_POINT_GROUP, PluginRecord

CURRENT = "current"


def version_dir(plugin_dir: Path, plugin: str, version: str) -> Path:
    return plugin_dir / plugin / version


def unpack(wheel: Path, target: Path) -> None:
    """Unpack a verified wheel into ``target`` (replaced if a half-done copy exists)."""
    tmp = target.with_name(target.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(tmp)  # paths were checked by inspect_wheel: no absolute, no '..'
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target)


def set_current(plugin_dir: Path, plugin: str, version: str) -> None:
    """Point ``<id>/current`` at ``version`` atomically (read by every kernel at start)."""
    pointer = plugin_dir / plugin / CURRENT
    tmp = pointer.with_suffix(".tmp")
    tmp.write_text(version + "\n")
    os.replace(tmp, pointer)


def current_version(plugin_dir: Path, plugin: str) -> str | None:
    pointer = plugin_dir / plugin / CURRENT
    return pointer.read_text().strip() if pointer.is_file() else None


def _distribution(folder: Path, plugin: str) -> tuple[metadata.Distribution, metadata.EntryPoint]:
    for dist in metadata.distributions(path=[str(folder)]):
        for ep in dist.entry_points:
            if ep.group == ENTRY_POINT_GROUP and ep.name == plugin:
                return dist, ep
    raise InstallRefused(f"{folder} holds no entry point {plugin!r} in group {ENTRY_POINT_GROUP!r}")


def entry_value(folder: Path, plugin: str) -> str:
    """The ``module:object`` value of the plugin's entry point in ``folder``."""
    return _distribution(folder, plugin)[1].value


def unload(top_level: list[str] | tuple[str, ...], folder: Path | None = None, *, plugin: str = "") -> None:
    """Forget a plugin's modules (and its folder on sys.path) so another version can load.

    With ``plugin``, every ``…/<plugin>/<version>`` folder leaves sys.path, whichever
    shop put it there: a module of that name imported earlier is never trusted.
    """
    for name in list(sys.modules):
        if any(name == t or name.startswith(t + ".") for t in top_level):
            del sys.modules[name]
    if folder is not None and str(folder) in sys.path:
        sys.path.remove(str(folder))
    if plugin:
        sys.path[:] = [p for p in sys.path if Path(p).parent.name != plugin]
    importlib.invalidate_caches()


def record_for(folder: Path, plugin: str) -> PluginRecord:
    """A lazy plugin record for the code in ``folder``: the manifest is read now (no import),
    the code is imported when the plugin is enabled."""
    dist, ep = _distribution(folder, plugin)
    try:
        manifest: Manifest = manifest_from_distribution(dist)
    except ManifestError as exc:
        raise InstallRefused(f"{plugin}: {exc.message}") from None

    def load() -> Any:
        unload((dist.read_text("top_level.txt") or "").split(), plugin=plugin)  # no stale module of that name
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
            importlib.invalidate_caches()
        return ep.load()

    return PluginRecord(manifest.id, manifest, load, source="installed")


def installed_records(plugin_dir: Path) -> list[PluginRecord]:
    """Every plugin whose ``current`` pointer names an unpacked version."""
    out = []
    if not plugin_dir.is_dir():
        return out
    for entry in sorted(plugin_dir.iterdir()):
        version = current_version(plugin_dir, entry.name) if entry.is_dir() else None
        folder = entry / version if version else None
        if folder is not None and folder.is_dir():
            out.append(record_for(folder, entry.name))
    return out
