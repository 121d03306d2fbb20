"""How money reads on a page: exact, grouped, with its currency, a minus when negative."""

from __future__ import annotations

from decimal import Decimal

from wallets.ledger.services import currency_exponent


def amount_text(amount: Decimal, currency: str) -> str:
    """`1,234.50` for 1234.5 USD; at least two decimals (none for JPY), more only when the
    amount has them (12.345678 USDT), so nothing is ever rounded away."""
    shown = min(currency_exponent(currency), 2)
    exact = amount.normalize()
    exponent = exact.as_tuple().exponent
    decimals = max(shown, -exponent if isinstance(exponent, int) else 0)
    text = f"{abs(amount):,.{decimals}f}"
    return f"-{text}" if amount < 0 else text


def money_text(amount: Decimal, currency: str) -> str:
    return f"{amount_text(amount, currency)} {currency}"


def rate_text(rate: Decimal) -> str:
    """A rate without trailing zeros, never in exponent notation."""
    return format(rate.normalize(), "f")
