"""Quotes from a price grid: Colissimo publishes no rate API, prices are those of the
merchant's contract (or the public counter prices below, indicative, in euro cents).

A grid is JSON: ``{"currency": "EUR", "zones": {"FR": {"countries": [...],
"services": {"DOM": [[max_grams, price], ...]}, "days": [min, max]}}}``; bands ascend
and a parcel heavier than the last band is not quoted for that service.
"""
from __future__ import annotations

import json
from typing import Any

DEFAULT_GRID: dict[str, Any] = {
    "currency": "EUR",
    "zones": {
        "FR": {"countries": ["FR", "MC", "AD"], "days": [2, 3], "services": {
            "DOM": [[250, 549], [500, 749], [750, 849], [1000, 899], [2000, 1049], [5000, 1599], [10000, 2299],
                    [30000, 3399]],
            "DOS": [[250, 679], [500, 879], [750, 979], [1000, 1029], [2000, 1179], [5000, 1729], [10000, 2429],
                    [30000, 3529]]}},
        "EU": {"countries": ["BE", "LU", "DE", "NL", "IT", "ES", "PT", "AT", "IE", "DK", "SE", "FI", "PL", "CZ", "GR",
                            "SK", "SI", "HU", "RO", "BG", "HR", "EE", "LV", "LT", "CY", "MT"],
               "days": [3, 6], "services": {
                   "DOS": [[500, 1475], [1000, 1795], [2000, 1990], [5000, 2575], [10000, 4275], [30000, 6240]]}},
    },
}
TITLES = {"DOM": "Colissimo home delivery", "DOS": "Colissimo home delivery with signature"}


def load(raw: str | None) -> dict[str, Any]:
    if not raw:
        return DEFAULT_GRID
    grid = json.loads(raw)
    if not isinstance(grid, dict) or "zones" not in grid or "currency" not in grid:
        raise ValueError("the Colissimo price grid needs 'currency' and 'zones'")
    return grid


def price(grid: dict[str, Any], country: str, service: str, grams: int) -> tuple[int, int, int] | None:
    """(price, min days, max days) of ``service`` to ``country``, or None."""
    for zone in grid["zones"].values():
        if country.upper() in zone["countries"] and service in zone["services"]:
            band = next((int(p) for limit, p in zone["services"][service] if grams <= int(limit)), None)
            if band is None:
                return None
            lo, hi = zone.get("days", [2, 5])
            return band, int(lo), int(hi)
    return None
