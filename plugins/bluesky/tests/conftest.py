"""A test kernel with the Bluesky plugin alone, its app password stored (raw use
approved) and its rights granted for the local PDS."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

import comptoir_bluesky.plugin as plugin_module
from comptoir.sdk import manifest_from_pyproject
from plugins.bluesky.tests.fake_bluesky import APP_PASSWORD, HANDLE, FakeBluesky

PLUGIN = "bluesky"
MANIFEST = manifest_from_pyproject(Path(__file__).resolve().parents[1] / "pyproject.toml")


@pytest.fixture
def fake() -> Iterator[FakeBluesky]:
    server = FakeBluesky().start()
    yield server
    server.stop()


@pytest.fixture
def kernel(plugin_kernel: Any, fake: FakeBluesky) -> Iterator[Any]:
    k = plugin_kernel((plugin_module, MANIFEST))
    creds = k.services["credentials"]
    creds.store.create_account(PLUGIN, "app_password", kind="api_key", provider="bluesky")
    creds.store.put(PLUGIN, "app_password", "api_key", APP_PASSWORD)
    creds.grant(PLUGIN, [f"host:127.0.0.1:{fake.port}", "raw:app_password"], "admin")
    k.host.configure(PLUGIN, {"service": fake.url, "handle": HANDLE, "timeout_s": 2})
    yield k  # closed by plugin_kernel
