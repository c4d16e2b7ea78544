"""Money: integer minor units; splits always add up to the whole."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from comptoir.kernel.money import Money


@given(st.integers(min_value=-10**12, max_value=10**12), st.lists(st.integers(0, 1000), min_size=1, max_size=12)
       .filter(lambda w: sum(w) > 0))
def test_allocation_parts_add_up_to_the_whole(amount: int, weights: list[int]) -> None:
    parts = Money(amount, "EUR").allocate(weights)
    assert sum(p.amount for p in parts) == amount
    assert all(p.currency == "EUR" for p in parts)
    # no part is more than one cent away from its exact share
    total = sum(weights)
    for p, w in zip(parts, weights):
        assert abs(p.amount * total - amount * w) < total


def test_allocation_example() -> None:
    assert [p.amount for p in Money(100, "EUR").allocate([1, 1, 1])] == [34, 33, 33]


def test_floats_and_mixed_currencies_are_refused() -> None:
    with pytest.raises(TypeError):
        Money(10.5, "EUR")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Money(1, "EUR") + Money(1, "USD")
    assert Money(1234, "EUR").format() == "12.34 EUR" and Money(5, "JPY").format() == "5 JPY"
