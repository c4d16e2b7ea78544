"""RPC abuse: oversized, malformed, forged or dripping frames from the worker."""
from __future__ import annotations

from typing import Any, Callable

import pytest

from comptoir.kernel.errors import PluginError
from tests.sandbox.conftest import TEST_LIMITS, Shop

Attack = Callable[..., Any]


@pytest.mark.parametrize("how, why", [
    ("oversized", "limit is"),
    ("malformed", "malformed message"),
    ("not_an_object", "not an object"),
    ("forged_result", "unexpected"),
    ("slow_drip", "did not answer"),
])
def test_protocol_violation_kills_the_worker(shop: Shop, attack: Attack, how: str, why: str) -> None:
    with pytest.raises(PluginError, match=why):
        attack("hostile_rpc", how)
    assert shop.sandbox.plugins["hostile-rpc"].proc is None  # killed; restarted on the next call
    shop.assert_serving()


def test_unknown_type_is_never_built(shop: Shop, attack: Attack) -> None:
    with pytest.raises(PluginError, match="unknown type tag 'Kernel'"):
        attack("hostile_rpc", "unknown_type")
    assert shop.sandbox.plugins["hostile-rpc"].proc is not None  # a bad value, not a broken stream
    shop.assert_serving()


def test_oversized_answer_is_refused_by_the_worker(shop: Shop, attack: Attack) -> None:
    with pytest.raises(PluginError, match="exceeds"):
        attack("hostile_rpc", "huge_result", size=TEST_LIMITS.max_out + 10)
    shop.assert_serving()


def test_oversized_call_is_refused_by_the_kernel(shop: Shop) -> None:
    with pytest.raises(PluginError, match="exceeds"):
        shop.good("big-args", blob="x" * (TEST_LIMITS.max_in + 10))
    shop.assert_serving()


def test_private_context_calls_are_refused(shop: Shop, attack: Attack) -> None:
    answers = attack("hostile_rpc", "private_ctx")
    assert answers and all(v.startswith("refused") for v in answers.values()), answers
    shop.assert_serving()
