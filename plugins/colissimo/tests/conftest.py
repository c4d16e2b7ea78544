"""A test kernel with the Colissimo plugin alone, keys stored with the broker's header
injection, rights granted for the local fake services."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

import comptoir_colissimo.plugin as plugin_module
from comptoir.sdk import manifest_from_pyproject
from plugins.colissimo.tests.fake_colissimo import API_KEY, OKAPI_KEY, FakeColissimo

PLUGIN = "colissimo"
MANIFEST = manifest_from_pyproject(Path(__file__).resolve().parents[1] / "pyproject.toml")
SHOP = {"sender_name": "Atelier Lumière", "sender_line1": "5 rue du Port", "sender_postal_code": "44000",
        "sender_city": "Nantes", "sender_country": "FR"}


@pytest.fixture
def fake() -> Iterator[FakeColissimo]:
    server = FakeColissimo().start()
    yield server
    server.stop()


def connect(kernel: Any, fake: FakeColissimo) -> None:
    creds = kernel.services["credentials"]
    creds.store.create_account(PLUGIN, "api_key", kind="api_key", provider="colissimo",
                               config={"inject": "header", "header": "apiKey"})
    creds.store.put(PLUGIN, "api_key", "api_key", API_KEY)
    creds.store.create_account(PLUGIN, "okapi_key", kind="api_key", provider="laposte",
                               config={"inject": "header", "header": "X-Okapi-Key"})
    creds.store.put(PLUGIN, "okapi_key", "api_key", OKAPI_KEY)
    creds.grant(PLUGIN, [f"host:127.0.0.1:{fake.port}"], "admin")
    kernel.host.configure(PLUGIN, {"api_base": fake.url, "tracking_base": fake.url, "timeout_s": 1, **SHOP})


@pytest.fixture
def kernel(plugin_kernel: Any, fake: FakeColissimo) -> Iterator[Any]:
    k = plugin_kernel((plugin_module, MANIFEST))
    connect(k, fake)
    yield k  # closed by plugin_kernel
