from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString

from wallets.ledger.services import from_minor
from wallets.templatetags.money import money

register = template.Library()


@register.simple_tag
def wallet_balance(account: Any) -> SafeString | str:
    """An IB wallet's posted balance (credits - debits), with its currency."""
    minor = int(account.credits_posted) - int(account.debits_posted)
    return money(from_minor(minor, account.currency_id), account.currency_id)
