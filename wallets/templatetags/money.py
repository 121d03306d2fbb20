from __future__ import annotations

from decimal import Decimal

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from wallets.money import amount_text, rate_text

register = template.Library()


@register.simple_tag
def money(amount: Decimal | None, currency: str, code: bool = True) -> SafeString | str:
    """`{% money balance "USD" %}`: tabular figures, red with a minus when negative."""
    if amount is None:
        return "—"
    css = "money negative" if amount < 0 else "money"
    text = amount_text(amount, currency)
    if code:
        return format_html(
            '<span class="{}">{}&nbsp;<span class="ccy">{}</span></span>', css, text, currency
        )
    return format_html('<span class="{}">{}</span>', css, text)


@register.filter
def rate(value: Decimal) -> str:
    return rate_text(value)


@register.filter
def amount(value: Decimal, currency: str) -> str:
    """`{{ x|amount:"USD" }}`: the number only, as in a sentence or a button."""
    return amount_text(value, currency)


@register.filter
def percent(fraction: Decimal) -> str:
    """0.005 -> '0.5 %'."""
    return f"{rate_text(fraction * 100)} %"
