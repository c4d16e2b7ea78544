"""Browser fixtures: a seeded shop served by uvicorn in a thread, and Debian's Chromium
driven by Playwright (never a downloaded browser)."""
from __future__ import annotations

import shutil
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pytest

from comptoir.kernel.db import make_engine
from comptoir.kernel.migrate import upgrade
from comptoir.kernel.runtime import Kernel
from comptoir.kernel.staff import passwords
from comptoir.kernel.web.app import create_app
from tests.conftest import build_kernel
from tests.kernel.web.conftest import FAST_HASHER
from tests.kernel.web.helpers import seed

CHROMIUM = "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def seeded_kernel(root: Path) -> Iterator[Kernel]:
    """A booted kernel on a migrated SQLite shop with the web tests' seed data (fast hashing)."""
    url = f"sqlite:///{root / 'shop.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    old, passwords._HASHER = passwords._HASHER, FAST_HASHER
    kernel = build_kernel(root, url).boot()
    try:
        seed(kernel)
        yield kernel
    finally:
        kernel.close()
        passwords._HASHER = old


@contextmanager
def serve(kernel: Kernel, *, start_jobs: bool = True) -> Iterator[str]:
    """Serve ``create_app(kernel)`` with uvicorn in a thread; yields the base URL."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(kernel, start_jobs=start_jobs), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def live_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a running shop (uvicorn in a thread, SQLite)."""
    with seeded_kernel(tmp_path_factory.mktemp("browser")) as kernel, serve(kernel) as base:
        yield base


@pytest.fixture(scope="module")
def providers() -> Iterator[tuple[Any, Any]]:
    """The local Stripe and Colissimo protocol servers (the plugins' test servers)."""
    from plugins.colissimo.tests.fake_colissimo import FakeColissimo
    from plugins.stripe_payments.tests.fake_stripe import FakeStripe

    stripe, colissimo = FakeStripe().start(), FakeColissimo().start()
    yield stripe, colissimo
    stripe.stop()
    colissimo.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not shutil.which(CHROMIUM):
        pytest.skip("Debian chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM,
                              args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = ctx.new_page()
    pg.set_default_timeout(15_000)
    yield pg
    ctx.close()


# ---- steps shared by the browser tests -------------------------------------------
SHOPPER = {"email": "shopper@example.com", "name": "Chloé Durand", "line1": "12 rue des Martyrs",
           "postal_code": "75009", "city": "Paris"}


def staff_sign_in(page: Any, base: str, email: str = "owner@shop.test") -> None:
    """Sign a seeded staff account in (see tests/kernel/web/helpers.py seed)."""
    import re

    from tests.kernel.web.helpers import PASSWORD

    page.goto(f"{base}/admin/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/admin$"))


def to_checkout_options(page: Any, base: str, shopper: dict[str, str] = SHOPPER) -> None:
    """The first product into the cart, the address typed, the shipping and payment
    options shown (``#place-order`` is on the page)."""
    import re

    page.goto(base + "/")
    page.click(".product-card >> nth=0")
    page.click("#add-to-cart")
    page.wait_for_url(re.compile(r".*/shop/cart$"))
    page.click("#checkout-link")
    for name, value in shopper.items():
        page.fill(f"input[name={name}]", value)
    page.click("#see-options")
    page.wait_for_selector("#place-order")


def place_order(page: Any, *, quote: str = "", method: str = "") -> str:
    """Pick the shipping quote and payment method (defaults: the first of each), place
    the order; returns its number from the order page."""
    if quote:
        page.check(f"input[name=quote][value='{quote}']")
    if method:
        page.check(f"input[name=method][value={method}]")
    page.click("#place-order")
    page.wait_for_selector("#order-number")
    return str(page.inner_text("#order-number"))
