"""The rate table: zones of countries, each with services priced flat or by weight band.

A table is JSON (the ``table`` setting) shaped like ``DEFAULT_TABLE``. Amounts are in
minor units. Weight bands are ``[max_grams, price]`` pairs, ascending; a parcel heavier
than the last band is not quoted by that service.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

DEFAULT_TABLE: dict[str, Any] = {
    "currency": "EUR",
    "zones": {
        "domestic": {
            "countries": ["FR", "MC"],
            "services": {
                "standard": {"title": "Standard", "bands": [[500, 495], [2000, 695], [5000, 995], [30000, 1895]],
                             "days": [2, 4], "free_above": 6000},
                "express": {"title": "Express", "flat": 1290, "days": [1, 1], "max_grams": 30000},
            },
        },
        "europe": {
            "countries": ["BE", "LU", "DE", "NL", "IT", "ES", "PT", "AT", "IE", "DK", "SE", "FI", "PL", "CZ", "GR"],
            "services": {"standard": {"title": "Europe standard", "bands": [[1000, 1190], [5000, 1790],
                                                                              [30000, 3490]], "days": [3, 6]}},
        },
        "world": {"countries": ["*"], "services": {"standard": {"title": "International", "bands": [
            [1000, 2490], [5000, 4490], [20000, 8990]], "days": [5, 12]}}},
    },
}


@dataclass(frozen=True)
class Rate:
    zone: str
    service: str
    title: str
    price: int
    min_days: int
    max_days: int


class TableError(ValueError):
    pass


def load(raw: str | dict[str, Any] | None) -> dict[str, Any]:
    if not raw:
        return DEFAULT_TABLE
    table = json.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(table, dict) or "zones" not in table or "currency" not in table:
        raise TableError("rate table needs 'currency' and 'zones'")
    return table


def zone_for(table: dict[str, Any], country: str) -> str | None:
    country = country.upper()
    fallback = None
    for name, zone in table["zones"].items():
        if country in zone["countries"]:
            return name
        if "*" in zone["countries"]:
            fallback = name
    return fallback


def rates(table: dict[str, Any], country: str, weight_grams: int, subtotal: int) -> list[Rate]:
    zone = zone_for(table, country)
    if zone is None:
        return []
    out = []
    for service, spec in table["zones"][zone]["services"].items():
        price: int | None
        if "flat" in spec:
            price = int(spec["flat"]) if weight_grams <= int(spec.get("max_grams", 10**9)) else None
        else:
            price = next((int(p) for limit, p in spec["bands"] if weight_grams <= int(limit)), None)
        if price is None:
            continue
        if spec.get("free_above") and subtotal >= int(spec["free_above"]):
            price = 0
        lo, hi = spec.get("days", [2, 5])
        out.append(Rate(zone, service, spec.get("title", service), price, int(lo), int(hi)))
    return out
