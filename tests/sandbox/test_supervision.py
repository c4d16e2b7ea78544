"""Supervision: deadlines, restarts with backoff, disabling a plugin that keeps failing."""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from typing import Any

import pytest

from comptoir.kernel.errors import PluginError
from comptoir.sandbox.supervisor import PluginRaised, SandboxUnavailable
from tests.sandbox.conftest import PLUGINS, Shop


def _call(shop: Shop, name: str, widget_id: str, **config: Any) -> Any:
    return shop.kernel.host.call_one(name, "widget_data", widget_id=widget_id, config=config)


def test_values_cross_the_boundary(shop: Shop) -> None:
    from comptoir.kernel.money import Money
    from comptoir.kernel.types import ShipmentRequest, ShippingQuote
    from tests.sandbox.conftest import ADDRESS

    quotes = shop.kernel.host.call("shipping_quotes", shipment=ShipmentRequest(
        destination=ADDRESS, weight_grams=1200, value=Money(1990, "EUR")))
    mine = [q for q in quotes if q.carrier == "Sandbox Post"]
    assert mine == [ShippingQuote(id="sbx-FR-1200", carrier="Sandbox Post", service="standard",
                                  price=Money(502, "EUR"), min_days=2, max_days=4)]
    assert (shop.sandbox.data_dir("sandboxed-good") / "enabled.txt").read_text() == "yes"  # plugin_enabled ran


def test_plugin_exception_is_an_ordinary_plugin_error(shop: Shop) -> None:
    pid = shop.sandbox.plugins["sandboxed-good"].status.pid
    with pytest.raises(PluginError, match="ValueError: plugin bug"):
        shop.good("raise")
    st = shop.sandbox.plugins["sandboxed-good"].status
    assert st.pid == pid and st.failures == 0  # the worker is fine: no restart, no sandbox failure
    shop.kernel.host.records["sandboxed-good"].breaker.success()


def test_logs_and_settings_cross_the_boundary(shop: Shop, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="comptoir.plugin.sandboxed-good"):
        assert shop.good("log") == {"logged": True}
    assert "hello from the sandbox" in caplog.text
    shop.kernel.host.configure("sandboxed-good", {"greeting": "bonjour"})
    assert shop.good("echo")["settings"] == {"greeting": "bonjour"}


def test_worker_killed_between_calls_is_restarted(shop: Shop) -> None:
    name = shop.add("hostile_resources")
    assert _call(shop, name, "ping") == {"pong": True}
    pid = shop.sandbox.plugins[name].status.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.1)
    assert _call(shop, name, "ping") == {"pong": True}
    assert shop.sandbox.plugins[name].status.pid != pid
    assert shop.sandbox.plugins[name].status.total_failures == 1


def test_backoff_fails_fast_while_restarting(shop: Shop) -> None:
    name = shop.add("hostile_process", backoff_base_s=30.0)
    for _ in range(2):  # the first failure restarts at once, the second waits
        with pytest.raises(PluginError, match="closed the connection"):
            _call(shop, name, "crash")
    t0 = time.monotonic()
    with pytest.raises(PluginError, match="restarting after a failure"):
        _call(shop, name, "unshare")
    assert time.monotonic() - t0 < 2  # refused at once, not after the 30 s backoff
    shop.assert_serving()


def test_plugin_that_keeps_failing_is_disabled_with_its_reason(shop: Shop) -> None:
    name = shop.add("hostile_process")  # max_failures=3 in the test limits
    for _ in range(3):
        with pytest.raises(PluginError):
            _call(shop, name, "crash")
    rec = shop.kernel.host.records[name]
    assert rec.enabled is False
    report = {r["plugin"]: r for r in shop.sandbox.report()}[name]
    assert report["state"] == "disabled" and "3 sandbox failures in a row" in report["disabled_reason"]
    entries = shop.kernel.host.journal.entries(plugin=name, outcome="disabled")
    assert entries and entries[0].hook == "sandbox"
    with pytest.raises(PluginError, match="not enabled"):
        _call(shop, name, "unshare")
    shop.assert_serving()
    shop.kernel.host.enable(name)  # the admin re-enables it: a clean start
    assert _call(shop, name, "unshare")["escaped"] is False
    assert shop.sandbox.plugins[name].status.failures == 0


def test_sandbox_unavailable_is_a_plugin_error() -> None:
    assert issubclass(SandboxUnavailable, PluginError) and issubclass(PluginRaised, PluginError)


_ORPHAN_SCRIPT = """
import sys, time
from comptoir.sandbox.spawn import Zygote
from comptoir.sandbox import wire
home = sys.argv[1]
proc = Zygote(home).spawn()
proc.send({"t": "init", "plugin": "orphan", "entry": "", "data_dir": home, "read_only": [], "limits": {},
           "max_in": 1 << 20, "max_out": 1 << 20}, time.monotonic() + 10, 1 << 20)
assert proc.recv(time.monotonic() + 10, 1 << 20)["t"] == "hello"
print(proc.pid, flush=True)
time.sleep(60)
"""


def test_workers_die_with_the_kernel(tmp_path: Any) -> None:
    """A kernel killed with SIGKILL takes its zygote and workers with it (parent-death signals)."""
    proc = subprocess.Popen([sys.executable, "-c", _ORPHAN_SCRIPT, str(tmp_path)], stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        pid = int(proc.stdout.readline())
        os.kill(pid, 0)  # running
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    pytest.fail(f"worker {pid} outlived its kernel")


def test_import_time_attack_is_confined_and_fails_enable(shop: Shop) -> None:
    with pytest.raises(PluginError) as err:
        shop.sandbox.add_source(PLUGINS / "sandboxed_import_attack")
    assert "failed to load in the sandbox" in err.value.message and "refused" in err.value.message
    assert shop.master_key not in err.value.message
    assert not shop.kernel.host.records["sandboxed-import-attack"].enabled
    shop.kernel.host.forget("sandboxed-import-attack")
    shop.assert_serving()


def test_worker_near_its_cpu_limit_is_replaced_between_calls(shop: Shop, monkeypatch: Any) -> None:
    import dataclasses

    from comptoir.sandbox import supervisor

    name = shop.add("hostile_resources")
    plugin = shop.sandbox.plugins[name]
    assert _call(shop, name, "ping") == {"pong": True}
    pid = plugin.status.pid
    monkeypatch.setattr(supervisor, "CPU_CHECK_EVERY", 1)
    plugin.limits = dataclasses.replace(plugin.limits, cpu_seconds=0)  # "worn out" at once
    assert _call(shop, name, "ping") == {"pong": True}  # answered, then retired
    assert plugin.proc is None
    plugin.limits = dataclasses.replace(plugin.limits, cpu_seconds=5)
    assert _call(shop, name, "ping") == {"pong": True}
    assert plugin.status.pid != pid and plugin.status.total_failures == 0


def test_zygote_outlives_the_thread_that_started_it(tmp_path: Any) -> None:
    """Parent-death signals follow the creating *thread*: a request thread that ends must
    not take the zygote (and every worker) with it."""
    import threading

    from comptoir.sandbox.spawn import Zygote

    zygote = Zygote(str(tmp_path))
    procs: list[Any] = []
    t = threading.Thread(target=lambda: procs.append(zygote.spawn()))
    t.start()
    t.join()
    time.sleep(0.3)
    try:
        assert zygote._popen is not None and zygote._popen.poll() is None  # still alive
        procs.append(zygote.spawn())  # and still serving
    finally:
        for p in procs:
            p.kill()
        zygote.close()
