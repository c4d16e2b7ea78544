"""A test kernel with the Stripe plugin alone, its rights granted for the local fake
Stripe, and its keys in the credential store (as an admin would connect them)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

import comptoir_stripe_payments.plugin as plugin_module
from comptoir.sdk import manifest_from_pyproject
from plugins.stripe_payments.tests.fake_stripe import PUBLISHABLE_KEY, SECRET_KEY, FakeStripe

PLUGIN = "stripe-payments"
WEBHOOK_SECRET = "whsec_test_5f0b8c0e1d2a4b6c8e0f"
MANIFEST = manifest_from_pyproject(Path(__file__).resolve().parents[1] / "pyproject.toml")


@pytest.fixture
def fake() -> Iterator[FakeStripe]:
    server = FakeStripe().start()
    yield server
    server.stop()


def connect(kernel: Any, fake: FakeStripe, **settings: Any) -> Any:
    """Store the keys, grant the fake's address, point the plugin at it; returns ctx."""
    creds = kernel.services["credentials"]
    creds.store.create_account(PLUGIN, "secret_key", kind="api_key", provider="stripe")
    creds.store.put(PLUGIN, "secret_key", "api_key", SECRET_KEY)
    creds.store.create_account(PLUGIN, "webhook_secret", kind="api_key", provider="stripe")
    creds.store.put(PLUGIN, "webhook_secret", "api_key", WEBHOOK_SECRET)
    creds.grant(PLUGIN, [f"host:127.0.0.1:{fake.port}", "raw:webhook_secret"], "admin")
    kernel.host.configure(PLUGIN, {"api_base": fake.url, "js_base": fake.url, "publishable_key": PUBLISHABLE_KEY,
                                   "timeout_s": 2, **settings})
    return kernel.host.context(PLUGIN)


@pytest.fixture
def kernel(plugin_kernel: Any, fake: FakeStripe) -> Iterator[Any]:
    k = plugin_kernel((plugin_module, MANIFEST))
    connect(k, fake)
    yield k  # closed by plugin_kernel
