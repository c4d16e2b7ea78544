"""A test kernel with the PayPal plugin alone, its app credentials in the store and its
rights granted for the local fake PayPal."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

import comptoir_paypal_checkout.plugin as plugin_module
from comptoir.sdk import manifest_from_pyproject
from plugins.paypal_checkout.tests.fake_paypal import CLIENT_ID, CLIENT_SECRET, WEBHOOK_ID, FakePayPal

PLUGIN = "paypal-checkout"
MANIFEST = manifest_from_pyproject(Path(__file__).resolve().parents[1] / "pyproject.toml")


@pytest.fixture
def fake() -> Iterator[FakePayPal]:
    server = FakePayPal().start()
    yield server
    server.stop()


def connect(kernel: Any, fake: FakePayPal, **settings: Any) -> None:
    creds = kernel.services["credentials"]
    creds.store.create_account(PLUGIN, "client", kind="basic", provider="paypal", config={"username": CLIENT_ID})
    creds.store.put(PLUGIN, "client", "password", CLIENT_SECRET)
    creds.grant(PLUGIN, [f"host:127.0.0.1:{fake.port}"], "admin")
    kernel.host.configure(PLUGIN, {"api_base": fake.url, "timeout_s": 1, "webhook_id": WEBHOOK_ID, **settings})


@pytest.fixture
def kernel(plugin_kernel: Any, fake: FakePayPal) -> Iterator[Any]:
    k = plugin_kernel((plugin_module, MANIFEST))
    connect(k, fake)
    yield k  # closed by plugin_kernel
