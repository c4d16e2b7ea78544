"""examples/colis-express from the vendor's desk to a shop's checkout, and back out.

new (the example was scaffolded) → check → test → build → keygen → sign → register →
publish → search → install (live, no restart) → its quote serves a checkout → uninstall
leaves no trace. The marketplace runs on a real loopback port.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from comptoir.kernel.cli import cli
from comptoir.kernel.types import Address
from comptoir.marketplace.app import create_app
from comptoir.marketplace.local import LocalServer
from comptoir.marketplace.service import Marketplace
from comptoir.marketplace.settings import MarketSettings

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "colis-express"
ADDRESS = Address(name="Ada Martin", line1="3 rue des Lilas", postal_code="75011", city="Paris", country="FR")


def _run(*args: str, env: dict[str, str] | None = None) -> str:
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The vendor's side, all through the `comptoir sdk` commands (once for this module)."""
    tmp_path = tmp_path_factory.mktemp("vendor")
    src = tmp_path / "colis-express"
    shutil.copytree(EXAMPLE, src, ignore=shutil.ignore_patterns("dist", "build", "*.egg-info", "__pycache__"))
    assert "hooks ok: shipping_create_label, shipping_quotes, shipping_track" in _run("sdk", "check", str(src))
    proc = subprocess.run([str(Path(sys.executable).parent / "comptoir"), "sdk", "test", str(src)],
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0 and "3 passed" in proc.stdout, proc.stdout + proc.stderr
    _run("sdk", "build", str(src))
    wheel = next((src / "dist").glob("*.whl"))
    key = tmp_path / "colis-co.key"
    _run("sdk", "keygen", "--out", str(key))
    _run("sdk", "sign", str(wheel), "--key", str(key))
    market = Marketplace(MarketSettings(home=tmp_path / "market", admin_token="op"))
    server = LocalServer(create_app(market=market))
    url = server.start()
    try:
        out = _run("sdk", "register", "colis-co", "--key", str(key), "--marketplace", url)
        token = out.rsplit(":", 1)[1].strip()
        assert "is pending" in out
        market.approve_key(out.split("key ")[1].split()[0])  # the operator approves the vendor's key
        assert "published colis-express 0.1.0" in _run("sdk", "publish", str(wheel), "--marketplace", url,
                                                        "--token", token)
        yield url, market
    finally:
        server.stop()
        market.close()


@pytest.mark.slow
def test_vendor_to_checkout_and_back(published: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url, market = published
    monkeypatch.setenv("COMPTOIR_MARKETPLACE_URL", url)
    from comptoir.kernel.migrate import upgrade
    from comptoir.kernel.runtime import Kernel
    from comptoir.kernel.services.checkout import CheckoutRequest, checkout_service
    from comptoir.kernel.settings import Settings
    from comptoir.sdk.testing import seed_demo

    home = tmp_path / "shop"
    env = {"COMPTOIR_HOME": str(home), "COMPTOIR_MARKETPLACE_URL": url, "COMPTOIR_DATABASE_URL": ""}
    # the merchant finds it from the command line
    found = _run("plugins", "search", "colis", env=env)
    assert "colis-express" in found and "usage 0.25 EUR" in found
    assert "rights: none" in _run("plugins", "info", "colis-express", env=env)

    # a running shop installs it through the installer API (what the App store page calls)
    kernel = Kernel(Settings(home=home, database_url=f"sqlite:///{home / 'shop.db'}"))
    upgrade(kernel.engine)
    seed_demo(kernel.factory)
    kernel.boot()
    try:
        from comptoir.kernel.db import transaction
        from comptoir.kernel.services.carts import add_item, create_cart

        with transaction(kernel.factory) as s:
            cart = create_cart(s, "EUR")
            add_item(s, cart, sku="MUG-ENAMEL", quantity=2)
            token = cart.token
        svc = checkout_service(kernel)
        assert not any(q.plugin == "colis-express" for q in svc.shipping_quotes(token, ADDRESS))
        kernel.services["installer"].install("colis-express", approve=True)
        quotes = svc.shipping_quotes(token, ADDRESS)  # same kernel, no restart
        mine = next(q for q in quotes if q.plugin == "colis-express")
        assert (mine.service, mine.price.amount) == ("Express 24h", 590 + 150)  # 700 g: second band
        methods = svc.payment_methods(token)
        order = svc.place(CheckoutRequest(cart_token=token, email="ada@example.com", address=ADDRESS,
                                          shipping_quote_id=mine.id, payment_method_id=methods[0].id))
        from comptoir.kernel.domain import Order

        with kernel.factory() as s:
            placed = s.get(Order, order.order_id)
            assert placed is not None and order.total.amount == 2 * 1800 + 740
        with market.factory() as s:
            from comptoir.marketplace.models import Plugin

            assert s.scalar(select(Plugin.install_count).where(Plugin.id == "colis-express")) == 1

        # uninstall: no code, no hook, no state left
        kernel.services["installer"].uninstall("colis-express", data="delete")
        with transaction(kernel.factory) as s:
            cart2 = create_cart(s, "EUR")
            add_item(s, cart2, sku="MUG-ENAMEL", quantity=1)
        assert not any(q.plugin == "colis-express" for q in svc.shipping_quotes(cart2.token, ADDRESS))
        assert not (home / "plugins" / "colis-express").exists()
        assert "colis-express" not in kernel.host.records
        assert not any(m.startswith("comptoir_colis_express") for m in sys.modules)
    finally:
        kernel.close()


@pytest.mark.slow
def test_cli_install_and_uninstall(published: Any, tmp_path: Path) -> None:
    url, _ = published
    env = {"COMPTOIR_HOME": str(tmp_path / "cli-shop"), "COMPTOIR_MARKETPLACE_URL": url, "COMPTOIR_DATABASE_URL": ""}
    assert "colis-express 0.1.0 installed and enabled" in _run("plugins", "install", "colis-express", "--yes", env=env)
    listed = _run("plugins", "list", env=env)
    assert "colis-express" in listed and "enabled" in listed
    assert "uninstalled" in _run("plugins", "uninstall", "colis-express", env=env)
    assert "colis-express" not in _run("plugins", "list", env=env)
