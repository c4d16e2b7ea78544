"""A marketplace holding signed releases, and a shop whose installer talks to it."""
from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
from starlette.testclient import TestClient

from comptoir.kernel.installer.service import Installer
from comptoir.marketplace.app import create_app
from comptoir.marketplace.service import Marketplace
from comptoir.marketplace.settings import MarketSettings
from comptoir.sdk.signing import generate_key, public_b64
from comptoir.sdk.testing import build_release


def _manifest_lines(*lines: str) -> Any:
    def edit(src: Path) -> None:
        py = src / "pyproject.toml"
        py.write_text(py.read_text().replace('category = "shipping"\n', 'category = "shipping"\n' + "".join(
            f"{line}\n" for line in lines), 1))
    return edit


def _v110(src: Path) -> None:
    """1.1.0 asks for one more right and quotes an express service."""
    py = src / "pyproject.toml"
    py.write_text(py.read_text() + '\n[tool.comptoir.scopes]\ndata = ["orders:read"]\n')
    plugin = next(src.glob("comptoir_*/plugin.py"))
    plugin.write_text(re.sub(r'service="standard"', 'service="express"', plugin.read_text()))


def _tables(src: Path) -> None:
    """A plugin with its own table, created by its own Alembic revision."""
    pkg = next(src.glob("comptoir_*/plugin.py")).parent
    plugin_id = pkg.name.removeprefix("comptoir_").replace("_", "-")
    versions = pkg / "migrations" / "versions"
    versions.mkdir(parents=True)
    (pkg / "migrations" / "__init__.py").write_text("")
    (versions / "__init__.py").write_text("")
    table = pkg.name + "_rates"
    (versions / "r1_rates.py").write_text(
        '"""rates table"""\nimport sqlalchemy as sa\nfrom alembic import op\n\n'
        f'revision = "r1_{pkg.name}"\ndown_revision = None\nbranch_labels = None\ndepends_on = None\n\n\n'
        f'def upgrade():\n    op.create_table("{table}", sa.Column("id", sa.Integer, primary_key=True), '
        f'sa.Column("zone", sa.String(8)), sa.Column("price", sa.Integer))\n\n\n'
        f'def downgrade():\n    op.drop_table("{table}")\n')
    plugin = pkg / "plugin.py"
    plugin.write_text(plugin.read_text() + '\n\n@hookimpl\ndef migrations_location(ctx: PluginContext) -> str:\n'
                      '    from pathlib import Path\n\n    return str(Path(__file__).parent / "migrations" / "versions")\n')
    py = src / "pyproject.toml"
    py.write_text(py.read_text().replace(f'packages = ["{pkg.name}"]',
                                         f'packages = ["{pkg.name}", "{pkg.name}.migrations", '
                                         f'"{pkg.name}.migrations.versions"]'))
    assert plugin_id


def _future(src: Path) -> None:
    py = src / "pyproject.toml"
    py.write_text(py.read_text().replace('kernel_api = ">=1.0,<2"', 'kernel_api = ">=2.0,<3"'))


@pytest.fixture(scope="session")
def vkey() -> Any:
    return generate_key()


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory, vkey: Any) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:6]
    work = tmp_path_factory.mktemp("built")
    pid = f"inst-{tag}"
    jobs = {
        "1.0.0": (pid, "1.0.0", None),
        "1.1.0": (pid, "1.1.0", _v110),
        "slot-a": (f"slot-a-{tag}", "0.1.0", _manifest_lines('exclusive_slots = ["carrier-slot"]')),
        "slot-b": (f"slot-b-{tag}", "0.1.0", _manifest_lines('exclusive_slots = ["carrier-slot"]')),
        "future": (f"future-{tag}", "0.1.0", _future),
        "tables": (f"tables-{tag}", "0.1.0", _tables),
    }
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:  # pip builds are subprocesses: two at a time on two cores
        futures = {k: pool.submit(build_release, work / k, i, v, key=vkey, edit=e) for k, (i, v, e) in jobs.items()}
        return {"id": pid, **{k: f.result() for k, f in futures.items()}}


@pytest.fixture
def market(tmp_path: Path, built: dict[str, Any], vkey: Any) -> Iterator[Marketplace]:
    mp = Marketplace(MarketSettings(home=tmp_path / "market", admin_token="op", auto_approve_keys=True))
    vendor, _, _ = mp.register_vendor("acme", public_b64(vkey))
    for key in ("1.0.0", "1.1.0", "slot-a", "slot-b", "future", "tables"):
        wheel, sig = built[key]
        mp.upload(vendor, wheel.name, wheel.read_bytes(), sig.read_bytes())
    yield mp
    mp.close()


@pytest.fixture
def market_client(market: Marketplace) -> TestClient:
    return TestClient(create_app(market=market))


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A shop running installed plugins in process (COMPTOIR_SANDBOX=off) so these tests
    stay fast; test_sandboxed.py covers the production default, where they run in the sandbox."""
    from comptoir.sdk.testing import build_test_kernel

    monkeypatch.setenv("COMPTOIR_SANDBOX", "off")
    kernel = build_test_kernel(tmp_path / "shop")
    yield kernel
    kernel.close()


@pytest.fixture
def installer(shop: Any, market_client: TestClient) -> Installer:
    inst = Installer(shop, "http://testserver", client=market_client)
    shop.services["installer"] = inst
    return inst
