"""A plugin's source tree as the SDK sees it: pyproject, manifest, entry point, sources."""
from __future__ import annotations

import importlib
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from comptoir.kernel.manifest import Manifest, manifest_from_pyproject
from comptoir.kernel.plugins import ENTRY_POINT_GROUP
from comptoir.sdk.errors import SdkError
from comptoir.sdk.signatures import FoundImpl, check_plugin, check_sources


@dataclass(frozen=True)
class PluginProject:
    """A vendor's plugin folder: ``pyproject.toml`` with ``[tool.comptoir]`` and a package."""

    root: Path
    pyproject: dict[str, Any]
    manifest: Manifest
    dist_name: str
    entry_point: str  # "package.module" or "package.module:object"

    @classmethod
    def load(cls, root: Path) -> "PluginProject":
        """Read and validate ``root/pyproject.toml``; errors say which file and field."""
        root = Path(root).resolve()
        path = root / "pyproject.toml"
        if not path.is_file():
            raise SdkError(f"{root} has no pyproject.toml; create a plugin with `comptoir sdk new <name>`")
        manifest = manifest_from_pyproject(path)
        doc = tomllib.loads(path.read_text())
        project = doc.get("project", {})
        name = project.get("name", "")
        if not name:
            raise SdkError(f"{path}: [project].name is missing")
        eps = project.get("entry-points", {}).get(ENTRY_POINT_GROUP, {})
        if manifest.id not in eps:
            raise SdkError(f"{path}: declare the plugin's entry point as "
                           f'[project.entry-points."{ENTRY_POINT_GROUP}"] {manifest.id} = "<package>.<module>"')
        return cls(root, doc, manifest, name, eps[manifest.id])

    @property
    def module_name(self) -> str:
        return self.entry_point.partition(":")[0]

    @property
    def package_dirs(self) -> list[Path]:
        """Top-level packages shipped by the wheel (``tests`` never is)."""
        declared = self.pyproject.get("tool", {}).get("setuptools", {}).get("packages")
        names = declared or [self.module_name.split(".")[0]]
        return [self.root / n.replace(".", "/") for n in names if "." not in n]

    def sources(self) -> dict[str, str]:
        """Python sources of the shipped packages, by path relative to the root."""
        out = {}
        for pkg in self.package_dirs:
            for f in sorted(pkg.rglob("*.py")):
                out[str(f.relative_to(self.root))] = f.read_text()
        return out

    def import_plugin(self) -> Any:
        """Import the plugin object named by the entry point (the tree goes on sys.path)."""
        if str(self.root) not in sys.path:
            sys.path.insert(0, str(self.root))
        importlib.invalidate_caches()
        module = importlib.import_module(self.module_name)
        _, _, attr = self.entry_point.partition(":")
        obj: Any = module
        for part in filter(None, attr.split(".")):
            obj = getattr(obj, part)
        return obj

    def check(self, *, import_code: bool = True) -> list[FoundImpl]:
        """Manifest (already valid once loaded) + hook signatures, statically then imported."""
        impls = check_sources(self.sources(), self.manifest.id)
        if import_code:
            check_plugin(self.import_plugin(), self.manifest.id)
        return impls
