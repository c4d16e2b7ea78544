"""Plugin tests reuse the kernel's fixtures (a migrated SQLite shop and a booted kernel)."""
from __future__ import annotations

from pathlib import Path

import pytest

from comptoir_recommendations.interactions import Catalog, Lines
from comptoir_recommendations.synthetic import ShopSpec, generate
from tests.conftest import kernel, sqlite_url  # noqa: F401  (fixtures)


@pytest.fixture(scope="session")
def shop() -> tuple[Lines, Catalog]:
    """A small synthetic shop: 2,000 customers, 1,000 products, ~15,000 lines."""
    return generate(ShopSpec())


@pytest.fixture
def storage(tmp_path: Path) -> Path:
    return tmp_path / "storage"
