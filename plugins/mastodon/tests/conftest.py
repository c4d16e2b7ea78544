"""A test kernel with the Mastodon plugin alone, connected to the local instance the
way an admin does it: app registered, OAuth authorization code exchanged by the
kernel's connector, token in the credential store."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

import comptoir_mastodon.plugin as plugin_module
from comptoir.sdk import manifest_from_pyproject
from plugins.mastodon.tests.fake_mastodon import FakeMastodon

PLUGIN = "mastodon"
MANIFEST = manifest_from_pyproject(Path(__file__).resolve().parents[1] / "pyproject.toml")


@pytest.fixture
def fake() -> Iterator[FakeMastodon]:
    server = FakeMastodon().start()
    yield server
    server.stop()


def connect(kernel: Any, fake: FakeMastodon) -> None:
    creds = kernel.services["credentials"]
    creds.grant(PLUGIN, [f"host:127.0.0.1:{fake.port}"], "admin")
    kernel.host.configure(PLUGIN, {"instance": fake.url, "timeout_s": 2})
    app = plugin_module.register_app(kernel.host.context(PLUGIN), "https://shop.example/oauth/callback")
    url = creds.oauth.start(PLUGIN, "account", client_id=app["client_id"], client_secret=app["client_secret"],
                            authorize_url=app["authorize_url"], token_url=app["token_url"],
                            redirect_uri="https://shop.example/oauth/callback",
                            scope="read:notifications write:media write:statuses", provider="mastodon")
    state = parse_qs(urlsplit(url).query)["state"][0]
    fake.codes["code-from-instance"] = app["client_id"]  # the admin approved on the instance
    creds.oauth.callback(state, "code-from-instance")


@pytest.fixture
def kernel(plugin_kernel: Any, fake: FakeMastodon) -> Iterator[Any]:
    k = plugin_kernel((plugin_module, MANIFEST))
    connect(k, fake)
    yield k  # closed by plugin_kernel
