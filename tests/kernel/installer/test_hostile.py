"""Hostile releases and indexes: each refused with a message saying what is wrong."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

pytestmark = pytest.mark.xdist_group("installer")  # one worker builds the release wheels once
from sqlalchemy import select

from comptoir.kernel.hookspecs import HOOK_API_VERSION
from comptoir.kernel.installer.errors import InstallRefused, StaleIndex, UntrustedRelease
from comptoir.kernel.installer.service import Installer
from comptoir.marketplace.models import Release, Vendor, VendorKey
from comptoir.sdk.signing import generate_key, public_b64


def _nothing_installed(shop: Any, pid: str) -> None:
    assert pid not in shop.host.records
    assert not (shop.settings.effective_plugin_dir / pid).exists()


def test_tampered_wheel_on_the_marketplace(shop, installer, built, market) -> None:  # type: ignore[no-untyped-def]
    pid = built["id"]
    path = market.settings.files_dir / built["1.0.0"][0].name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(UntrustedRelease, match="is not the signed"):
        installer.install(pid, "1.0.0")
    _nothing_installed(shop, pid)


def test_wrong_vendor_signature(shop, installer, built, market) -> None:  # type: ignore[no-untyped-def]
    pid = built["id"]
    with market.factory() as s, s.begin():
        rels = {r.version: r for r in s.scalars(select(Release).where(Release.plugin_id == pid))}
        rels["1.0.0"].vendor_signature = rels["1.1.0"].vendor_signature  # a real signature, of another file
    with pytest.raises(UntrustedRelease, match="vendor signature: the signature does not verify"):
        installer.install(pid, "1.0.0")
    _nothing_installed(shop, pid)


def test_unknown_vendor_key(shop, installer, built, market) -> None:  # type: ignore[no-untyped-def]
    """The marketplace serves a vendor key it never counter-signed (e.g. a swapped key)."""
    pid = built["id"]
    with market.factory() as s, s.begin():
        key = s.scalar(select(VendorKey))
        key.public_key = public_b64(generate_key())
    with pytest.raises(UntrustedRelease, match="marketplace counter-signature: the signature does not verify"):
        installer.install(pid, "1.0.0")
    _nothing_installed(shop, pid)


def test_replay_of_an_older_release_is_a_refused_downgrade(shop, installer, built) -> None:  # type: ignore[no-untyped-def]
    pid = built["id"]
    installer.install(pid, "1.1.0", approve=True)
    with pytest.raises(InstallRefused, match=f"refusing to downgrade {pid} from 1.1.0 to 1.0.0"):
        installer.install(pid, "1.0.0")
    assert shop.host.records[pid].manifest.version == "1.1.0"


def test_index_rolled_back_to_an_older_snapshot(shop, installer, built, market, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    old = market.snapshot()
    with market.factory() as s:
        vendor = s.scalar(select(Vendor).where(Vendor.name == "acme"))
    market.yank(vendor, built["id"], "1.1.0")  # a change: the marketplace issues a newer snapshot
    assert installer.snapshot().version == old["signed"]["version"] + 1
    monkeypatch.setattr(market, "snapshot", lambda **kw: old)  # a mirror replays the old index
    with pytest.raises(StaleIndex, match=r"went back from version \d+ to \d+"):
        installer.install(built["id"], "1.0.0")
    _nothing_installed(shop, built["id"])


def test_frozen_index_has_expired(shop, installer, built, market, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    frozen = market.snapshot(now=datetime.now(timezone.utc) - timedelta(days=3))
    monkeypatch.setattr(market, "snapshot", lambda **kw: frozen)
    with pytest.raises(StaleIndex, match="expired at"):
        installer.install(built["id"], "1.0.0")


def test_forged_index_and_changed_marketplace_key(shop, installer, built, market, market_client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    doc = market.snapshot()
    forged = {**doc, "signed": {**doc["signed"], "version": doc["signed"]["version"] + 100}}
    monkeypatch.setattr(market, "snapshot", lambda **kw: forged)
    with pytest.raises(UntrustedRelease, match="not signed by its pinned key"):
        installer.install(built["id"], "1.0.0")
    other = Installer(shop, "http://testserver", market_key=public_b64(generate_key()), client=market_client)
    with pytest.raises(UntrustedRelease, match="now presents key"):
        other.install(built["id"], "1.0.0")


def test_kernel_range_the_shop_cannot_meet(shop, installer, built) -> None:  # type: ignore[no-untyped-def]
    pid = "future-" + built["id"].split("-")[1]
    with pytest.raises(InstallRefused, match=rf"needs kernel hook API >=2.0,<3; this shop runs {HOOK_API_VERSION}"):
        installer.install(pid)
    _nothing_installed(shop, pid)


def test_two_plugins_claiming_one_exclusive_slot(shop, installer, built) -> None:  # type: ignore[no-untyped-def]
    tag = built["id"].split("-")[1]
    installer.install(f"slot-a-{tag}")
    with pytest.raises(InstallRefused, match=f"claims the exclusive slot 'carrier-slot', held by 'slot-a-{tag}'"):
        installer.install(f"slot-b-{tag}")
    _nothing_installed(shop, f"slot-b-{tag}")


def test_blocked_version_is_refused(shop, installer, built, market) -> None:  # type: ignore[no-untyped-def]
    market.block(built["id"], "1.0.0", "steals card numbers")
    with pytest.raises(InstallRefused, match="is blocked by the marketplace"):
        installer.install(built["id"], "1.0.0")


def test_audit_disables_an_installed_version_blocked_later(shop, installer, built, market) -> None:  # type: ignore[no-untyped-def]
    pid = built["id"]
    installer.install(pid, "1.0.0")
    assert installer.audit() == []
    market.block(pid, "1.0.0", "exfiltrates orders")
    assert installer.audit() == [f"{pid} 1.0.0"]
    assert not shop.host.records[pid].enabled


def test_missing_dependency_is_refused(installer) -> None:  # type: ignore[no-untyped-def]
    from comptoir.kernel.manifest import parse_manifest

    m = parse_manifest({"id": "needs-stuff", "name": "N", "version": "1.0.0", "vendor": "acme",
                        "requires": ["loyalty-engine"]})
    with pytest.raises(InstallRefused, match="needs the plugin\\(s\\) loyalty-engine; install them first"):
        installer._check_compatible(m)
