"""Writes of the wallet features: conversions a client confirms, FX rates, and manual
adjustments under maker-checker. Money moves only through wallets.ledger.services."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core import signing
from django.db import transaction
from django.utils import timezone

from brokerage.models import User
from clients.models import Client
from wallets.exceptions import AdjustmentError, ConversionError
from wallets.ledger import exceptions as ledger_errors
from wallets.ledger.selectors import account_balance
from wallets.ledger.services import (
    Leg,
    Quote,
    conversion_quote,
    house_account,
    ledger_convert,
    ledger_transfer,
    to_minor,
    wallet_for_client,
)
from wallets.models import FxRate, Journal, LedgerAccount, ManualAdjustment
from wallets.money import money_text
from wallets.selectors import wallet_available

# --- conversions -------------------------------------------------------------------------------

CONVERSION_SOURCE = "portal.conversion"
QUOTE_SALT = "wallets.conversion-quote"
# A shown quote holds this long: long enough to read it, short enough that the house
# doesn't honour a stale rate.
QUOTE_MAX_AGE = 120


def conversion_quote_sign(*, client: Client, quote: Quote) -> str:
    """The quote as a signed token for the confirmation form. Its idempotency key is made
    here, when the quote is shown, so a double click or a resubmitted form posts once."""
    payload = {
        "key": uuid.uuid4().hex,
        "client": client.pk,
        "amount": str(quote.sell_amount),
        "sell": quote.sell_currency,
        "buy": quote.buy_currency,
        "rate": str(quote.rate),
        "markup": str(quote.markup),
    }
    return signing.dumps(payload, salt=QUOTE_SALT, compress=True)


def conversion_quote_read(*, client: Client, token: str) -> tuple[str, Quote]:
    """The key and the exact quote that was shown (the rate the client saw, not today's)."""
    try:
        payload: dict[str, Any] = signing.loads(token, salt=QUOTE_SALT, max_age=QUOTE_MAX_AGE)
    except signing.SignatureExpired:
        raise ConversionError(
            "This quote has expired: rates move, so a quote holds for two minutes. "
            "Check the new quote below."
        ) from None
    except signing.BadSignature:
        raise ConversionError("This quote is not valid. Start the conversion again.") from None
    if payload.get("client") != client.pk:
        raise ConversionError("This quote is not valid. Start the conversion again.")
    quote = conversion_quote(
        amount=Decimal(payload["amount"]),
        sell=payload["sell"],
        buy=payload["buy"],
        rate=Decimal(payload["rate"]),
        markup=Decimal(payload["markup"]),
    )
    return str(payload["key"]), quote


@dataclass(frozen=True)
class Conversion:
    journal_id: int
    created: bool  # False: this quote was already converted (a double submit)
    quote: Quote


def wallet_convert(*, client: Client, token: str, actor: User) -> Conversion:
    from kyc.policy import kyc_may  # kyc reads the ledger too: imported when used

    verdict = kyc_may(client=client, action="convert")
    if not verdict.allowed:
        raise ConversionError(verdict.reason)
    key, quote = conversion_quote_read(client=client, token=token)
    try:
        posting = ledger_convert(
            source=CONVERSION_SOURCE, key=key, client=client, quote=quote, actor=actor
        )
    except ledger_errors.InsufficientFunds:
        available = wallet_available(client=client, currency=quote.sell_currency)
        raise ConversionError(
            f"You have {money_text(available, quote.sell_currency)} available.", field="amount"
        ) from None
    except ledger_errors.LedgerError as exc:
        raise ConversionError(exc.message) from exc
    return Conversion(journal_id=posting.journal_id, created=posting.created, quote=quote)


# --- FX rates ----------------------------------------------------------------------------------


def fx_rate_set(*, base: str, quote: str, rate: Decimal, markup: Decimal, actor: User) -> FxRate:
    if base == quote:
        raise ConversionError("A rate is between two different currencies.", field="quote")
    if rate <= 0:
        raise ConversionError("The rate must be greater than zero.", field="rate")
    if not Decimal(0) <= markup < Decimal(1):
        raise ConversionError("The markup is a fraction between 0 and 1.", field="markup")
    fx, _ = FxRate.objects.update_or_create(
        base_id=base,
        quote_id=quote,
        defaults={"rate": rate, "markup": markup, "updated_by": actor},
    )
    return fx


# --- manual adjustments (maker-checker) --------------------------------------------------------

ADJUSTMENT_SOURCE = "adjustment"


def _require_finance(actor: User) -> None:
    if not actor.has_perm("brokerage.change_payments"):
        raise AdjustmentError("Only finance staff may request or decide adjustments.")


def adjustment_request(
    *,
    client: Client,
    currency: str,
    direction: str,
    amount: Decimal,
    reason: str,
    reason_text: str,
    actor: User,
) -> ManualAdjustment:
    """Ask for a correction of a client's wallet. Nothing moves until someone else approves."""
    _require_finance(actor)
    try:
        to_minor(amount, currency)
    except ledger_errors.InvalidAmount as exc:
        raise AdjustmentError(exc.message, field="amount") from exc
    if not reason_text.strip():
        raise AdjustmentError("Explain the adjustment for the approver.", field="reason_text")
    with transaction.atomic():
        account = wallet_for_client(client=client, currency=currency)
        if direction == ManualAdjustment.Direction.DEBIT:
            available = account_balance(account=account).available
            if amount > available:
                raise AdjustmentError(
                    f"The wallet has {money_text(available, currency)} available; "
                    "a debit can't be larger.",
                    field="amount",
                )
        return ManualAdjustment.objects.create(
            account=account,
            direction=direction,
            amount=amount,
            currency_id=currency,
            reason=reason,
            reason_text=reason_text.strip(),
            requested_by=actor,
        )


def _lock_pending(adjustment_id: int, actor: User) -> ManualAdjustment:
    """The adjustment, row-locked until the transaction ends, so two approvers deciding at
    the same moment are serialised and the second one sees the first one's decision."""
    _require_finance(actor)
    adjustment = (
        ManualAdjustment.objects.select_for_update(of=("self",))
        .select_related("account", "requested_by", "decided_by")
        .get(pk=adjustment_id)
    )
    if adjustment.status != ManualAdjustment.Status.PENDING:
        who = adjustment.decided_by.get_full_name() if adjustment.decided_by else "someone"
        raise AdjustmentError(
            f"This adjustment was already {adjustment.get_status_display().lower()} by {who}."
        )
    if adjustment.requested_by_id == actor.pk:
        raise AdjustmentError(
            "You requested this adjustment, so another finance person must decide it."
        )
    return adjustment


@transaction.atomic
def adjustment_approve(*, adjustment_id: int, actor: User, note: str = "") -> ManualAdjustment:
    """Approve and post: between the client's wallet and the house adjustments account, under
    the key adjustment:<id>, so it can post at most once whatever happens."""
    adjustment = _lock_pending(adjustment_id, actor)
    account: LedgerAccount = adjustment.account
    house = house_account(kind=LedgerAccount.Kind.ADJUSTMENTS, currency=adjustment.currency_id)
    amount = adjustment.amount
    credit = adjustment.direction == ManualAdjustment.Direction.CREDIT
    legs = (
        [Leg(house, "D", amount), Leg(account, "C", amount)]
        if credit
        else [Leg(account, "D", amount), Leg(house, "C", amount)]
    )
    try:
        posting = ledger_transfer(
            source=ADJUSTMENT_SOURCE,
            key=f"adjustment:{adjustment.pk}",
            legs=legs,
            kind=Journal.Kind.ADJUSTMENT,
            actor=actor,
            memo=f"Manual adjustment: {adjustment.get_reason_display()}",
            metadata={
                "adjustment_id": adjustment.pk,
                "reason": adjustment.reason,
                "requested_by": adjustment.requested_by.email,
            },
        )
    except ledger_errors.InsufficientFunds:
        available = account_balance(account=account).available
        raise AdjustmentError(
            f"The wallet now has only {money_text(available, account.currency_id)} available, "
            "less than this debit. Reject it, or wait until the funds are there."
        ) from None
    except ledger_errors.LedgerError as exc:
        raise AdjustmentError(exc.message) from exc
    adjustment.status = ManualAdjustment.Status.APPROVED
    adjustment.decided_by = actor
    adjustment.decided_at = timezone.now()
    adjustment.decision_note = note.strip()
    adjustment.journal_id = posting.journal_id
    adjustment.save(
        update_fields=["status", "decided_by", "decided_at", "decision_note", "journal"]
    )
    return adjustment


@transaction.atomic
def adjustment_reject(*, adjustment_id: int, actor: User, note: str) -> ManualAdjustment:
    if not note.strip():
        raise AdjustmentError("Say why you reject it: the requester reads this.", field="note")
    adjustment = _lock_pending(adjustment_id, actor)
    adjustment.status = ManualAdjustment.Status.REJECTED
    adjustment.decided_by = actor
    adjustment.decided_at = timezone.now()
    adjustment.decision_note = note.strip()
    adjustment.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    return adjustment
