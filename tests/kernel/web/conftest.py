"""Fixtures for the web tests: a small seeded shop, its app and an owner-like token.

The shop is seeded once per session into a template SQLite file, and each test gets
its own copy: every test starts from the same data without paying for the seeding.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Iterator

import pytest
from argon2 import PasswordHasher
from starlette.testclient import TestClient

from comptoir.kernel.db import make_engine
from comptoir.kernel.migrate import upgrade
from comptoir.kernel.runtime import Kernel
from comptoir.kernel.staff import passwords
from comptoir.kernel.web.app import create_app
from tests.conftest import build_kernel
from tests.kernel.web.helpers import seed, token

# Still argon2id, with the smallest cost: the production cost only slows the tests down.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture(autouse=True)
def fast_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "_HASHER", FAST_HASHER)


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("web-template")
    url = f"sqlite:///{root / 'shop.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    old = passwords._HASHER
    passwords._HASHER = FAST_HASHER
    try:
        k = build_kernel(root, url).boot()
        seed(k)
        k.close()  # disposing the engine checkpoints the WAL into shop.db
    finally:
        passwords._HASHER = old
    return root / "shop.db"


@pytest.fixture
def shop(tmp_path: Path, seeded_template: Path) -> Iterator[Kernel]:
    shutil.copy(seeded_template, tmp_path / "shop.db")
    k = build_kernel(tmp_path, f"sqlite:///{tmp_path / 'shop.db'}").boot()
    yield k
    k.close()


@pytest.fixture
def client(shop: Kernel) -> Iterator[TestClient]:
    with TestClient(create_app(shop, start_jobs=False)) as c:
        yield c


@pytest.fixture
def owner_token(shop: Kernel) -> str:
    return token(shop, "catalog:read", "catalog:write", "stock:read", "stock:write", "orders:read", "orders:write",
                 "orders:fulfil", "customers:read", "customers:write", "customers:social", "plugins:manage", "journal:read")


@pytest.fixture
def relay_and_card(shop: Kernel) -> tuple[Any, Any]:
    """A relay carrier (quotes needing a pickup point) and a card provider, enabled in the shop."""
    from tests.plugins.kernel_fixtures import FakeCard, RelayCarrier, manifest

    relay, card = RelayCarrier(), FakeCard()
    for obj, pid in ((relay, "relay-carrier"), (card, "fake-card")):
        shop.host.add(obj, manifest(pid))
        shop.host.enable(pid, persist=False)
    return relay, card
