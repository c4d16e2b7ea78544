"""The first-party plugins go through the same build → sign → upload path as any vendor's."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from comptoir.marketplace.catalog import listing
from comptoir.marketplace.seed import seed_first_party

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"


@pytest.mark.slow
def test_first_party_plugins_are_published_like_any_vendor(market, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "plugins"  # two of them keep the test short; `serve --seed-first-party` takes all
    for name in ("manual_payment", "flat_rate_shipping"):
        shutil.copytree(PLUGINS / name, root / name, ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
    published = seed_first_party(market, root)
    assert {line.split()[0] for line in published} == {"manual-payment", "flat-rate-shipping"}
    assert seed_first_party(market, root) == []  # idempotent: versions are immutable
    page = listing(market, "manual-payment", kernel="1.0.0")
    assert page["vendor"] == "comptoir" and page["compatible"] and page["releases"]
