"""pytest fixtures for plugin authors: ``pytest -p comptoir.sdk.pytest_plugin``.

``comptoir sdk test`` loads it for you. Fixtures:

- ``comptoir_kernel``: a booted kernel on SQLite with demo data (three products in
  stock) and no other plugin, so yours is tested alone;
- ``comptoir_project``: the plugin folder under test (found from the test file upwards);
- ``comptoir_plugin``: your plugin, signature-checked, added to the kernel and enabled;
- ``fake_customer``: a customer with a French address (``.address`` is an ``Address``);
- ``fake_provider``: a local HTTP server standing in for the provider's API.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator

import pytest

from comptoir.sdk.testing import FakeCustomer, FakeProvider, build_test_kernel, make_customer


def _find_project_root(start: Path) -> Path:
    env = os.environ.get("COMPTOIR_PLUGIN_ROOT")
    if env:
        return Path(env)
    for folder in [start, *start.parents]:
        py = folder / "pyproject.toml"
        if py.is_file() and "[tool.comptoir]" in py.read_text():
            return folder
    raise pytest.UsageError(f"no plugin pyproject.toml with [tool.comptoir] above {start}")


@pytest.fixture
def comptoir_kernel(tmp_path: Path) -> Iterator[Any]:
    """A booted test kernel (SQLite, demo data, no other plugin)."""
    kernel = build_test_kernel(tmp_path / "shop")
    try:
        yield kernel
    finally:
        kernel.close()


@pytest.fixture
def comptoir_project(request: pytest.FixtureRequest) -> Any:
    from comptoir.sdk.project import PluginProject

    return PluginProject.load(_find_project_root(Path(str(request.path)).parent))


@pytest.fixture
def comptoir_plugin(comptoir_kernel: Any, comptoir_project: Any) -> Any:
    """The plugin under test, enabled in ``comptoir_kernel``; returns its record."""
    from comptoir.sdk.signatures import check_plugin

    obj = comptoir_project.import_plugin()
    check_plugin(obj, comptoir_project.manifest.id)
    comptoir_kernel.host.add(obj, comptoir_project.manifest)
    return comptoir_kernel.host.enable(comptoir_project.manifest.id)


@pytest.fixture
def fake_customer(comptoir_kernel: Any) -> FakeCustomer:
    return make_customer(comptoir_kernel.factory)


@pytest.fixture
def fake_provider() -> Iterator[FakeProvider]:
    provider = FakeProvider().start()
    try:
        yield provider
    finally:
        provider.stop()
