"""The plugin host: live enable/disable, isolation, breaker, journal, manifests."""
from __future__ import annotations

from pathlib import Path

import pytest

from comptoir.kernel.errors import ManifestError, NotFound, PluginError
from comptoir.kernel.hookspecs import hookimpl
from comptoir.kernel.manifest import parse_manifest
from comptoir.kernel.money import Money
from comptoir.kernel.runtime import Kernel
from comptoir.kernel.types import Address, ShipmentRequest
from tests.conftest import build_kernel
from tests.plugins.kernel_fixtures import Carrier, manifest

SHIPMENT = ShipmentRequest(destination=Address("A", "1 rue", "75001", "Paris", "FR"), weight_grams=100,
                           value=Money(1000, "EUR"))


def _carriers(kernel: Kernel) -> set[str]:
    return {q.carrier for q in kernel.host.call("shipping_quotes", shipment=SHIPMENT)}


def test_default_plugins_are_discovered_by_entry_point_and_enabled(kernel: Kernel) -> None:
    assert kernel.host.records["manual-payment"].enabled
    assert kernel.host.records["flat-rate-shipping"].enabled
    assert kernel.host.records["manual-payment"].manifest.category == "payments"


def test_enable_and_disable_take_effect_without_restart(kernel: Kernel) -> None:
    kernel.host.add(Carrier("zippy", 100), manifest("zippy"))
    assert "zippy" not in _carriers(kernel)
    kernel.host.enable("zippy")
    assert "zippy" in _carriers(kernel)
    kernel.host.disable("zippy")
    assert "zippy" not in _carriers(kernel)
    kernel.host.disable("flat-rate-shipping")
    assert _carriers(kernel) == set()


def test_another_process_sees_the_change_through_the_database(tmp_path: Path, sqlite_url: str) -> None:
    web = build_kernel(tmp_path / "a", sqlite_url).boot()
    admin = build_kernel(tmp_path / "b", sqlite_url).boot()
    try:
        assert "Comptoir post" in _carriers(web)
        admin.host.disable("flat-rate-shipping")
        assert web.host.refresh(max_age_s=0)
        assert "Comptoir post" not in _carriers(web)
        admin.host.enable("flat-rate-shipping")
        web.host.refresh(max_age_s=0)
        assert "Comptoir post" in _carriers(web)
    finally:
        web.close()
        admin.close()


def test_disabled_state_survives_a_restart(tmp_path: Path, sqlite_url: str) -> None:
    k = build_kernel(tmp_path, sqlite_url).boot()
    k.host.disable("manual-payment")
    k.close()
    k2 = build_kernel(tmp_path, sqlite_url).boot()
    try:
        assert not k2.host.records["manual-payment"].enabled
    finally:
        k2.close()


def test_raising_plugin_is_isolated_journaled_and_paused_by_the_breaker(kernel: Kernel) -> None:
    bad = Carrier("bad", 1, mode="raise")
    kernel.host.add(bad, manifest("bad"))
    kernel.host.enable("bad")
    for _ in range(kernel.settings.breaker_threshold + 3):
        assert "Comptoir post" in _carriers(kernel)  # the good carrier keeps answering
    assert bad.calls == kernel.settings.breaker_threshold  # then the breaker stops calling it
    outcomes = [e.outcome for e in kernel.host.journal.entries(plugin="bad")]
    assert outcomes.count("error") == kernel.settings.breaker_threshold
    assert outcomes.count("skipped") == 3
    with pytest.raises(PluginError, match="paused"):
        kernel.host.call_one("bad", "shipping_quotes", shipment=SHIPMENT)


def test_slow_plugin_answer_is_dropped_for_pure_hooks(tmp_path: Path, sqlite_url: str) -> None:
    k = Kernel(build_kernel(tmp_path, sqlite_url).settings.with_(hook_timeout_ms=10)).boot()
    try:
        k.host.add(Carrier("sloth", 1, sleep_s=0.05), manifest("sloth"))  # the shipping spec budget is 3 s …
        k.host.enable("sloth")
        from comptoir.kernel.hookspecs.markers import HookPolicy

        # … so give it a budget it must exceed: re-wrap with a 10 ms policy
        rec = k.host.records["sloth"]
        k.host.pm.unregister(rec.proxy)
        fn = rec.obj.shipping_quotes
        rec.proxy.shipping_quotes = k.host._isolate(rec, "shipping_quotes", fn, HookPolicy("collect", timeout_ms=10))
        k.host.pm.register(rec.proxy, name="sloth")
        assert "sloth" not in _carriers(k)
        assert k.host.journal.entries(plugin="sloth")[0].outcome == "timeout"
    finally:
        k.close()


def test_every_hook_call_is_journaled_with_duration(kernel: Kernel) -> None:
    _carriers(kernel)
    entry = kernel.host.journal.entries(plugin="flat-rate-shipping", limit=1)[0]
    assert entry.hook == "shipping_quotes" and entry.outcome == "ok" and entry.duration_us >= 0


def test_context_is_bound_to_each_plugin(kernel: Kernel) -> None:
    seen = {}

    class Spy:
        def __init__(self, name: str) -> None:
            self.name = name

        @hookimpl
        def shipping_quotes(self, ctx, shipment):  # type: ignore[no-untyped-def]
            seen[self.name] = (ctx.plugin, dict(ctx.settings))
            return []

    for name in ("spy-one", "spy-two"):
        kernel.host.add(Spy(name), parse_manifest({"id": name, "name": name, "version": "1", "vendor": "t",
                                                   "settings": {"color": {"default": name}}}))
        kernel.host.enable(name)
    _carriers(kernel)
    assert seen == {"spy-one": ("spy-one", {"color": "spy-one"}), "spy-two": ("spy-two", {"color": "spy-two"})}


def test_data_access_outside_the_grant_is_refused_naming_the_scope(kernel: Kernel) -> None:
    from comptoir.kernel.errors import ScopeDenied

    class Snoop:
        @hookimpl
        def shipping_quotes(self, ctx, shipment):  # type: ignore[no-untyped-def]
            return ctx.data.orders()

    kernel.host.add(Snoop(), manifest("snoop"))
    kernel.host.enable("snoop")
    with pytest.raises(ScopeDenied, match="orders:read"):
        kernel.host.call_one("snoop", "shipping_quotes", shipment=SHIPMENT)
    assert kernel.host.journal.entries(plugin="snoop")[0].outcome == "denied"


def test_unknown_hook_name_is_refused_at_enable(kernel: Kernel) -> None:
    class Typo:
        @hookimpl
        def shiping_quotes(self, ctx, shipment):  # type: ignore[no-untyped-def]
            return []

    kernel.host.add(Typo(), manifest("typo"))
    with pytest.raises(PluginError, match="shiping_quotes"):
        kernel.host.enable("typo")


def test_unknown_plugin_error_says_what_to_do(kernel: Kernel) -> None:
    with pytest.raises(NotFound, match="comptoir plugins list"):
        kernel.host.enable("does-not-exist")


@pytest.mark.parametrize("data,field", [
    ({"id": "Bad Id", "name": "x", "version": "1", "vendor": "v"}, "id"),
    ({"id": "okay", "name": "x", "version": "one", "vendor": "v"}, "version"),
    ({"id": "okay", "name": "x", "version": "1", "vendor": "v", "kernel_api": "around 1"}, "kernel_api"),
    ({"id": "okay", "name": "x", "version": "1", "vendor": "v", "scopes": {"data": ["orders:delete"]}}, "scopes.data"),
    ({"id": "okay", "name": "x", "version": "1", "vendor": "v", "surprise": 1}, "surprise"),
])
def test_manifest_errors_name_plugin_and_field(data: dict, field: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ManifestError) as err:
        parse_manifest(data)
    assert err.value.field == field
    assert field.split(".")[0] in err.value.message
