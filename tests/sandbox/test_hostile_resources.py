"""Resource exhaustion: each attack is bounded, and the shop keeps serving."""
from __future__ import annotations

import os
import time
from typing import Any, Callable

import pytest

from comptoir.kernel.errors import PluginError
from tests.sandbox.conftest import Shop

Attack = Callable[..., Any]


def _gone(pid: int, within_s: float = 5.0) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.02)
    return False


def test_fork_bomb_is_refused(shop: Shop, attack: Attack) -> None:
    result = attack("hostile_resources", "fork_bomb")
    assert result["escaped"] is False and "Permission" in result["error"]
    assert attack("hostile_resources", "ping") == {"pong": True}  # same worker, still alive
    shop.assert_serving()


def test_memory_bomb_hits_the_address_space_limit(shop: Shop) -> None:
    name = shop.add("hostile_resources", call_timeout_s=10.0)  # filling 128 MiB is slow on a busy machine
    result = shop.kernel.host.call_one(name, "widget_data", widget_id="memory_bomb", config={})
    assert result["escaped"] is False and "MemoryError" in result["error"]
    shop.assert_serving()


@pytest.mark.parametrize("how", ["cpu_loop", "sleep_forever"])
def test_hung_call_is_killed_at_the_deadline(shop: Shop, attack: Attack, how: str) -> None:
    attack("hostile_resources", "ping")
    pid = shop.sandbox.plugins["hostile-resources"].status.pid
    t0 = time.monotonic()
    with pytest.raises(PluginError, match="did not answer"):
        attack("hostile_resources", how)
    assert time.monotonic() - t0 < 5  # deadline 1 s, plus the kill
    assert pid is not None
    assert _gone(pid)  # the whole process group was killed
    shop.assert_serving()
    assert attack("hostile_resources", "ping") == {"pong": True}  # restarted on the next call
    assert shop.sandbox.plugins["hostile-resources"].status.pid != pid


def test_huge_file_is_capped(shop: Shop, attack: Attack) -> None:
    result = attack("hostile_resources", "huge_file", mib=16)
    assert result["escaped"] is False and "File too large" in result["error"]
    assert (shop.sandbox.data_dir("hostile-resources") / "huge.bin").stat().st_size <= 1024 * 1024
    shop.assert_serving()


def test_descriptor_exhaustion_is_capped(shop: Shop, attack: Attack) -> None:
    result = attack("hostile_resources", "fd_exhaustion")
    assert result["stopped_by"] == "Too many open files" and result["opened"] < 64
    assert attack("hostile_resources", "ping") == {"pong": True}  # its RPC socket still works
    shop.assert_serving()
