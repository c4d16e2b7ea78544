"""docs/hooks.md is generated from the hookspec docstrings and must be current."""
from __future__ import annotations

from pathlib import Path

from comptoir.kernel import hookspecs
from comptoir.sdk import hookdocs

DOC = Path(__file__).resolve().parents[2] / "docs" / "hooks.md"


def test_every_hook_is_documented_and_current() -> None:
    text = DOC.read_text()
    assert hookdocs.problems(text) == [], "run `comptoir sdk hookdocs --write docs/hooks.md`"
    for name in hookspecs.all_specs():
        assert f"### `{name}`" in text


def test_problems_notices_a_missing_and_a_stale_hook() -> None:
    text = hookdocs.render()
    missing = text.replace("### `shipping_quotes`", "### `gone`")
    assert "hook 'shipping_quotes' is not documented" in hookdocs.problems(missing)
    assert "'gone' is documented but is no hook" in hookdocs.problems(missing)
    stale = text.replace("Rate quotes for ``shipment``.", "Rate quotes.")
    assert hookdocs.problems(stale) == ["hook 'shipping_quotes' is documented but stale"]
