"""The isolation report (CLI and admin), and adopting untrusted discovered plugins."""
from __future__ import annotations

import json
import sys
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from comptoir.kernel.cli.base import cli
from comptoir.kernel.manifest import manifest_from_pyproject
from comptoir.kernel.plugins import PluginRecord
from comptoir.sandbox import landlock
from comptoir.sandbox.report import EXPECTED_LAYERS, sandbox_report
from tests.sandbox.conftest import PLUGINS, Shop


def _userns_available() -> bool:
    try:
        return int(Path("/proc/sys/user/max_user_namespaces").read_text()) > 0
    except OSError:
        return False


def test_report_lists_every_layer_and_says_what_applied(shop: Shop) -> None:
    reports = {r["plugin"]: r for r in sandbox_report(shop.kernel)}
    good = reports["sandboxed-good"]
    assert good["enabled"] and good["state"] == "running" and good["pid"]
    assert [x["name"] for x in good["layers"]] == list(EXPECTED_LAYERS)
    assert all(x["detail"] for x in good["layers"])
    by_name = {x["name"]: x for x in good["layers"]}
    # What this machine must provide, checked independently of the worker's own claim.
    assert by_name["landlock"]["applied"] is (landlock.abi_version() > 0)
    assert by_name["namespaces"]["applied"] is _userns_available()
    assert by_name["seccomp"]["applied"] and by_name["rlimits"]["applied"]
    if landlock.abi_version() >= 6 and _userns_available():
        assert good["fully_isolated"] is True
    assert "widget_data" in good["hooks"] and good["limits"]["call_timeout_s"] == 1.0
    assert set(good["hooks_not_sandboxable"]) == {"web_routes", "migrations_location", "order_placement"}
    assert not shop.kernel.host.implements("sandboxed-good", "order_placement")
    assert not shop.kernel.host.implements("sandboxed-good", "web_routes")


def test_report_says_when_a_layer_was_not_applied(shop: Shop) -> None:
    name = shop.add("hostile_files", namespaces=False)
    report = {r["plugin"]: r for r in sandbox_report(shop.kernel)}[name]
    layer = {x["name"]: x for x in report["layers"]}["namespaces"]
    assert layer["applied"] is False and "disabled by configuration" in layer["detail"]
    assert report["fully_isolated"] is False
    degraded = shop.kernel.host.journal.entries(plugin=name, outcome="degraded")
    assert degraded and "namespaces" in degraded[0].error  # the merchant's journal says it too
    shop.add("hostile_files")


def test_cli_report_probes_the_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPTOIR_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("COMPTOIR_DATABASE_URL", raising=False)
    result = CliRunner().invoke(cli, ["sandbox", "report", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["plugins"] == []  # no untrusted plugin is installed in this environment
    assert [x["name"] for x in data["machine_probe"]] == list(EXPECTED_LAYERS)
    text = CliRunner().invoke(cli, ["sandbox", "report"])
    assert text.exit_code == 0 and "seccomp" in text.output and "applied" in text.output


def test_untrusted_discovered_plugin_is_adopted_into_the_sandbox(shop: Shop, monkeypatch: Any) -> None:
    monkeypatch.syspath_prepend(str(PLUGINS / "sandboxed_good"))
    manifest = manifest_from_pyproject(PLUGINS / "sandboxed_good" / "pyproject.toml")
    manifest = manifest.model_copy(update={"id": "adopted-good"})
    ep = EntryPoint(name="adopted-good", value="sandboxed_good:plugin", group="comptoir.plugins")
    trusted = manifest.model_copy(update={"id": "trusted-one", "trusted": True})
    records = [PluginRecord(manifest.id, manifest, ep.load), PluginRecord(trusted.id, trusted, ep.load)]
    shop.kernel.host.records.update({r.name: r for r in records})
    try:
        assert shop.sandbox.adopt(records) == ["adopted-good"]
        assert "sandboxed_good" not in sys.modules  # located, never imported in the kernel
        rec = shop.kernel.host.records["adopted-good"]
        assert rec.source == "sandbox" and not rec.enabled
        shop.kernel.host.enable("adopted-good")
        assert shop.kernel.host.call_one("adopted-good", "widget_data", widget_id="x", config={}) == {"widget": "x"}
        assert shop.kernel.host.records["trusted-one"].source == "entry-point"
    finally:
        shop.kernel.host.forget("adopted-good")
        shop.kernel.host.forget("trusted-one")


def test_cli_report_shows_each_sandboxed_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from comptoir.kernel.cli import base
    from tests.sandbox.conftest import build_shop

    own = build_shop(tmp_path)  # with_kernel closes the kernel it is given
    monkeypatch.setattr(base, "open_kernel", lambda **_: own.kernel)
    result = CliRunner().invoke(cli, ["sandbox", "report"])
    assert result.exit_code == 0, result.output
    assert "sandboxed-good 1.0.0: enabled, worker running" in result.output
    for layer in EXPECTED_LAYERS:
        assert layer in result.output
    own.sandbox.close()


def _unpacked_release(plugin_dir: Path, plugin_id: str, version: str) -> Path:
    """What the installer leaves on disk: <plugin_dir>/<id>/<version>/ + a current pointer."""
    import shutil

    folder = plugin_dir / plugin_id / version
    folder.mkdir(parents=True)
    shutil.copy(PLUGINS / "sandboxed_good" / "sandboxed_good.py", folder / "sandboxed_good.py")
    info = folder / "vendor_plugin-1.0.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: vendor-plugin\nVersion: 1.0.0\n")
    (info / "entry_points.txt").write_text(f"[comptoir.plugins]\n{plugin_id} = sandboxed_good:plugin\n")
    (plugin_dir / plugin_id / "current").write_text(version + "\n")
    return folder


def test_marketplace_install_runs_sandboxed_even_if_it_claims_trust(shop: Shop, monkeypatch: Any) -> None:
    plugin_dir = shop.kernel.settings.effective_plugin_dir
    base = manifest_from_pyproject(PLUGINS / "sandboxed_good" / "pyproject.toml")
    claims = base.model_copy(update={"id": "vendor-claims-trust", "trusted": True})  # the vendor's own word
    _unpacked_release(plugin_dir, claims.id, "1.0.0")

    def must_not_import() -> Any:
        raise AssertionError("the kernel imported untrusted code")

    shop.kernel.host.records[claims.id] = PluginRecord(claims.id, claims, must_not_import, source="installed")
    try:
        assert shop.sandbox.should_sandbox(claims, "installed")
        assert shop.sandbox.adopt([shop.kernel.host.records[claims.id]]) == [claims.id]
        shop.kernel.host.enable(claims.id)
        assert shop.kernel.host.call_one(claims.id, "widget_data", widget_id="y", config={}) == {"widget": "y"}
        monkeypatch.setenv("COMPTOIR_TRUSTED_PLUGINS", f"other, {claims.id}")  # the operator's trust
        assert not shop.sandbox.should_sandbox(claims, "installed")
    finally:
        shop.kernel.host.forget(claims.id)


def test_installer_live_path_can_sandbox_a_release(shop: Shop, tmp_path: Path) -> None:
    base = manifest_from_pyproject(PLUGINS / "sandboxed_good" / "pyproject.toml")
    manifest = base.model_copy(update={"id": "vendor-live"})
    folder = _unpacked_release(tmp_path / "plugins", manifest.id, "2.0.0")
    try:
        rec = shop.sandbox.add_installed(manifest, folder)
        assert rec.enabled and rec.source == "sandbox"
        assert shop.kernel.host.call_one(manifest.id, "widget_data", widget_id="z", config={}) == {"widget": "z"}
    finally:
        shop.kernel.host.forget(manifest.id)
