"""Paying an IB out. Commission earned sits in the IB wallet; a payout request moves it to the
IB's own wallet in the trader's room, and from there it leaves through the normal withdrawal
flow (a hold, finance approval by two people above the threshold, the payout reference), so
an IB's money goes out under exactly the checks a trader's does, KYC included."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from partners.commissions.exceptions import CommissionError
from partners.models import Partner
from wallets.ledger import exceptions as ledger_errors
from wallets.ledger.selectors import account_balance
from wallets.ledger.services import (
    Leg,
    Posting,
    currency_exponent,
    ledger_transfer,
    wallet_for_client,
)
from wallets.models import LedgerAccount


def ib_wallet_get(*, partner: Partner, currency: str) -> LedgerAccount:
    wallet = LedgerAccount.objects.filter(
        kind=LedgerAccount.Kind.IB_WALLET, ib_id=partner.pk, currency_id=currency
    ).first()
    if wallet is None:
        raise CommissionError(f"You have no {currency} commission to pay out.")
    return wallet


@transaction.atomic
def commission_payout_to_wallet(
    *, partner: Partner, currency: str, amount: Decimal, token: str
) -> Posting:
    """Move `amount` from the IB wallet to the IB's trader's-room wallet (idempotent under the
    form's token: a double submit moves it once)."""
    from clients.services import client_register
    from kyc.services import kyc_onboard

    wallet = ib_wallet_get(partner=partner, currency=currency)
    exponent = currency_exponent(currency)
    if amount <= 0:
        raise CommissionError("Enter an amount above zero.")
    if -amount.as_tuple().exponent > exponent:  # type: ignore[operator]
        raise CommissionError(f"{currency} amounts have at most {exponent} decimals.")
    available = account_balance(account=wallet).available
    if amount > available:
        raise CommissionError(f"You can pay out at most {available:,.{exponent}f} {currency}.")
    user = partner.user
    had_profile = hasattr(user, "client")
    client = client_register(user=user)
    if not had_profile:
        kyc_onboard(client=client)  # an IB who never traded: verification starts now
    try:
        return ledger_transfer(
            source="commissions.payout",
            key=f"{partner.pk}:{token}",
            legs=[
                Leg(wallet, "D", amount),
                Leg(wallet_for_client(client=client, currency=currency), "C", amount),
            ],
            memo="IB commission to your wallet",
            metadata={"partner": partner.pk},
        )
    except ledger_errors.InsufficientFunds:
        raise CommissionError(
            f"You can pay out at most {available:,.{exponent}f} {currency}."
        ) from None
    except ledger_errors.IdempotencyConflict:
        raise CommissionError("This payout form was already used; open it again.") from None
