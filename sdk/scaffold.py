"""``comptoir sdk new``: a working plugin folder (manifest, package, one hook, tests)."""
from __future__ import annotations

import re
from pathlib import Path
from string import Template

from comptoir.kernel.manifest import ID_RE
from comptoir.sdk.errors import SdkError

TEMPLATES = Path(__file__).parent / "templates" / "plugin"

# template file → path in the new plugin ({pkg} is the Python package name)
LAYOUT = {
    "pyproject.toml.tmpl": "pyproject.toml",
    "README.md.tmpl": "README.md",
    "gitignore.tmpl": ".gitignore",
    "init.py.tmpl": "{pkg}/__init__.py",
    "plugin.py.tmpl": "{pkg}/plugin.py",
    "test_plugin.py.tmpl": "tests/test_plugin.py",
}


def scaffold(target: Path, plugin_id: str, *, vendor: str = "acme", title: str = "") -> list[Path]:
    """Write a new plugin named ``plugin_id`` into ``target`` (which must not exist or be empty)."""
    if not ID_RE.match(plugin_id):
        raise SdkError(f"{plugin_id!r} is not a plugin id: use 3-64 lowercase letters, digits and dashes, "
                       "starting with a letter (e.g. 'colis-express')")
    if not re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]*$", vendor):
        raise SdkError(f"vendor {vendor!r} must be letters, digits, dots, dashes or underscores")
    target = Path(target)
    if target.exists() and any(target.iterdir()):
        raise SdkError(f"{target} already exists and is not empty; choose another folder")
    pkg = "comptoir_" + plugin_id.replace("-", "_")
    values = {
        "id": plugin_id, "pkg": pkg, "dist": f"comptoir-{plugin_id}", "vendor": vendor,
        "title": title or plugin_id.replace("-", " ").title(), "wheelname": f"comptoir_{plugin_id.replace('-', '_')}",
    }
    written = []
    for tmpl, rel in LAYOUT.items():
        path = target / rel.format(pkg=pkg)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Template((TEMPLATES / tmpl).read_text()).substitute(values))
        written.append(path)
    return written
