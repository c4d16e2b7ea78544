"""Pure money rules: the revenue split, its reversal, and proration. No database here.

Every function works on integer minor units and returns parts that add up to the
whole exactly. Rounding uses :meth:`comptoir.kernel.money.Money.allocate` (largest
remainder; on a tie the earlier part — the vendor — gets the unit).
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

from comptoir.kernel.money import Money

BP = 10_000  # basis points in a whole


@dataclass(frozen=True)
class SharePolicy:
    """The operator's rule: the vendor keeps ``rate_below_bp`` of its lifetime revenue in
    ``currency`` up to ``threshold`` minor units, and ``rate_above_bp`` beyond it."""

    currency: str = "EUR"
    threshold: int = 100_000_000  # 1,000,000.00 EUR
    rate_below_bp: int = BP
    rate_above_bp: int = 8_500

    def __post_init__(self) -> None:
        for name in ("rate_below_bp", "rate_above_bp"):
            v = getattr(self, name)
            if not isinstance(v, int) or not 0 <= v <= BP:
                raise ValueError(f"{name} must be an integer from 0 to {BP} basis points, got {v!r}")
        if not isinstance(self.threshold, int) or self.threshold < 0:
            raise ValueError(f"threshold must be a non-negative integer of minor units, got {self.threshold!r}")


def _keep(amount: int, rate_bp: int, currency: str) -> int:
    """The vendor's part of ``amount`` at ``rate_bp``; the rest is the marketplace's."""
    if amount == 0 or rate_bp == BP:
        return amount
    if rate_bp == 0:
        return 0
    return Money(amount, currency).allocate([rate_bp, BP - rate_bp])[0].amount


def split(gross: int, currency: str, lifetime: int, policy: SharePolicy) -> tuple[int, int]:
    """(vendor, marketplace) parts of a charge of ``gross`` for a vendor whose lifetime
    revenue in ``currency`` before this charge is ``lifetime``.

    The part of the charge that still fits under the threshold is shared at the lower
    rate and the rest at the higher one, so a charge that crosses the threshold is split
    at the exact crossing point. Each band is rounded on its own; the sum is exact.
    """
    if gross < 0:
        raise ValueError("a charge is never negative; reverse a charge instead")
    if currency == policy.currency:
        below = max(0, min(gross, policy.threshold - max(lifetime, 0)))
    else:
        below = 0
    above = gross - below
    vendor = _keep(below, policy.rate_below_bp, currency) + _keep(above, policy.rate_above_bp, currency)
    return vendor, gross - vendor


def reversal(charge_gross: int, charge_vendor: int, reversed_before: int, amount: int,
             currency: str) -> tuple[int, int]:
    """(vendor, marketplace) parts to give back when ``amount`` more of a charge is reversed.

    Computed cumulatively: the parts reversed so far are the allocation of everything
    reversed so far, so a charge reversed in several steps gives back exactly its
    original split when fully reversed, and never more.
    """
    if amount <= 0 or reversed_before + amount > charge_gross:
        raise ValueError(f"cannot reverse {amount} of a charge of {charge_gross} "
                         f"({reversed_before} already reversed)")
    weights = [charge_vendor, charge_gross - charge_vendor]

    def vendor_part(total: int) -> int:
        if total == 0:
            return 0
        return Money(total, currency).allocate(weights)[0].amount

    v = vendor_part(reversed_before + amount) - vendor_part(reversed_before)
    return v, amount - v


def prorate(amount: int, days: int, period_days: int) -> int:
    """``amount * days / period_days`` rounded to the nearest minor unit, halves up."""
    if period_days <= 0 or not 0 <= days <= period_days:
        raise ValueError(f"cannot prorate {days} of {period_days} days")
    return (2 * amount * days + period_days) // (2 * period_days)


def add_months(d: date, months: int) -> date:
    """``d`` moved by ``months``, the day clamped to the month's length (Jan 31 → Feb 28)."""
    m = d.month - 1 + months
    year, month = d.year + m // 12, m % 12 + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def period_end(start: date, interval: str, anchor_day: int = 0) -> date:
    """End (exclusive) of the period starting at ``start``. ``anchor_day`` keeps a
    subscription started on the 31st on the last day of short months without drifting
    (Jan 31 → Feb 28 → Mar 31)."""
    end = add_months(start.replace(day=1), 12 if interval == "year" else 1)
    day = anchor_day or start.day
    return end.replace(day=min(day, calendar.monthrange(end.year, end.month)[1]))


def month_of(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def month_bounds(month: str) -> tuple[date, date]:
    """``2026-11`` → (2026-11-01, 2026-12-01)."""
    try:
        year, mon = (int(x) for x in month.split("-"))
        start = date(year, mon, 1)
    except (ValueError, TypeError):
        raise ValueError(f"month must look like 2026-11, got {month!r}") from None
    return start, add_months(start, 1)
