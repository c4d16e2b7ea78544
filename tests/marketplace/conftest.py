"""A marketplace per test, and plugin releases built once per session with the SDK."""
from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
from starlette.testclient import TestClient

from comptoir.marketplace.app import create_app
from comptoir.marketplace.service import Marketplace
from comptoir.marketplace.settings import MarketSettings
from comptoir.sdk.signing import generate_key, public_b64
from comptoir.sdk.testing import build_release

OPERATOR = {"Authorization": "Bearer op-secret"}


@pytest.fixture(scope="session")
def vendor_key() -> Any:
    return generate_key()


@pytest.fixture(scope="session")
def releases(tmp_path_factory: pytest.TempPathFactory, vendor_key: Any) -> dict[str, Any]:
    """Two versions of one carrier plugin, signed by ``vendor_key``."""
    pid = f"mp-colis-{uuid.uuid4().hex[:6]}"
    work = tmp_path_factory.mktemp("releases")
    out: dict[str, Any] = {"id": pid}
    for v in ("1.0.0", "1.1.0"):
        out[v] = build_release(work, pid, v, key=vendor_key)
    return out


@pytest.fixture
def market(tmp_path: Path) -> Iterator[Marketplace]:
    mp = Marketplace(MarketSettings(home=tmp_path / "market", admin_token="op-secret"))
    yield mp
    mp.close()


@pytest.fixture
def client(market: Marketplace) -> TestClient:
    return TestClient(create_app(market=market))


def register(client: TestClient, key: Any, name: str = "acme", *, approve: bool = True) -> str:
    """Register vendor ``name`` with ``key``; approve the key as the operator. Returns the token."""
    r = client.post("/api/v1/vendors", json={"name": name, "public_key": public_b64(key)})
    assert r.status_code == 201, r.text
    if approve:
        assert client.post(f"/api/v1/admin/keys/{r.json()['key_id']}/approve", headers=OPERATOR).status_code == 200
    return r.json()["token"]  # type: ignore[no-any-return]


def upload(client: TestClient, token: str, wheel: Path, sig: Path | bytes) -> Any:
    sig_bytes = sig if isinstance(sig, bytes) else sig.read_bytes()
    return client.post("/api/v1/releases", headers={"Authorization": f"Bearer {token}"},
                       files={"wheel": (wheel.name, wheel.read_bytes()), "signature": ("x.sig", sig_bytes)})


@pytest.fixture
def register_vendor(client: TestClient) -> Any:
    return lambda key, name="acme", approve=True: register(client, key, name, approve=approve)


@pytest.fixture
def upload_release(client: TestClient) -> Any:
    return lambda token, wheel, sig: upload(client, token, wheel, sig)
