"""Money: integer minor units in the store, Decimal major units everywhere else."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

#: ISO 4217 exponents that are not 2
EXPONENTS = {"JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "VND": 0, "BHD": 3, "KWD": 3, "JOD": 3}


def exponent(currency: str) -> int:
    return EXPONENTS.get(currency.upper(), 2)


def to_major(cents: int | None, currency: str = "USD") -> Decimal:
    """Minor units -> Decimal with the currency's exponent (``123450`` -> ``1234.50``)."""
    return Decimal(int(cents or 0)).scaleb(-exponent(currency))


def to_minor(amount: Decimal | int | str, currency: str = "USD") -> int:
    """Decimal major units -> integer minor units, rounded half up."""
    exp = exponent(currency)
    value = Decimal(str(amount)) * (Decimal(10) ** exp)
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def format_amount(value: Decimal, currency: str | None = None) -> str:
    """``1234.5`` -> ``1,234.50`` (with the currency code when given)."""
    places = value.as_tuple().exponent
    text = f"{value:,.{max(0, -places)}f}" if isinstance(places, int) else str(value)
    return f"{text} {currency}" if currency else text
