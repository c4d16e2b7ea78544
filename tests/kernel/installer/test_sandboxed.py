"""The production default: a marketplace install runs in the sandbox, live, and leaves with uninstall."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.xdist_group("installer")  # one worker builds the release wheels once

from comptoir.kernel.installer.service import Installer
from comptoir.kernel.money import Money
from comptoir.kernel.types import Address, ShipmentRequest

SHIPMENT = ShipmentRequest(destination=Address("A", "1 rue", "75001", "Paris", "FR"), weight_grams=1200,
                           value=Money(3000, "EUR"))


@pytest.mark.slow
def test_install_runs_in_the_sandbox_and_uninstall_stops_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
                                                            market_client, built) -> None:
    from comptoir.sdk.testing import build_test_kernel

    monkeypatch.setenv("COMPTOIR_SANDBOX", "untrusted")
    shop = build_test_kernel(tmp_path / "shop")
    try:
        installer = Installer(shop, "http://testserver", client=market_client)
        pid = built["id"]
        installer.install(pid, "1.0.0")
        rec = shop.host.records[pid]
        assert rec.source == "sandbox" and rec.enabled
        worker: Any = shop.services["sandbox"].plugins[pid]
        quotes = [q for q in shop.host.call("shipping_quotes", shipment=SHIPMENT) if q.id.startswith(pid)]
        assert [(q.service, q.price) for q in quotes] == [("standard", Money(490 + 2 * 100, "EUR"))]
        assert worker.proc is not None  # served by a worker process, not imported here
        installer.uninstall(pid)
        assert pid not in shop.host.records and worker.proc is None
        assert [q for q in shop.host.call("shipping_quotes", shipment=SHIPMENT) if q.id.startswith(pid)] == []
    finally:
        shop.close()


def test_a_sandboxed_plugin_cannot_bring_tables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
                                                market_client, built) -> None:
    from comptoir.kernel.installer.errors import InstallRefused
    from comptoir.sdk.testing import build_test_kernel

    monkeypatch.setenv("COMPTOIR_SANDBOX", "untrusted")
    shop = build_test_kernel(tmp_path / "shop")
    try:
        pid = "tables-" + built["id"].split("-")[1]
        with pytest.raises(InstallRefused, match=f"own database tables.*COMPTOIR_TRUSTED_PLUGINS={pid}"):
            Installer(shop, "http://testserver", client=market_client).install(pid)
        assert pid not in shop.host.records
    finally:
        shop.close()
