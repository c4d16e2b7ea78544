"""The money rules on their own: threshold split, proportional reversal, proration."""
from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from comptoir.marketplace.billing.split import (SharePolicy, add_months, month_bounds, period_end, prorate,
                                                reversal, split)

DEFAULT = SharePolicy()


def test_default_policy_is_100_percent_of_the_first_million_then_85() -> None:
    assert DEFAULT.threshold == 100_000_000 and DEFAULT.rate_below_bp == 10_000 and DEFAULT.rate_above_bp == 8_500
    assert split(10_000, "EUR", 0, DEFAULT) == (10_000, 0)
    assert split(10_000, "EUR", 100_000_000, DEFAULT) == (8_500, 1_500)


def test_a_charge_crossing_the_threshold_is_split_at_the_crossing() -> None:
    # 300 cents still fit under the threshold (vendor keeps all), 700 are shared 85/15
    vendor, market = split(1_000, "EUR", 100_000_000 - 300, DEFAULT)
    assert (vendor, market) == (300 + 595, 105)


def test_rounding_gives_the_odd_cent_by_largest_remainder() -> None:
    # 85% of 1 cent is 0.85: the vendor's remainder is the largest, it gets the cent
    assert split(1, "EUR", 200_000_000, DEFAULT) == (1, 0)
    # 85% of 3 = 2.55, 15% = 0.45: floors 2 and 0; the cent left goes to the larger remainder (0.55)
    assert split(3, "EUR", 200_000_000, DEFAULT) == (3, 0)
    assert split(7, "EUR", 200_000_000, DEFAULT) == (6, 1)  # 5.95 / 1.05


def test_other_currencies_use_the_rate_above() -> None:
    assert split(1_000, "USD", 0, DEFAULT) == (850, 150)


@given(gross=st.integers(0, 10**10), lifetime=st.integers(0, 2 * 10**8),
       threshold=st.integers(0, 2 * 10**8), below=st.integers(0, 10_000), above=st.integers(0, 10_000))
def test_parts_always_add_up_and_respect_both_rates(gross: int, lifetime: int, threshold: int, below: int,
                                                    above: int) -> None:
    policy = SharePolicy("EUR", threshold, below, above)
    vendor, market = split(gross, "EUR", lifetime, policy)
    assert vendor + market == gross and vendor >= 0 and market >= 0
    in_band = max(0, min(gross, threshold - lifetime))
    exact = in_band * below / 10_000 + (gross - in_band) * above / 10_000
    assert abs(vendor - exact) <= 1  # one rounding per band, each off by less than a cent


@given(st.integers(1, 10**9), st.integers(0, 10_000), st.lists(st.integers(1, 10**6), min_size=1, max_size=8))
def test_partial_reversals_give_back_the_original_split_exactly(gross: int, rate: int, steps: list[int]) -> None:
    vendor = gross * rate // 10_000
    done, v_back, m_back = 0, 0, 0
    for step in steps:
        step = min(step, gross - done)
        if step == 0:
            break
        v, m = reversal(gross, vendor, done, step, "EUR")
        assert v + m == step and v >= 0 and m >= 0
        done, v_back, m_back = done + step, v_back + v, m_back + m
    if done < gross:
        v, m = reversal(gross, vendor, done, gross - done, "EUR")
        v_back, m_back = v_back + v, m_back + m
    assert (v_back, m_back) == (vendor, gross - vendor)


def test_reversing_more_than_the_charge_is_refused() -> None:
    with pytest.raises(ValueError):
        reversal(100, 85, 90, 11, "EUR")


def test_proration_to_the_day_rounds_half_up() -> None:
    assert prorate(3000, 15, 30) == 1500
    assert prorate(3000, 10, 30) == 1000
    assert prorate(1000, 1, 30) == 33  # 33.33
    assert prorate(1000, 2, 30) == 67  # 66.67
    assert prorate(5, 1, 2) == 3  # 2.5 → 3
    assert prorate(3000, 0, 30) == 0 and prorate(3000, 30, 30) == 3000


def test_months_clamp_to_their_length() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert period_end(date(2026, 11, 15), "month") == date(2026, 12, 15)
    assert period_end(date(2028, 2, 29), "year") == date(2029, 2, 28)
    assert month_bounds("2026-12") == (date(2026, 12, 1), date(2027, 1, 1))
    with pytest.raises(ValueError):
        month_bounds("2026-13")
