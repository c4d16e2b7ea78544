"""The admin App store: browse a real (in-process) marketplace, approve rights, install live,
upgrade, roll back, uninstall; roles without ``plugins:manage`` are refused."""
from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from comptoir.kernel.installer.models import InstalledPlugin
from comptoir.kernel.installer.service import Installer
from comptoir.kernel.money import Money
from comptoir.kernel.runtime import Kernel
from comptoir.kernel.types import Address, ShipmentRequest
from comptoir.kernel.web.app import create_app
from comptoir.marketplace.app import create_app as create_market_app
from comptoir.marketplace.models import Vendor
from comptoir.marketplace.service import Marketplace
from comptoir.marketplace.settings import MarketSettings
from comptoir.sdk.signing import generate_key, public_b64
from comptoir.sdk.testing import build_release
from tests.kernel.web.helpers import csrf_of, sign_in

pytestmark = pytest.mark.xdist_group("appstore")  # one worker builds the release wheels once

SHIPMENT = ShipmentRequest(destination=Address("A", "1 rue", "75001", "Paris", "FR"), weight_grams=1200,
                           value=Money(3000, "EUR"))


def _v110(src: Path) -> None:
    """1.1.0 asks for a data right and quotes an express service."""
    py = src / "pyproject.toml"
    py.write_text(py.read_text() + '\n[tool.comptoir.scopes]\ndata = ["orders:read"]\n')
    plugin = next(src.glob("comptoir_*/plugin.py"))
    plugin.write_text(re.sub(r'service="standard"', 'service="express"', plugin.read_text()))


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    key = generate_key()
    work = tmp_path_factory.mktemp("appstore-built")
    pid = f"store-{uuid.uuid4().hex[:6]}"
    return {"id": pid, "key": key, "1.0.0": build_release(work / "a", pid, "1.0.0", key=key),
            "1.1.0": build_release(work / "b", pid, "1.1.0", key=key, edit=_v110)}


@pytest.fixture
def market(tmp_path: Path, releases: dict[str, Any]) -> Iterator[Marketplace]:
    mp = Marketplace(MarketSettings(home=tmp_path / "market", admin_token="op", auto_approve_keys=True))
    vendor, _, _ = mp.register_vendor("acme", public_b64(releases["key"]))
    wheel, sig = releases["1.0.0"]
    mp.upload(vendor, wheel.name, wheel.read_bytes(), sig.read_bytes())
    yield mp
    mp.close()


@pytest.fixture
def store(shop: Kernel, market: Marketplace, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The shop's admin, its installer talking to the marketplace app (plugins run in process)."""
    monkeypatch.setenv("COMPTOIR_SANDBOX", "off")
    shop.services["installer"] = Installer(shop, "http://testserver", client=TestClient(create_market_app(market=market)))
    with TestClient(create_app(shop, start_jobs=False)) as c:
        yield c


def _services(kernel: Kernel, pid: str) -> list[str]:
    return [q.service for q in kernel.host.call("shipping_quotes", shipment=SHIPMENT) if q.id.startswith(pid)]


def _publish(market: Marketplace, releases: dict[str, Any], version: str) -> None:
    with market.factory() as s:
        vendor = s.scalar(select(Vendor).where(Vendor.name == "acme"))
    wheel, sig = releases[version]
    market.upload(vendor, wheel.name, wheel.read_bytes(), sig.read_bytes())


def test_owner_browses_approves_installs_upgrades_rolls_back_and_uninstalls(
        store: TestClient, shop: Kernel, market: Marketplace, releases: dict[str, Any]) -> None:
    pid = releases["id"]
    assert sign_in(store, "owner@shop.test").status_code == 303
    assert 'href="/admin/appstore"' in store.get("/admin").text  # in the menu
    catalog = store.get("/admin/appstore", params={"q": pid})
    assert catalog.status_code == 200 and f'id="listing-{pid}"' in catalog.text
    assert pid not in store.get("/admin/appstore", params={"category": "payments"}).text  # it is a shipping plugin
    info = store.get(f"/admin/appstore/{pid}")
    assert info.status_code == 200 and "compatible with this shop" in info.text and "free" in info.text

    review = store.get(f"/admin/appstore/{pid}/review")
    assert review.status_code == 200 and "Approve and install" in review.text
    sha = re.search(r'name="sha256" value="([0-9a-f]{64})"', review.text).group(1)  # type: ignore[union-attr]
    assert _services(shop, pid) == []  # reviewing installs nothing
    csrf = csrf_of(store)
    done = store.post(f"/admin/appstore/{pid}/install", data={"csrf": csrf, "version": "1.0.0", "sha256": sha})
    assert done.status_code == 200 and "installed, 1.0.0" in done.text
    assert _services(shop, pid) == ["standard"]  # live, no restart

    _publish(market, releases, "1.1.0")
    review = store.get(f"/admin/appstore/{pid}/review")
    assert "Upgrade" in review.text and 'value="orders:read"' in review.text  # the new right is shown
    sha = re.search(r'name="sha256" value="([0-9a-f]{64})"', review.text).group(1)  # type: ignore[union-attr]
    refused = store.post(f"/admin/appstore/{pid}/install", data={"csrf": csrf, "version": "1.1.0", "sha256": sha})
    assert "need your approval: orders:read" in refused.text  # not ticked: nothing changes
    assert _services(shop, pid) == ["standard"]
    wrong = store.post(f"/admin/appstore/{pid}/install",
                       data={"csrf": csrf, "version": "1.1.0", "sha256": "0" * 64, "right": "orders:read"})
    assert "changed since you reviewed it" in wrong.text and _services(shop, pid) == ["standard"]
    done = store.post(f"/admin/appstore/{pid}/install",
                      data={"csrf": csrf, "version": "1.1.0", "sha256": sha, "right": "orders:read"})
    assert "upgraded from 1.0.0 to 1.1.0" in done.text
    assert _services(shop, pid) == ["express"] and shop.host.rights.allowed(pid, "orders:read")

    back = store.post(f"/admin/appstore/{pid}/rollback", data={"csrf": csrf})
    assert "rolled back to 1.0.0" in back.text and _services(shop, pid) == ["standard"]

    gone = store.post(f"/admin/appstore/{pid}/uninstall", data={"csrf": csrf, "data": "delete"})
    assert gone.status_code == 200 and "uninstalled" in gone.text
    assert _services(shop, pid) == [] and pid not in shop.host.records
    with shop.factory() as s:
        assert s.get(InstalledPlugin, pid) is None
    assert not (shop.settings.effective_plugin_dir / pid).exists()


def test_roles_without_the_plugins_right_are_refused(store: TestClient, releases: dict[str, Any]) -> None:
    pid = releases["id"]
    assert sign_in(store, "marketing@shop.test").status_code == 303
    assert 'href="/admin/appstore"' not in store.get("/admin").text
    assert store.get("/admin/appstore").status_code == 403
    assert store.get(f"/admin/appstore/{pid}/review").status_code == 403
    csrf = csrf_of(store)
    r = store.post(f"/admin/appstore/{pid}/install", data={"csrf": csrf, "version": "1.0.0", "sha256": "0" * 64})
    assert r.status_code == 403
    assert pid not in store.app.state.kernel.host.records  # type: ignore[attr-defined]


def test_post_without_csrf_is_refused(store: TestClient, releases: dict[str, Any]) -> None:
    assert sign_in(store, "manager@shop.test").status_code == 303
    assert store.get("/admin/appstore").status_code == 200  # managers have plugins:manage
    r = store.post(f"/admin/appstore/{releases['id']}/install", data={"version": "1.0.0", "sha256": "0" * 64})
    assert r.status_code == 403


def test_pricing_plans_read_in_one_line() -> None:
    from comptoir.kernel.web.admin.appstore_views import pricing_text

    assert pricing_text({"model": "free"}) == "free"
    assert pricing_text({"model": "one_time", "price": 4900, "currency": "EUR"}) == "49.00 EUR"
    assert pricing_text({"model": "recurring_usage", "price": 900, "interval": "month", "usage_unit": "label",
                         "usage_price": 15, "usage_cap": 5000, "trial_days": 14, "currency": "EUR"}) == (
        "9.00 EUR / month + 0.15 EUR / label, capped at 50.00 EUR a month (14-day trial)")
