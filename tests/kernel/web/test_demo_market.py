"""The demo's in-process marketplace: seeded through the vendor path once, then reused;
the shop's installer points at it with its key pinned."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from comptoir.kernel.runtime import Kernel
from comptoir.kernel.web import demo_market

PLUGINS = Path(__file__).resolve().parents[3] / "plugins"


def test_not_started_outside_a_serving_demo(shop: Kernel, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COMPTOIR_MARKETPLACE_URL", raising=False)
    assert list(demo_market.start(shop)) == []  # no `comptoir demo` serving here
    assert "COMPTOIR_MARKETPLACE_URL" not in os.environ


@pytest.mark.slow
def test_demo_marketplace_is_seeded_once_and_used_by_the_installer(
        shop: Kernel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "plugins"  # one first-party plugin keeps the test short; the demo takes all
    shutil.copytree(PLUGINS / "flat_rate_shipping", root / "flat_rate_shipping",
                    ignore=shutil.ignore_patterns("*.egg-info", "__pycache__", "build"))
    monkeypatch.setattr(demo_market, "plugins_root", lambda: root)
    for name in ("COMPTOIR_MARKETPLACE_URL", "COMPTOIR_MARKETPLACE_KEY"):
        monkeypatch.delenv(name, raising=False)
    try:
        lines = list(demo_market.start(shop, force=True))
        assert "published 1 first-party plugin(s): flat-rate-shipping" in lines[0]
        url = demo_market._running["url"]
        assert os.environ["COMPTOIR_MARKETPLACE_URL"] == url
        inst = shop.services["installer"]
        assert inst.marketplace == url
        found = inst.search("flat rate")
        assert [r["id"] for r in found["results"]] == ["flat-rate-shipping"] and found["results"][0]["compatible"]
        assert inst.snapshot().latest("flat-rate-shipping")  # signed index verified with the pinned key
        assert list(demo_market.start(shop, force=True)) == [f"marketplace (in process) {url}/"]
    finally:
        demo_market.stop()
    # a second demo run on the same shop home rebuilds nothing: the releases are already there
    monkeypatch.setattr(demo_market, "_serving", lambda: True)
    try:
        again = list(demo_market.start(shop))
        assert len(again) == 1 and again[0].startswith("marketplace (in process)")
    finally:
        demo_market.stop()
