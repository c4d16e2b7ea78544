"""`comptoir sdk new` gives a plugin that passes `check` and its own tests."""
from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from comptoir.kernel.cli import cli
from comptoir.kernel.money import Money
from comptoir.kernel.types import ShipmentRequest
from comptoir.sdk.errors import SdkError
from comptoir.sdk.project import PluginProject
from comptoir.sdk.scaffold import scaffold
from comptoir.sdk.testing import build_test_kernel, make_customer


def _new(tmp_path: Path) -> tuple[str, Path]:
    pid = f"carrier-{uuid.uuid4().hex[:8]}"
    result = CliRunner().invoke(cli, ["sdk", "new", pid, "--dir", str(tmp_path / pid), "--vendor", "acme"])
    assert result.exit_code == 0, result.output
    return pid, tmp_path / pid


def test_new_then_check(tmp_path: Path) -> None:
    pid, folder = _new(tmp_path)
    assert (folder / "tests" / "test_plugin.py").is_file()
    result = CliRunner().invoke(cli, ["sdk", "check", str(folder)])
    assert result.exit_code == 0, result.output
    assert f"{pid} 0.1.0: manifest ok; hooks ok: shipping_quotes" in result.output


def test_scaffolded_hook_serves_a_quote_in_a_test_kernel(tmp_path: Path) -> None:
    pid, folder = _new(tmp_path)
    project = PluginProject.load(folder)
    kernel = build_test_kernel(tmp_path / "shop", plugins=[(project.import_plugin(), project.manifest)])
    try:
        customer = make_customer(kernel.factory)
        quotes = kernel.host.call("shipping_quotes", shipment=ShipmentRequest(
            destination=customer.address, weight_grams=2100, value=Money(5000, "EUR")))
        assert [q.price for q in quotes] == [Money(490 + 3 * 100, "EUR")]
    finally:
        kernel.close()


def test_check_reports_a_broken_hook(tmp_path: Path) -> None:
    pid, folder = _new(tmp_path)
    plugin_py = next(folder.glob("comptoir_*/plugin.py"))
    plugin_py.write_text(plugin_py.read_text().replace("shipment: ShipmentRequest)", "shipment: ShipmentRequest, cart)"))
    result = CliRunner().invoke(cli, ["sdk", "check", str(folder), "--no-import"])
    assert result.exit_code != 0
    assert f"plugin '{pid}'" in str(result.exception) and "'cart'" in str(result.exception)


def test_new_refuses_a_bad_id_and_a_used_folder(tmp_path: Path) -> None:
    with pytest.raises(SdkError, match="not a plugin id"):
        scaffold(tmp_path / "x", "Bad_Id")
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "f").write_text("x")
    with pytest.raises(SdkError, match="not empty"):
        scaffold(tmp_path / "used", "good-id")


@pytest.mark.slow
def test_sdk_test_runs_the_plugin_tests_with_the_pytest_plugin(tmp_path: Path) -> None:
    _, folder = _new(tmp_path)
    proc = subprocess.run([str(Path(sys.executable).parent / "comptoir"), "sdk", "test", str(folder)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 passed" in proc.stdout
