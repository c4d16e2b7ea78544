"""A test kernel with the Mondial Relay plugin alone, its private key stored (raw use
approved) and its rights granted for the local fake WSI."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

import comptoir_mondial_relay.plugin as plugin_module
from comptoir.sdk import manifest_from_pyproject
from plugins.mondial_relay.tests.fake_mondial_relay import ENSEIGNE, PRIVATE_KEY, FakeMondialRelay

PLUGIN = "mondial-relay"
MANIFEST = manifest_from_pyproject(Path(__file__).resolve().parents[1] / "pyproject.toml")
SHOP = {"sender_name": "Atelier Lumiere", "sender_line1": "5 rue du Port", "sender_postal_code": "44000",
        "sender_city": "Nantes", "sender_country": "FR", "sender_phone": "+33240000000"}


@pytest.fixture
def fake() -> Iterator[FakeMondialRelay]:
    server = FakeMondialRelay().start()
    yield server
    server.stop()


def connect(kernel: Any, fake: FakeMondialRelay) -> None:
    creds = kernel.services["credentials"]
    creds.store.create_account(PLUGIN, "private_key", kind="api_key", provider="mondial-relay")
    creds.store.put(PLUGIN, "private_key", "api_key", PRIVATE_KEY)
    creds.grant(PLUGIN, [f"host:127.0.0.1:{fake.port}", "raw:private_key"], "admin")
    kernel.host.configure(PLUGIN, {"api_base": fake.url, "label_base": fake.url, "enseigne": ENSEIGNE,
                                   "timeout_s": 1, **SHOP})


@pytest.fixture
def kernel(plugin_kernel: Any, fake: FakeMondialRelay) -> Iterator[Any]:
    k = plugin_kernel((plugin_module, MANIFEST))
    connect(k, fake)
    yield k  # closed by plugin_kernel
