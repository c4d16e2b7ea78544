"""Exact money: integer minor units and an ISO-4217 currency, never floats."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

# Minor-unit exponents that differ from 2 (ISO 4217); everything else has cents.
_EXPONENTS = {"JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "VND": 0, "XOF": 0, "XAF": 0,
              "BHD": 3, "KWD": 3, "JOD": 3, "OMR": 3, "TND": 3}


def exponent(currency: str) -> int:
    """Number of decimal places of ``currency``'s minor unit."""
    return _EXPONENTS.get(currency, 2)


def check_currency(currency: str, field: str = "currency") -> str:
    from comptoir.kernel.errors import ValidationFailed

    if not (isinstance(currency, str) and len(currency) == 3 and currency.isalpha() and currency.isupper()):
        raise ValidationFailed(f"{field} must be a 3-letter ISO-4217 code such as 'EUR', got {currency!r}", field=field)
    return currency


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in minor units (cents) of ``currency``. Arithmetic refuses mixed currencies."""

    amount: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, int) or isinstance(self.amount, bool):
            raise TypeError(f"Money amount must be an int of minor units, got {type(self.amount).__name__}")

    def _same(self, other: "Money") -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} and {other.currency}")

    def __add__(self, other: "Money") -> "Money":
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: "Money") -> "Money":
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, quantity: int) -> "Money":
        if not isinstance(quantity, int):
            raise TypeError("Money can only be multiplied by an integer quantity")
        return Money(self.amount * quantity, self.currency)

    def __neg__(self) -> "Money":
        return Money(-self.amount, self.currency)

    def __bool__(self) -> bool:
        return self.amount != 0

    @classmethod
    def zero(cls, currency: str) -> "Money":
        return cls(0, currency)

    def allocate(self, weights: Sequence[int]) -> list["Money"]:
        """Split by integer ``weights`` so the parts add up to the whole exactly.

        Largest-remainder rule: each part gets the floor of its share, then the cents left
        over go one by one to the parts with the largest remainders (ties: earliest first).
        """
        total = sum(weights)
        if total <= 0 or any(w < 0 for w in weights):
            raise ValueError("weights must be non-negative with a positive sum")
        sign = -1 if self.amount < 0 else 1
        whole = abs(self.amount)
        shares = [whole * w // total for w in weights]
        remainders = [(whole * w % total, -i) for i, w in enumerate(weights)]
        left = whole - sum(shares)
        for _, neg_i in sorted(remainders, reverse=True)[:left]:
            shares[-neg_i] += 1
        return [Money(sign * s, self.currency) for s in shares]

    def format(self) -> str:
        """Human display such as ``12.50 EUR``; for display only, never for arithmetic."""
        exp = exponent(self.currency)
        sign = "-" if self.amount < 0 else ""
        whole, frac = divmod(abs(self.amount), 10**exp) if exp else (abs(self.amount), 0)
        return f"{sign}{whole}.{frac:0{exp}d} {self.currency}" if exp else f"{sign}{whole} {self.currency}"

    def to_dict(self) -> dict[str, object]:
        return {"amount": self.amount, "currency": self.currency}
