"""Hook signatures are checked by the pluggy rules, on objects and on source text."""
from __future__ import annotations

import types

import pytest

from comptoir.sdk import HookSignatureError, check_plugin, check_sources, hookimpl


def _plugin(**fns: object) -> types.SimpleNamespace:
    return types.SimpleNamespace(**fns)


def test_subset_of_spec_params_is_accepted() -> None:
    @hookimpl
    def shipping_quotes(shipment):  # type: ignore[no-untyped-def]  # ctx may be omitted
        return []

    impls = check_plugin(_plugin(shipping_quotes=shipping_quotes), "carrier")
    assert [(i.hook, i.params) for i in impls] == [("shipping_quotes", ("shipment",))]


def test_unknown_hook_names_plugin_and_suggests() -> None:
    @hookimpl
    def shipping_quote(ctx, shipment):  # type: ignore[no-untyped-def]
        return []

    with pytest.raises(HookSignatureError) as err:
        check_plugin(_plugin(shipping_quote=shipping_quote), "carrier")
    assert "plugin 'carrier'" in err.value.message
    assert "'shipping_quote'" in err.value.message and "did you mean 'shipping_quotes'" in err.value.message


def test_extra_parameter_is_refused_with_the_spec() -> None:
    @hookimpl
    def shipping_quotes(ctx, shipment, cart):  # type: ignore[no-untyped-def]
        return []

    with pytest.raises(HookSignatureError) as err:
        check_plugin(_plugin(shipping_quotes=shipping_quotes), "carrier")
    assert "takes 'cart'" in err.value.message and "shipping_quotes(ctx, shipment)" in err.value.message


def test_extra_parameter_with_default_is_fine() -> None:
    @hookimpl
    def shipping_quotes(ctx, shipment, debug=False):  # type: ignore[no-untyped-def]
        return []

    check_plugin(_plugin(shipping_quotes=shipping_quotes), "carrier")


def test_specname_is_honoured() -> None:
    @hookimpl(specname="shipping_quotes")
    def quotes(ctx, shipment):  # type: ignore[no-untyped-def]
        return []

    assert check_plugin(_plugin(quotes=quotes), "carrier")[0].hook == "shipping_quotes"


SOURCE = '''
from comptoir.sdk import hookimpl
import comptoir.sdk as sdk

@hookimpl
def shipping_quotes(ctx, shipment):
    return []

class Carrier:
    @sdk.hookimpl(specname="shipping_track")
    def track(self, ctx, tracking_number):
        return []

def helper(x, y):
    return x
'''


def test_static_check_reads_source_without_importing() -> None:
    impls = check_sources({"pkg/plugin.py": SOURCE + "\nraise SystemExit('never imported')\n"}, "carrier")
    assert sorted((i.hook, i.params) for i in impls) == [
        ("shipping_quotes", ("ctx", "shipment")), ("shipping_track", ("ctx", "tracking_number"))]


def test_static_check_names_file_and_line() -> None:
    bad = "from comptoir.sdk import hookimpl\n\n@hookimpl\ndef shipping_quotes(ctx, shipment, secret):\n    return []\n"
    with pytest.raises(HookSignatureError) as err:
        check_sources({"pkg/plugin.py": bad}, "carrier")
    assert "pkg/plugin.py:4" in err.value.message and "'secret'" in err.value.message


def test_static_check_refuses_a_plugin_without_hooks_and_bad_syntax() -> None:
    with pytest.raises(HookSignatureError, match="no @hookimpl"):
        check_sources({"pkg/plugin.py": "x = 1\n"}, "carrier")
    with pytest.raises(HookSignatureError, match="syntax error"):
        check_sources({"pkg/plugin.py": "def (:\n"}, "carrier")
