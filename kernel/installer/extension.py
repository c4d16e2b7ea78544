"""Kernel extension: plugins installed from the marketplace are known at start.

Runs at ``Kernel.__init__`` (before the schema may be migrated, so it reads only the
plugin folder): each ``<plugin_dir>/<id>/current`` names the version whose code is
registered with the host — lazily, imported when enabled. ``kernel.boot()`` then
enables those whose stored state says so. Also attaches the :class:`Installer`.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from comptoir.kernel.errors import ComptoirError
from comptoir.kernel.installer import loader
from comptoir.kernel.installer.service import Installer

if TYPE_CHECKING:
    from comptoir.kernel.runtime import Kernel

log = logging.getLogger("comptoir.installer")


def extend(kernel: "Kernel") -> None:
    """Register installed plugins with the host and attach ``kernel.services["installer"]``."""
    kernel.services["installer"] = Installer(kernel)
    plugin_dir = kernel.settings.effective_plugin_dir
    try:
        records = loader.installed_records(plugin_dir)
    except (ComptoirError, OSError) as exc:
        log.error("installed plugins in %s not loaded: %s", plugin_dir, getattr(exc, "message", exc))
        return
    for rec in records:
        if rec.name in kernel.host.records:
            continue  # a development install of the same plugin wins
        kernel.host.records[rec.name] = rec
