"""First-party plugins are built like a vendor's: they import the kernel only through
the SDK's public surface (``comptoir.sdk``), never ``comptoir.kernel`` internals."""
from __future__ import annotations

import ast
from pathlib import Path

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"


def _kernel_imports(path: Path, root: Path = PLUGINS) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                 else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
        found += [f"{path.relative_to(root)}:{node.lineno} imports {n}" for n in names
                  if n == "comptoir.kernel" or n.startswith("comptoir.kernel.")]
    return found


def test_first_party_plugin_code_imports_only_the_sdk() -> None:
    sources = [p for p in PLUGINS.glob("*/comptoir_*/**/*.py")]
    assert len(sources) > 20  # the suite really looked at the plugins
    offenders = [hit for p in sources for hit in _kernel_imports(p)]
    assert offenders == []


def test_the_check_catches_a_kernel_import(tmp_path: Path) -> None:
    bad = tmp_path / "comptoir_probe" / "plugin.py"
    bad.parent.mkdir()
    bad.write_text("from comptoir.kernel.db import transaction\nimport comptoir.kernel.money as m\n"
                   "from comptoir.sdk import Money\n")
    assert [h.split(" imports ")[1] for h in _kernel_imports(bad, tmp_path)] == [
        "comptoir.kernel.db", "comptoir.kernel.money"]
