"""The seam between the plugin context and the rights a plugin was granted.

The kernel asks a ``RightsPolicy`` at every data access and outbound call. Until the
credential store's grant tables take over, ``ManifestRights`` grants a plugin exactly
what its manifest requests and nothing else (deny by default).
"""
from __future__ import annotations

from typing import Protocol

from comptoir.kernel.manifest import Manifest


class RightsPolicy(Protocol):
    def allowed(self, plugin: str, right: str) -> bool:
        """True when ``plugin`` holds ``right`` (``orders:read``, ``host:api.x.com`` …)."""
        ...


class ManifestRights:
    """Grants what each registered manifest asks for; anything else is refused."""

    def __init__(self) -> None:
        self._rights: dict[str, frozenset[str]] = {}

    def register(self, manifest: Manifest) -> None:
        self._rights[manifest.id] = frozenset(manifest.requested_rights())

    def revoke_all(self, plugin: str) -> None:
        self._rights.pop(plugin, None)

    def allowed(self, plugin: str, right: str) -> bool:
        rights = self._rights.get(plugin, frozenset())
        if right in rights:
            return True
        # a write right implies the read right of the same area
        area, _, mode = right.partition(":")
        return mode == "read" and f"{area}:write" in rights
