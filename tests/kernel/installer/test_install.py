"""Install from the catalog: verified, approved, enabled live; upgrade, rollback, uninstall."""
from __future__ import annotations

import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.xdist_group("installer")  # one worker builds the release wheels once

from comptoir.kernel.domain.events import PluginState
from comptoir.kernel.errors import NotFound
from comptoir.kernel.installer.errors import InstallRefused, RightsApprovalNeeded
from comptoir.kernel.installer.models import InstalledPlugin
from comptoir.kernel.money import Money
from comptoir.kernel.types import Address, ShipmentRequest

SHIPMENT = ShipmentRequest(destination=Address("A", "1 rue", "75001", "Paris", "FR"), weight_grams=1200,
                           value=Money(3000, "EUR"))


def _services(kernel: Any, pid: str) -> list[str]:
    return [q.service for q in kernel.host.call("shipping_quotes", shipment=SHIPMENT) if q.id.startswith(pid)]


def test_install_enables_the_hook_live_and_survives_restart(shop, installer, built, market, tmp_path) -> None:  # type: ignore[no-untyped-def]
    pid = built["id"]
    assert _services(shop, pid) == []
    plan = installer.install(pid, "1.0.0")
    assert plan.rights == [] and plan.version == "1.0.0"
    assert _services(shop, pid) == ["standard"]  # live, no restart
    assert (shop.settings.effective_plugin_dir / pid / "1.0.0").is_dir()
    with market.factory() as s:
        from comptoir.marketplace.models import Plugin

        assert s.get(Plugin, pid).install_count == 1
    # a new kernel process on the same shop finds the installed plugin and enables it
    from comptoir.kernel.runtime import Kernel

    again = Kernel(shop.settings, discover=False, default_enabled=()).boot()
    try:
        assert again.host.records[pid].source == "installed"
        assert _services(again, pid) == ["standard"]
    finally:
        again.close()


def test_rights_need_approval_and_are_granted(shop, installer, built) -> None:  # type: ignore[no-untyped-def]
    pid = built["id"]
    installer.install(pid, "1.0.0")
    with pytest.raises(RightsApprovalNeeded) as err:
        installer.upgrade(pid)
    assert err.value.rights == ["orders:read"] and "orders:read" in err.value.message
    assert _services(shop, pid) == ["standard"]  # nothing changed
    with pytest.raises(RightsApprovalNeeded):
        installer.upgrade(pid, approve=["products:read"])  # approving something else is not enough
    plan = installer.upgrade(pid, approve=["orders:read"])
    assert (plan.version, plan.upgrade_from) == ("1.1.0", "1.0.0")
    assert _services(shop, pid) == ["express"]  # the new code serves, live
    assert shop.host.rights.allowed(pid, "orders:read")
    with shop.factory() as s:
        row = s.get(InstalledPlugin, pid)
        assert (row.version, row.previous_version, row.approved_rights) == ("1.1.0", "1.0.0", ["orders:read"])


def test_upgrade_then_rollback_is_live(shop, installer, built) -> None:  # type: ignore[no-untyped-def]
    pid = built["id"]
    installer.install(pid, "1.0.0")
    installer.upgrade(pid, approve=True)
    assert installer.rollback(pid) == "1.0.0"
    assert _services(shop, pid) == ["standard"]
    assert installer.rollback(pid) == "1.1.0"  # and forward again: both versions are kept
    assert _services(shop, pid) == ["express"]


def test_uninstall_leaves_no_trace(shop, installer, built, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pid = built["id"]
    installer.install(pid, "1.1.0", approve=True)
    storage = shop.settings.data_dir / "plugins" / pid
    storage.mkdir(parents=True, exist_ok=True)
    (storage / "cache.json").write_text('{"rates": 3}')
    shop.host.configure(pid, {"base_price": 700})
    out = installer.uninstall(pid, data="export", export_to=tmp_path / "export.zip")
    with zipfile.ZipFile(out["export"]) as zf:
        assert zf.read("storage/cache.json") == b'{"rates": 3}'
        assert b'"base_price": 700' in zf.read("plugin.json")
    assert _services(shop, pid) == []
    assert pid not in shop.host.records
    assert not (shop.settings.effective_plugin_dir / pid).exists() and not storage.exists()
    assert not any(m.startswith(f"comptoir_{pid.replace('-', '_')}") for m in sys.modules)
    assert not shop.host.rights.allowed(pid, "orders:read")
    with shop.factory() as s:
        assert s.get(PluginState, pid) is None and s.get(InstalledPlugin, pid) is None
    with pytest.raises(NotFound, match="not installed"):
        installer.uninstall(pid)


def test_a_failing_upgrade_leaves_the_shop_unchanged(shop, installer, built, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    pid = built["id"]
    installer.install(pid, "1.0.0")

    enable = shop.host.enable

    def failing_enable(name: str, **kw: Any) -> Any:
        if shop.host.records[name].manifest.version == "1.1.0":
            raise RuntimeError("disk full")
        return enable(name, **kw)

    monkeypatch.setattr(shop.host, "enable", failing_enable)
    with pytest.raises(InstallRefused, match="failed to start: RuntimeError: disk full; the shop is unchanged"):
        installer.upgrade(pid, approve=True)
    assert _services(shop, pid) == ["standard"]
    assert not (shop.settings.effective_plugin_dir / pid / "1.1.0").exists()


def test_install_by_another_process_goes_live_on_refresh(shop, built, market_client) -> None:  # type: ignore[no-untyped-def]
    """The CLI (another kernel on the same shop) installs, upgrades, uninstalls; the running shop follows."""
    from comptoir.kernel.installer.service import Installer
    from comptoir.kernel.runtime import Kernel

    pid = built["id"]
    cli_kernel = Kernel(shop.settings, discover=False, default_enabled=()).boot()
    try:
        other = Installer(cli_kernel, "http://testserver", client=market_client)
        other.install(pid, "1.0.0")
        assert shop.host.refresh(max_age_s=0)
        assert _services(shop, pid) == ["standard"]
        other.upgrade(pid, approve=True)
        shop.host.refresh(max_age_s=0)
        assert _services(shop, pid) == ["express"]
        other.uninstall(pid)
        shop.host.refresh(max_age_s=0)
        assert _services(shop, pid) == [] and pid not in shop.host.records
    finally:
        cli_kernel.close()


def test_review_needs_an_install_and_rollback_refuses_a_blocked_version(shop, installer, built, market) -> None:  # type: ignore[no-untyped-def]
    pid = built["id"]
    with pytest.raises(NotFound, match="only installers may review"):
        installer.review(pid, 5)
    installer.install(pid, "1.0.0")
    installer.review(pid, 4, "quick quotes")
    from comptoir.marketplace.catalog import listing

    assert listing(market, pid)["rating"] == 4.0
    installer.upgrade(pid, approve=True)
    market.block(pid, "1.0.0", "leaks addresses")
    with pytest.raises(InstallRefused, match="blocked by the marketplace since"):
        installer.rollback(pid)
    assert _services(shop, pid) == ["express"]


def test_plugin_tables_migrate_on_install_and_go_with_delete(shop, installer, built) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import inspect

    from comptoir.kernel.migrate import current, upgrade

    pid = "tables-" + built["id"].split("-")[1]
    table = "comptoir_" + pid.replace("-", "_") + "_rates"
    installer.install(pid)
    assert inspect(shop.engine).has_table(table)
    upgrade(shop.engine)  # the kernel's own upgrades are unaffected by the plugin's branch
    assert not any(r.startswith("r1_") for r in current(shop.engine))
    installer.uninstall(pid, data="delete")
    insp = inspect(shop.engine)
    assert not insp.has_table(table) and not insp.has_table("alembic_version_" + pid.replace("-", "_"))
