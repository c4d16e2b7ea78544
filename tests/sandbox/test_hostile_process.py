"""Process attacks: signals, namespace and ptrace escapes, exec, crashes mid-call."""
from __future__ import annotations

import os
from typing import Any, Callable

import pytest

from comptoir.kernel.errors import PluginError
from tests.sandbox.conftest import Shop

Attack = Callable[..., Any]


def _refused(result: dict[str, Any]) -> str:
    assert result["escaped"] is False, f"the attack worked: {result}"
    return str(result["error"])


def test_cannot_signal_the_kernel(shop: Shop, attack: Attack) -> None:
    assert "Permission" in _refused(attack("hostile_process", "signal", pid=os.getpid()))
    shop.assert_serving()  # and we are evidently still alive


def test_cannot_kill_the_zygote(shop: Shop, attack: Attack) -> None:
    _refused(attack("hostile_process", "signal_parent"))
    shop.add("hostile_process")  # a new worker still starts: the zygote lives
    shop.assert_serving()


@pytest.mark.parametrize("how", ["unshare", "ptrace", "exec", "pdeathsig"])
def test_escape_syscalls_are_refused(shop: Shop, attack: Attack, how: str) -> None:
    assert "Operation not permitted" in _refused(attack("hostile_process", how, pid=os.getpid()))
    shop.assert_serving()


@pytest.mark.parametrize("how", ["crash", "segfault", "abort"])
def test_crash_mid_call_is_reported_and_the_worker_restarts(shop: Shop, attack: Attack, how: str) -> None:
    with pytest.raises(PluginError, match="closed the connection"):
        attack("hostile_process", how)
    st = shop.sandbox.plugins["hostile-process"].status
    assert st.state == "backoff" and "closed the connection" in st.last_error
    shop.assert_serving()
    _refused(attack("hostile_process", "unshare"))  # the next call gets a fresh worker
    assert shop.sandbox.plugins["hostile-process"].status.starts == 2
