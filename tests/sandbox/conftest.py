"""Fixtures for the sandbox tests: one shop per session, with a good sandboxed plugin
(carrier + payment + widget) and small limits so attacks end fast."""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from comptoir.kernel.db import make_engine, transaction
from comptoir.kernel.migrate import upgrade
from comptoir.kernel.runtime import Kernel
from comptoir.kernel.services import stock
from comptoir.kernel.services.carts import add_item, create_cart
from comptoir.kernel.services.catalog import VariantInput, create_product, ensure_location
from comptoir.kernel.services.checkout import CheckoutRequest, PlacedOrder, checkout_service
from comptoir.kernel.settings import Settings
from comptoir.kernel.types import Address
from comptoir.sandbox.manager import SandboxManager
from comptoir.sandbox.supervisor import SandboxLimits

PLUGINS = Path(__file__).resolve().parents[1] / "plugins"
ADDRESS = Address(name="Ada Martin", line1="3 rue des Lilas", postal_code="75011", city="Paris", country="FR")

# Small on purpose: a memory bomb stops at 128 MiB, a hung call after 1 s.
TEST_LIMITS = SandboxLimits(memory_bytes=128 * 1024 * 1024, cpu_seconds=5, open_files=64, file_bytes=1024 * 1024,
                            processes=16, max_out=256 * 1024, call_timeout_s=1.0, max_failures=3,
                            backoff_base_s=0.0)


@dataclasses.dataclass
class Shop:
    kernel: Kernel
    sandbox: SandboxManager
    sku: str
    master_key: str  # the content of home/master.key: must never come out of a worker

    def good(self, widget_id: str = "ping", **config: Any) -> Any:
        return self.kernel.host.call_one("sandboxed-good", "widget_data", widget_id=widget_id, config=config)

    def order(self) -> PlacedOrder:
        """A whole checkout through the sandboxed carrier and payment plugin."""
        with transaction(self.kernel.factory) as s:
            cart = create_cart(s, "EUR")
            add_item(s, cart, sku=self.sku, quantity=1)
            token = cart.token
        svc = checkout_service(self.kernel)
        quote = next(q for q in svc.shipping_quotes(token, ADDRESS) if q.plugin == "sandboxed-good")
        return svc.place(CheckoutRequest(cart_token=token, email="ada@example.com", address=ADDRESS,
                                         shipping_quote_id=quote.id, payment_method_id="sbx-card"))

    def assert_serving(self) -> None:
        """The shop still works: the good sandboxed plugin answers, the host is usable,
        and an order goes through the sandboxed carrier and payment."""
        assert self.good("echo", n=1)["config"] == {"n": 1}
        assert any(w.id == "sbx-orders" for w in self.kernel.host.call("dashboard_widgets", role="owner"))
        placed = self.order()
        assert placed.order_id > 0 and placed.payment_status in ("captured", "authorized")

    def add(self, folder: str, **limits: Any) -> str:
        """(Re)start a fixture plugin from tests/plugins with fresh supervision state."""
        rec = self.sandbox.add_source(PLUGINS / folder, limits=dataclasses.replace(TEST_LIMITS, **limits))
        grant = self.kernel.host.rights
        if hasattr(grant, "grant"):
            grant.grant(rec.name, rec.manifest.requested_rights(), "tests")
        return rec.name


def build_shop(tmp: Path, url: str = "") -> Shop:
    """A booted shop with one product in stock and the good sandboxed plugin enabled;
    on SQLite in ``tmp`` unless ``url`` names an (already migrated) database."""
    if not url:
        url = f"sqlite:///{tmp / 'shop.db'}"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
    home = tmp / "home"
    settings = Settings(home=home, database_url=url, hook_timeout_ms=5000)
    key_file = home / "master.key"
    try:  # a real master key file, where the credential store keeps it
        from comptoir.kernel.credentials.keys import ensure_master_key

        ensure_master_key(settings)
    except ImportError:
        pass
    if not key_file.exists():
        home.mkdir(parents=True, exist_ok=True)
        key_file.write_text("master-key-canary-" + os.urandom(8).hex())
        key_file.chmod(0o600)
    kernel = Kernel(settings).boot()
    manager: SandboxManager = kernel.services["sandbox"]
    manager.limits = TEST_LIMITS
    sku = f"SBX-{os.urandom(4).hex()}"  # unique: a PostgreSQL database may be shared by the session
    with transaction(kernel.factory) as s:
        loc = ensure_location(s, "WH", "Warehouse", priority=1)
        create_product(s, f"Mug {sku}", [VariantInput(sku=sku, price_amount=1990, weight_grams=350)])
        from sqlalchemy import select

        from comptoir.kernel.domain import Variant

        vid = s.scalars(select(Variant.id).where(Variant.sku == sku)).one()
        stock.receive(s, vid, loc.id or 0, 10_000)
    shop = Shop(kernel, manager, sku, key_file.read_text().strip())
    shop.add("sandboxed_good")
    return shop


@pytest.fixture(scope="session")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    """One shop for the whole sandbox suite; each attack gets a fresh worker (``attack``)."""
    s = build_shop(tmp_path_factory.mktemp("sandbox-shop"))
    yield s
    s.kernel.close()
    s.sandbox.close()


@pytest.fixture
def attack(shop: Shop) -> Callable[..., Any]:
    """``attack(folder, widget_id, **config)``: run one attack in a fresh hostile worker."""
    started: dict[str, str] = {}

    def run(folder: str, widget_id: str, **config: Any) -> Any:
        if folder not in started:
            started[folder] = shop.add(folder)
        return shop.kernel.host.call_one(started[folder], "widget_data", widget_id=widget_id, config=config)

    return run
