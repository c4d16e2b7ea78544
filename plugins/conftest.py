"""Shared by the first-party plugins' tests: a migrated shop database made once per
session and copied for each test, so a test kernel costs a file copy, not a migration."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from comptoir.kernel.db import make_engine
from comptoir.kernel.migrate import upgrade
from comptoir.sdk.testing import build_test_kernel


@pytest.fixture(scope="session")
def migrated_shop_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("plugin-shop-template")
    engine = make_engine(f"sqlite:///{root / 'shop.db'}")
    upgrade(engine)
    engine.dispose()  # checkpoints the WAL into shop.db
    return root / "shop.db"


@pytest.fixture
def plugin_kernel(tmp_path: Path, migrated_shop_db: Path) -> Iterator[Callable[..., Any]]:
    """``plugin_kernel((module, manifest), …)``: a booted test kernel (demo data, only
    these plugins), closed at the end of the test."""
    built: list[Any] = []

    def build(*plugins: tuple[Any, Any], name: str = "shop") -> Any:
        home = tmp_path / name
        home.mkdir(parents=True, exist_ok=True)
        shutil.copy(migrated_shop_db, home / "shop.db")
        kernel = build_test_kernel(home, plugins=plugins)
        built.append(kernel)
        return kernel

    yield build
    for kernel in built:
        kernel.close()
