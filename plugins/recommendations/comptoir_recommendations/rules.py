"""Merchant rules: exclude, boost, pin. Kept in ``<storage>/rules.json``.

::

    {
      "exclude": [12, 57],                 // never recommended
      "boost":   {"31": 2.0, "44": 0.5},   // score multiplier per product (>1 lifts, <1 sinks)
      "pin":     {"*": [90], "for_you": [7, 8]}   // shown first, in this order, per kind
    }

Pins apply to the request kind named (``similar``, ``bought_together``, ``for_you``,
``popular``, ``trending``) and to ``"*"`` (every kind); they still obey stock and
exclusions. Serving re-reads the file when it changes (checked at most once a second),
so ``comptoir reco rules`` takes effect without a restart.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RULES_FILE = "rules.json"
KINDS = ("similar", "bought_together", "for_you", "popular", "trending")


@dataclass(frozen=True)
class Rules:
    exclude: frozenset[int] = frozenset()
    boost: dict[int, float] = field(default_factory=dict)
    pin: dict[str, tuple[int, ...]] = field(default_factory=dict)

    def pins_for(self, kind: str) -> tuple[int, ...]:
        """Pinned products for a request kind: the kind's own, then the ``*`` ones."""
        seen: list[int] = []
        for pid in self.pin.get(kind, ()) + self.pin.get("*", ()):
            if pid not in seen:
                seen.append(pid)
        return tuple(seen)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Rules":
        """Validate a rules document; raises ValueError naming the bad entry."""
        unknown = set(data) - {"exclude", "boost", "pin"}
        if unknown:
            raise ValueError(f"unknown rule keys {sorted(unknown)}; use exclude, boost, pin")
        boost: dict[int, float] = {}
        for k, v in dict(data.get("boost", {})).items():
            factor = float(v)
            if not factor > 0:
                raise ValueError(f"boost for product {k} must be > 0 (use exclude to remove it)")
            boost[int(k)] = factor
        pin: dict[str, tuple[int, ...]] = {}
        for kind, ids in dict(data.get("pin", {})).items():
            if kind != "*" and kind not in KINDS:
                raise ValueError(f"pin kind {kind!r} is unknown; use '*' or one of {', '.join(KINDS)}")
            pin[kind] = tuple(int(i) for i in ids)
        return cls(frozenset(int(i) for i in data.get("exclude", ())), boost, pin)

    def to_json(self) -> dict[str, Any]:
        return {"exclude": sorted(self.exclude), "boost": {str(k): v for k, v in sorted(self.boost.items())},
                "pin": {k: list(v) for k, v in self.pin.items()}}


def load_rules(storage: Path) -> Rules:
    """The rules in ``storage`` (empty when there is no file)."""
    path = Path(storage) / RULES_FILE
    try:
        return Rules.from_json(json.loads(path.read_text()))
    except FileNotFoundError:
        return Rules()


def save_rules(storage: Path, rules: Rules) -> None:
    """Write atomically (temp file + ``os.replace``) so serving never reads half a file."""
    storage = Path(storage)
    storage.mkdir(parents=True, exist_ok=True)
    tmp = storage / f".{RULES_FILE}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(rules.to_json(), indent=1))
    os.replace(tmp, storage / RULES_FILE)
