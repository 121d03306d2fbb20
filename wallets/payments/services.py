"""Every write of the deposit flow: start a deposit, take a provider's word (webhook) for it,
refund it. The ledger is the truth about money; these keep each Deposit's story in step.

Exactly once: a deposit is credited by one journal whose idempotency key is the provider and
its payment id (source "payments", key "<provider>:<provider_ref>"), posted in the same short
transaction that stores the provider's event (UNIQUE on provider + event id) with the
deposit's row locked. A redelivered webhook is a duplicate event; two different events for
one payment (Stripe's completed and async_payment_succeeded) find the deposit already
credited; and the ledger's key would refuse a second credit even if both of those failed.

Reversals (refund, chargeback) mirror the credit when the wallet still holds the money. When
the client has spent part of it, the wallet gives what it has (never below zero: the ledger
refuses an overdraft), the house's "Manual adjustments · chargebacks" account takes the rest
as a receivable for finance to recover, the deposit records the shortfall, and an AML case
flags the client (a chargeback also freezes them where their KYC case can be held).
"""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from brokerage.models import User
from clients.models import Client, Notice
from clients.notices import notify
from kyc import services as kyc_services
from kyc.models import TRANSITIONS as KYC_TRANSITIONS
from kyc.models import AmlCase, CaseState
from kyc.policy import LEVEL_NAMES, client_level, kyc_may
from wallets.ledger import exceptions as ledger_errors
from wallets.ledger.services import (
    Leg,
    Posting,
    TransferRequest,
    currency_exponent,
    from_minor,
    house_account,
    ledger_hold,
    ledger_reverse,
    ledger_transfer,
    ledger_transfer_payload,
    ledger_void_pending,
    wallet_for_client,
)
from wallets.models import Journal, LedgerAccount
from wallets.money import money_text
from wallets.payments.exceptions import DepositRefused, ProviderDown, RefundRefused
from wallets.payments.models import Deposit, PaymentEvent, PaymentMethod
from wallets.payments.providers import provider_get
from wallets.payments.providers.base import EventKind, ProviderEvent, ProviderUnavailable

log = logging.getLogger(__name__)

LEDGER_SOURCE = "payments"
Status = Deposit.Status
OPEN_STATES = (Status.CREATED, Status.PENDING)


def ledger_key(deposit: Deposit) -> str:
    return f"{deposit.provider}:{deposit.provider_ref}"


def _quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-currency_exponent(currency))


# --- starting a deposit -------------------------------------------------------------------


@dataclass(frozen=True)
class DepositQuote:
    method: PaymentMethod
    amount: Decimal
    currency: str
    fee: Decimal

    @property
    def net(self) -> Decimal:
        return self.amount - self.fee


def method_available(method: PaymentMethod) -> bool:
    return method.deposits_enabled and provider_get(method.provider).is_configured()


def deposit_fee(*, method: PaymentMethod, amount: Decimal, currency: str) -> Decimal:
    """Fixed plus percent of the amount, rounded half up to the currency's smallest unit."""
    raw = method.fee_fixed + amount * method.fee_percent / Decimal(100)
    return raw.quantize(_quantum(currency), rounding=ROUND_HALF_UP)


def deposit_quote(
    *, client: Client, method: PaymentMethod, currency: str, amount: Decimal
) -> DepositQuote:
    """Check a deposit request and work out its fee; writes nothing. Each refusal says what
    to do instead."""
    if not method_available(method):
        raise DepositRefused(
            "This payment method is not available right now. Choose another one.", field="method"
        )
    if currency not in method.currencies:
        raise DepositRefused(
            f"{method.name} takes {' or '.join(method.currencies)}, not {currency}. "
            "Choose one of those currencies or another method.",
            field="currency",
        )
    if not amount.is_finite() or amount <= 0:
        raise DepositRefused("Enter an amount greater than zero.", field="amount")
    exponent = currency_exponent(currency)
    if amount != amount.quantize(_quantum(currency)):
        raise DepositRefused(
            f"{currency} amounts have at most {exponent} decimal places; "
            f"{amount.normalize():f} has more.",
            field="amount",
        )
    amount = amount.quantize(_quantum(currency))
    if amount < method.min_amount:
        raise DepositRefused(
            f"The minimum deposit with {method.name} is {money_text(method.min_amount, currency)}.",
            field="amount",
        )
    if amount > method.max_amount:
        raise DepositRefused(
            f"The maximum deposit with {method.name} is "
            f"{money_text(method.max_amount.quantize(_quantum(currency)), currency)}. "
            "Deposit less, or split it into several deposits.",
            field="amount",
        )
    level = client_level(client=client)
    if level < method.kyc_level:
        raise DepositRefused(
            f"{method.name} needs verification level {method.kyc_level} "
            f"({LEVEL_NAMES.get(method.kyc_level, '').lower()}); you are at level {level}. "
            "Complete your verification, or choose another method.",
            field="method",
        )
    verdict = kyc_may(client=client, action="deposit", amount=amount, currency=currency)
    if not verdict.allowed:
        raise DepositRefused(verdict.reason, field="amount")
    fee = deposit_fee(method=method, amount=amount, currency=currency)
    if fee >= amount:
        raise DepositRefused(
            f"The fee ({money_text(fee, currency)}) would take the whole amount; deposit more.",
            field="amount",
        )
    return DepositQuote(method=method, amount=amount, currency=currency, fee=fee)


def deposit_create(
    *, client: Client, method: PaymentMethod, currency: str, amount: Decimal
) -> Deposit:
    """Record the deposit, then ask the provider for a payment (outside any transaction: a
    slow provider holds no row). Nothing is held or credited here; money moves only when the
    provider's webhook confirms it. If the provider can't start the payment, the deposit is
    marked failed with the reason and ProviderDown tells the client."""
    quote = deposit_quote(client=client, method=method, currency=currency, amount=amount)
    deposit = Deposit.objects.create(
        client=client,
        method=method,
        provider=method.provider,
        amount=quote.amount,
        currency=quote.currency,
        fee=quote.fee,
    )
    provider = provider_get(method.provider)
    return_url = _site_url(reverse("payments:deposit", args=[deposit.pk]))
    try:
        checkout = provider.create_payment(deposit=deposit, return_url=return_url)
    except ProviderUnavailable as exc:
        log.warning("payments: %s could not start deposit %s: %s", provider.name, deposit.pk, exc)
        _move(deposit, Status.FAILED, failure_reason=f"The provider did not answer: {exc}"[:300])
        raise ProviderDown(
            f"{method.name} is not answering right now, so nothing was charged or held. "
            "Try again in a few minutes, or choose another method.",
        ) from exc
    deposit.provider_ref = checkout.payment_ref
    deposit.redirect_url = checkout.redirect_url
    _move(deposit, Status.PENDING, fields=["provider_ref", "redirect_url"])
    return deposit


def _site_url(path: str) -> str:
    from django.conf import settings

    return f"{settings.SITE_URL.rstrip('/')}{path}"


def _move(
    deposit: Deposit, to: str, *, fields: list[str] | None = None, failure_reason: str = ""
) -> None:
    """The one place a deposit changes state, by Deposit.TRANSITIONS."""
    if to not in Deposit.TRANSITIONS[deposit.status]:
        raise ValueError(f"Deposit {deposit.pk} can't go from {deposit.status} to {to}.")
    deposit.status = to
    update = ["status", "payment_id", "updated_at", *(fields or [])]
    if failure_reason:
        deposit.failure_reason = failure_reason
        update.append("failure_reason")
    deposit.save(update_fields=update)


# --- the provider's word: webhooks ----------------------------------------------------------


@dataclass(frozen=True)
class WebhookOutcome:
    duplicate: bool
    deposit_id: int | None = None
    status: str = ""
    note: str = ""


def _locked_deposit(provider: str, event: ProviderEvent) -> Deposit | None:
    deposits = Deposit.objects.select_related("method").select_for_update(of=("self",))
    if event.deposit_id is not None:
        found = deposits.filter(pk=event.deposit_id, provider=provider).first()
        # Our id alone is not enough: it must be the payment the provider says it is.
        if found is not None and (not event.payment_ref or found.provider_ref == event.payment_ref):
            return found
    if event.payment_ref:
        found = deposits.filter(provider=provider, provider_ref=event.payment_ref).first()
        if found is not None:
            return found
    if event.payment_id:
        return deposits.filter(provider=provider, payment_id=event.payment_id).first()
    return None


def _event_insert(
    *, provider: str, event: ProviderEvent, body: bytes, deposit_id: int | None
) -> int | None:
    """Store the event; None if this provider's event id is stored already (a redelivery:
    a concurrent one waits on the UNIQUE index until the first commits, then finds it)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO payments_paymentevent "
            "(provider, event_id, event_type, deposit_id, payload, received_at, processed_at, "
            "error) VALUES (%s, %s, %s, %s, %s, now(), now(), '') "
            "ON CONFLICT (provider, event_id) DO NOTHING RETURNING id",
            [
                provider,
                event.event_id,
                event.event_type[:80],
                deposit_id,
                body.decode("utf-8", "replace"),
            ],
        )
        row = cursor.fetchone()
    return row[0] if row else None


_FAST_READ = """
SELECT d.id, d.status, d.amount, d.fee, d.currency, d.client_id, d.provider_ref, m.name,
       (SELECT a.id FROM wallets_ledgeraccount a
         WHERE a.code = 'house:psp_clearing:' || d.provider || ':' || d.currency),
       (SELECT a.id FROM wallets_ledgeraccount a
         WHERE a.code = 'client:' || d.client_id || ':wallet:' || d.currency),
       (SELECT a.id FROM wallets_ledgeraccount a WHERE a.code = 'house:fee_income:' || d.currency)
  FROM payments_deposit d JOIN payments_paymentmethod m ON m.id = d.method_id
 WHERE d.provider = %s AND d.provider_ref = %s
"""


def _credit_fast(*, provider: str, event: ProviderEvent, body: bytes) -> WebhookOutcome | None:
    """The common case, a success for an open deposit whose ledger accounts exist, in two
    round trips: read the deposit and its accounts, then one call of payments_credit (sql.py)
    that locks, stores the event, posts and marks it credited. None: take the general path
    (anything unusual, or the deposit moved in between: the function then rolled back)."""
    if not event.payment_ref:
        return None
    with connection.cursor() as cursor:
        cursor.execute(_FAST_READ, [provider, event.payment_ref])
        row = cursor.fetchone()
    if row is None:
        return None
    pk, status, amount, fee, currency, client_id, ref, method_name, clearing, wallet, fees = row
    if (
        status not in OPEN_STATES
        or (event.deposit_id is not None and event.deposit_id != pk)
        or (event.amount is not None and event.amount != amount)
        or (event.currency and event.currency != currency)
        or clearing is None
        or wallet is None
        or (fees is None and fee > 0)
    ):
        return None
    legs = [
        Leg(LedgerAccount(pk=clearing, currency_id=currency), "D", amount),
        Leg(LedgerAccount(pk=wallet, currency_id=currency), "C", amount - fee),
    ]
    if fee > 0:
        legs.append(Leg(LedgerAccount(pk=fees, currency_id=currency), "C", fee))
    # The very request _credit makes (same memo, reference, metadata), so either path's
    # posting has the same idempotency key and hash.
    posting = ledger_transfer_payload(
        TransferRequest(
            source=LEDGER_SOURCE,
            key=f"{provider}:{ref}",
            legs=legs,
            memo=f"Deposit #{pk} · {method_name}",
            external_ref=ref,
            metadata={"deposit": pk, "fee": str(fee)},
        )
    )
    params = json.dumps(
        {
            "deposit_id": pk,
            "provider": provider,
            "provider_ref": ref,
            "client_id": client_id,
            "amount": str(amount),
            "fee": str(fee),
            "currency": currency,
            "event_id": event.event_id,
            "event_type": event.event_type[:80],
            "payment_id": event.payment_id,
            "body": body.decode("utf-8", "replace"),
        }
    )
    # The posting is spliced in as JSON text, as the ledger made it (its hash covers it).
    params = params[:-1] + f', "posting": {posting}}}'
    call = "SELECT outcome, journal_id FROM payments_credit(%s::jsonb)"
    try:
        if connection.in_atomic_block:
            # In the caller's transaction (a test's): a savepoint, so PY001 leaves it usable.
            with transaction.atomic(), connection.cursor() as c:
                c.execute(call, [params])
                outcome, _journal = c.fetchone()
        else:
            # Autocommit: the one statement is its own transaction; BEGIN and COMMIT would
            # only add two round trips (as in the ledger's _execute_json).
            with connection.cursor() as c:
                c.execute(call, [params])
                outcome, _journal = c.fetchone()
    except DatabaseError as exc:
        if getattr(exc.__cause__, "sqlstate", None) == "PY001":
            return None
        raise
    if outcome == "duplicate":
        return WebhookOutcome(duplicate=True, deposit_id=pk)
    _notify(Deposit(pk=pk, status=Status.SUCCEEDED))
    return WebhookOutcome(duplicate=False, deposit_id=pk, status=Status.SUCCEEDED)


def deposit_webhook_receive(*, provider: str, event: ProviderEvent, body: bytes) -> WebhookOutcome:
    """Store a verified provider event and act on it, in one short transaction."""
    if event.kind == EventKind.SUCCEEDED:
        fast = _credit_fast(provider=provider, event=event, body=body)
        if fast is not None:
            return fast
    with transaction.atomic():
        deposit = _locked_deposit(provider, event)
        event_pk = _event_insert(
            provider=provider, event=event, body=body, deposit_id=deposit.pk if deposit else None
        )
        if event_pk is None:
            return WebhookOutcome(duplicate=True, deposit_id=deposit.pk if deposit else None)
        if deposit is None:
            note = "No deposit matches this payment."
        else:
            known = (deposit.status, deposit.payment_id)
            note = _apply(deposit, event)
            # A move saves payment_id with the status (_move); without one, save it alone.
            if deposit.status == known[0] and deposit.payment_id != known[1]:
                deposit.save(update_fields=["payment_id", "updated_at"])
        if note:
            PaymentEvent.objects.filter(pk=event_pk).update(error=note)
    if deposit is None:
        return WebhookOutcome(duplicate=False, note=note)
    return WebhookOutcome(duplicate=False, deposit_id=deposit.pk, status=deposit.status, note=note)


def _apply(deposit: Deposit, event: ProviderEvent) -> str:
    """Move the (locked) deposit as the event says; returns a note when it did nothing."""
    kind = event.kind
    if event.payment_id and not deposit.payment_id:
        # Saved with the state change below, or on its own by deposit_webhook_receive.
        deposit.payment_id = event.payment_id
    if kind == EventKind.IGNORED:
        return event.reason or f"{event.event_type}: nothing to do."
    if kind in (EventKind.REFUNDED, EventKind.CHARGED_BACK):
        if deposit.status != Status.SUCCEEDED:
            return f"{event.event_type} for a deposit that is {deposit.get_status_display()}."
        to = Status.REFUNDED if kind == EventKind.REFUNDED else Status.CHARGED_BACK
        _reverse(deposit, to=to, reason=event.reason)
        return ""
    if deposit.status not in OPEN_STATES:
        if kind == EventKind.SUCCEEDED and deposit.status in (Status.FAILED, Status.EXPIRED):
            # The provider took money for a deposit we had closed: a person must look.
            log.error("payments: deposit %s succeeded after %s", deposit.pk, deposit.status)
            return f"Paid after the deposit was {deposit.get_status_display()}: check by hand."
        return f"{event.event_type}: the deposit is already {deposit.get_status_display()}."
    if kind == EventKind.PENDING:
        if deposit.status == Status.CREATED:
            _move(deposit, Status.PENDING)
        return ""
    if kind in (EventKind.FAILED, EventKind.EXPIRED):
        to = Status.FAILED if kind == EventKind.FAILED else Status.EXPIRED
        reason = event.reason or (
            "The payment was declined."
            if to == Status.FAILED
            else "The payment was not completed in time."
        )
        _move(deposit, to, failure_reason=reason)
        _notify(deposit)
        return ""
    # SUCCEEDED
    if event.amount is not None and (
        event.amount != deposit.amount or (event.currency and event.currency != deposit.currency)
    ):
        log.error("payments: deposit %s paid %s %s", deposit.pk, event.amount, event.currency)
        return (
            f"Paid {event.amount.normalize():f} {event.currency}, but the deposit is for "
            f"{deposit.amount.normalize():f} {deposit.currency}: not credited, check by hand."
        )
    _credit(deposit)
    return ""


def _credit_accounts(deposit: Deposit) -> tuple[LedgerAccount, LedgerAccount, LedgerAccount]:
    """PSP clearing, the client's wallet and fee income, read in one query by the codes the
    ledger gives them (every webhook needs all three); made by the ledger's helpers the
    first time."""
    ccy = deposit.currency
    codes = (
        f"house:{LedgerAccount.Kind.PSP_CLEARING}:{deposit.provider}:{ccy}",
        f"client:{deposit.client_id}:wallet:{ccy}",
        f"house:{LedgerAccount.Kind.FEE_INCOME}:{ccy}",
    )
    found = {
        a.code: a
        for a in LedgerAccount.objects.filter(code__in=codes).only("id", "code", "currency_id")
    }
    clearing = found.get(codes[0]) or house_account(
        kind=LedgerAccount.Kind.PSP_CLEARING, currency=ccy, label=deposit.provider
    )
    wallet = found.get(codes[1]) or wallet_for_client(client=deposit.client, currency=ccy)
    fees = found.get(codes[2]) or house_account(kind=LedgerAccount.Kind.FEE_INCOME, currency=ccy)
    return clearing, wallet, fees


def _credit(deposit: Deposit) -> None:
    clearing, wallet, fees = _credit_accounts(deposit)
    legs = [Leg(clearing, "D", deposit.amount), Leg(wallet, "C", deposit.net_amount)]
    if deposit.fee > 0:
        legs.append(Leg(fees, "C", deposit.fee))
    posting = ledger_transfer(
        source=LEDGER_SOURCE,
        key=ledger_key(deposit),
        legs=legs,
        memo=f"Deposit #{deposit.pk} · {deposit.method.name}",
        external_ref=deposit.provider_ref,
        metadata={"deposit": deposit.pk, "fee": str(deposit.fee)},
    )
    deposit.credit_journal_id = posting.journal_id
    deposit.credited_at = timezone.now()
    _move(deposit, Status.SUCCEEDED, fields=["credit_journal_id", "credited_at"])
    _notify(deposit)


def _notify(deposit: Deposit) -> None:
    """Tell the client after the money moved: a Celery task enqueued when the transaction
    commits (a rolled-back credit tells nobody; a webhook never waits on e-mail)."""
    deposit_id, status = deposit.pk, str(deposit.status)

    def enqueue() -> None:
        from wallets.payments.tasks import deposit_notify

        deposit_notify.apply_async(args=[deposit_id, status], queue="default")

    transaction.on_commit(enqueue)


def deposit_notify_client(*, deposit_id: int, status: str) -> Notice | None:
    """The portal notice and e-mail for a deposit that reached `status` (once per status)."""
    deposit = Deposit.objects.select_related("client__user", "method").get(pk=deposit_id)
    deposit.status = status
    net, amount, ccy = deposit.net_amount, deposit.amount, deposit.currency
    link = reverse("payments:deposit", args=[deposit.pk])
    texts = {
        Status.SUCCEEDED: (
            f"Deposit credited: {money_text(net.quantize(_quantum(ccy)), ccy)}",
            f"Your deposit of {money_text(amount.quantize(_quantum(ccy)), ccy)} is in your {ccy} "
            f"wallet: {money_text(net.quantize(_quantum(ccy)), ccy)} after a fee of "
            f"{money_text(deposit.fee.quantize(_quantum(ccy)), ccy)}.",
            Notice.Level.SUCCESS,
        ),
        Status.FAILED: (
            "Deposit failed",
            f"Your deposit of {money_text(amount.quantize(_quantum(ccy)), ccy)} did not go "
            f"through: {deposit.failure_reason} Nothing was taken from you. You can try again "
            "or use another method.",
            Notice.Level.WARNING,
        ),
        Status.EXPIRED: (
            "Deposit not completed",
            f"Your deposit of {money_text(amount.quantize(_quantum(ccy)), ccy)} was not "
            "completed in time, so nothing was charged. Start a new one when you are ready.",
            Notice.Level.WARNING,
        ),
        Status.REFUNDED: (
            "Deposit refunded",
            f"Your deposit of {money_text(amount.quantize(_quantum(ccy)), ccy)} was refunded to "
            "where it came from and taken back from your wallet.",
            Notice.Level.INFO,
        ),
        Status.CHARGED_BACK: (
            "Deposit disputed",
            f"Your card issuer reversed your deposit of "
            f"{money_text(amount.quantize(_quantum(ccy)), ccy)}; it was taken back from your "
            "wallet. Our team will contact you.",
            Notice.Level.WARNING,
        ),
    }
    if deposit.status not in texts:
        return None
    subject, body, level = texts[Status(deposit.status)]
    return notify(
        client=deposit.client,
        key=f"deposit:{deposit.pk}:{deposit.status}",
        subject=subject,
        body=body,
        link=link,
        level=level,
    )


# --- reversals: refunds and chargebacks -------------------------------------------------------


def _available(wallet: LedgerAccount) -> Decimal:
    row = LedgerAccount.objects.filter(pk=wallet.pk).values_list(
        "credits_posted", "debits_posted", "debits_pending"
    )[0]
    minor = row[0] - row[1] - row[2]
    return from_minor(minor, wallet.currency_id) if minor > 0 else Decimal(0)


def _reverse(deposit: Deposit, *, to: str, reason: str = "", actor: User | None = None) -> None:
    """Take a credited deposit back through the ledger (the deposit row is locked)."""
    assert deposit.credit_journal_id is not None
    currency = deposit.currency
    wallet = wallet_for_client(client=deposit.client, currency=currency)
    label = "refund" if to == Status.REFUNDED else "chargeback"
    memo = f"Deposit #{deposit.pk} {label}" + (f": {reason}" if reason else "")
    key = f"{ledger_key(deposit)}:reversal"
    # A staff refund's hold on this money (the provider may answer with its webhook before
    # deposit_refund books the reversal): released in this transaction, then reversed.
    _release_refund_hold(deposit, actor)
    shortfall = Decimal(0)
    for _attempt in range(3):
        available = _available(wallet)
        try:
            if available >= deposit.net_amount:
                posting = ledger_reverse(
                    source=LEDGER_SOURCE,
                    key=key,
                    journal_id=deposit.credit_journal_id,
                    actor=actor,
                    memo=memo,
                )
                shortfall = Decimal(0)
            else:
                posting, shortfall = _reverse_partly(deposit, wallet, available, key, memo, actor)
            break
        except ledger_errors.InsufficientFunds:
            continue  # the client spent some meanwhile: read the wallet again
    else:
        raise ledger_errors.InsufficientFunds("The wallet kept changing; try the reversal again.")
    deposit.reversal_journal_id = posting.journal_id
    deposit.shortfall = shortfall
    _move(deposit, to, fields=["reversal_journal_id", "shortfall"])
    _flag(deposit, reason=reason, actor=actor)
    _notify(deposit)


def _reverse_partly(
    deposit: Deposit,
    wallet: LedgerAccount,
    available: Decimal,
    key: str,
    memo: str,
    actor: User | None,
) -> tuple[Posting, Decimal]:
    currency = deposit.currency
    taken = available.quantize(_quantum(currency))
    shortfall = deposit.net_amount - taken
    legs = [
        Leg(
            house_account(
                kind=LedgerAccount.Kind.PSP_CLEARING, currency=currency, label=deposit.provider
            ),
            "C",
            deposit.amount,
        ),
        Leg(
            house_account(
                kind=LedgerAccount.Kind.ADJUSTMENTS, currency=currency, label="chargebacks"
            ),
            "D",
            shortfall,
        ),
    ]
    if taken > 0:
        legs.append(Leg(wallet, "D", taken))
    if deposit.fee > 0:
        legs.append(
            Leg(
                house_account(kind=LedgerAccount.Kind.FEE_INCOME, currency=currency),
                "D",
                deposit.fee,
            )
        )
    posting = ledger_transfer(
        source=LEDGER_SOURCE,
        key=key,
        legs=legs,
        actor=actor,
        memo=f"{memo} (the wallet held {money_text(taken, currency)}; "
        f"{money_text(shortfall, currency)} to recover)",
        external_ref=deposit.provider_ref,
        metadata={
            "deposit": deposit.pk,
            "reverses": deposit.credit_journal_id,
            "shortfall": str(shortfall),
        },
    )
    return posting, shortfall


def _flag(deposit: Deposit, *, reason: str, actor: User | None) -> AmlCase:
    """An AML case for compliance; a chargeback also freezes the client where their KYC case
    can be put on hold (a rejected one can't: it already blocks everything)."""
    currency = deposit.currency
    chargeback = deposit.status == Status.CHARGED_BACK
    what = "charged back" if chargeback else "refunded"
    summary = f"Deposit #{deposit.pk} of {money_text(deposit.amount, currency)} {what}"
    if deposit.shortfall > 0:
        summary += f"; {money_text(deposit.shortfall, currency)} already spent, to recover"
    case = kyc_services.case_for_client(client=deposit.client)
    freezes = chargeback and (
        case.state == CaseState.SCREENING_HOLD
        or CaseState.SCREENING_HOLD in KYC_TRANSITIONS.get(case.state, set())
    )
    return kyc_services.aml_case_open(
        client=deposit.client,
        source=AmlCase.Source.MONITORING,
        reference=f"deposit:{deposit.pk}:{deposit.status}",
        summary=summary,
        freezes=freezes,
        details={
            "deposit": deposit.pk,
            "provider": deposit.provider,
            "provider_ref": deposit.provider_ref,
            "reason": reason,
            "shortfall": str(deposit.shortfall),
            "by": actor.email if actor else "provider",
        },
    )


REFUND_HOLD_TTL = timedelta(days=1)  # a crash between hold and reversal frees it after this


def _open_refund_hold(deposit: Deposit) -> int | None:
    """The staff refund's hold on the wallet not yet released, voided or expired, if any."""
    hold_id = deposit.refund_hold_journal_id
    if hold_id is None or Journal.objects.filter(pending_id=hold_id).exists():
        return None
    return hold_id


def _release_refund_hold(deposit: Deposit, actor: User | None) -> None:
    """Give back a staff refund's hold (the deposit row is locked): before the reversal, in
    its transaction, so the reversal takes the money itself with the credit's legs mirrored
    (the same posting a refund webhook would make); or when the provider refused."""
    hold_id = _open_refund_hold(deposit)
    if hold_id is None:
        return
    with contextlib.suppress(ledger_errors.HoldAlreadyResolved):  # it expired meanwhile
        ledger_void_pending(
            source=LEDGER_SOURCE,
            key=f"{ledger_key(deposit)}:refund-hold:{hold_id}:release",
            hold_id=hold_id,
            actor=actor,
            memo=f"Deposit #{deposit.pk} refund hold released",
        )


def _refund_hold(deposit_id: int, actor: User) -> Deposit:
    """Lock the deposit and reserve its net amount on the client's wallet, so nothing spends
    it while the provider is asked; refused if the wallet no longer holds it."""
    with transaction.atomic():
        deposit = (
            Deposit.objects.select_related("client__user", "method")
            .select_for_update(of=("self",))
            .get(pk=deposit_id)
        )
        if deposit.status != Status.SUCCEEDED:
            raise RefundRefused(
                "Only a credited deposit can be refunded; this one is "
                f"{deposit.get_status_display().lower()}."
            )
        if _open_refund_hold(deposit) is not None:
            raise RefundRefused("A refund of this deposit is already in progress.")
        currency = deposit.currency
        wallet = wallet_for_client(client=deposit.client, currency=currency)
        net = deposit.net_amount.quantize(_quantum(currency))
        # One hold per attempt: a refused refund may be tried again after its hold was voided.
        after = deposit.refund_hold_journal_id or 0
        try:
            hold = ledger_hold(
                source=LEDGER_SOURCE,
                key=f"{ledger_key(deposit)}:refund-hold:after-{after}",
                debit=wallet,
                credit=house_account(
                    kind=LedgerAccount.Kind.PSP_CLEARING, currency=currency, label=deposit.provider
                ),
                amount=net,
                expires_at=timezone.now() + REFUND_HOLD_TTL,
                actor=actor,
                memo=f"Deposit #{deposit.pk} held for its refund",
                external_ref=deposit.provider_ref,
                metadata={"deposit": deposit.pk},
            )
        except ledger_errors.InsufficientFunds:
            available = _available(wallet)
            raise RefundRefused(
                f"The client's {currency} wallet holds only "
                f"{money_text(available, currency)} available; the refund takes back "
                f"{money_text(net, currency)}. "
                "Ask the client to move money back to the wallet first."
            ) from None
        except ledger_errors.LedgerError as exc:
            raise RefundRefused(f"The refund could not be held: {exc.message}") from exc
        deposit.refund_hold_journal_id = hold.journal_id
        deposit.save(update_fields=["refund_hold_journal_id", "updated_at"])
    return deposit


def deposit_refund(*, deposit_id: int, actor: User) -> Deposit:
    """Staff give a credited deposit back through its provider, then book the reversal.
    Two-phase, like a withdrawal: the net amount is held on the client's wallet first (refused
    if the wallet no longer holds it: a refund must not leave the house short; a chargeback
    may, see _reverse); the provider is asked outside any transaction; then, in one
    transaction, the hold is released and the credit reversed, or the hold is voided if the
    provider refused. A charge.refunded webhook arriving before or after finds the hold
    (released by _reverse) or the deposit refunded already."""
    if not actor.has_perm("brokerage.change_payments"):
        raise RefundRefused("Only finance staff may refund deposits.")
    deposit = Deposit.objects.get(pk=deposit_id)
    provider = provider_get(deposit.provider)
    if deposit.status == Status.SUCCEEDED and not provider.supports_refund:
        raise RefundRefused(f"{provider.label} does not take refunds through the API.")
    deposit = _refund_hold(deposit_id, actor)
    try:
        refund_ref = provider.refund(deposit=deposit)
    except Exception as exc:
        with transaction.atomic():
            deposit = Deposit.objects.select_for_update(of=("self",)).get(pk=deposit_id)
            _release_refund_hold(deposit, actor)
        if isinstance(exc, ProviderUnavailable):
            raise RefundRefused(
                f"{provider.label} refused the refund: {exc}. Nothing was booked."
            ) from exc
        raise
    try:
        with transaction.atomic():
            deposit = (
                Deposit.objects.select_related("client__user", "method")
                .select_for_update(of=("self",))
                .get(pk=deposit_id)
            )
            if deposit.status == Status.SUCCEEDED:
                _reverse(
                    deposit,
                    to=Status.REFUNDED,
                    reason=f"refund {refund_ref} by {actor.email}",
                    actor=actor,
                )
            else:
                _release_refund_hold(deposit, actor)  # reversed by the webhook already
    except ledger_errors.LedgerError as exc:
        # Rolled back: the hold still reserves the money for the refund webhook or finance.
        log.error(
            "payments: deposit %s refunded (%s) but not booked: %s", deposit_id, refund_ref, exc
        )
        raise RefundRefused(
            f"{provider.label} refunded the payment ({refund_ref}) but the reversal could not "
            f"be booked: {exc.message} The money stays held on the client's wallet; "
            "ask the ledger team to book it."
        ) from exc
    return deposit


# --- methods ------------------------------------------------------------------------------------


def payment_method_save(*, method: PaymentMethod, actor: User) -> PaymentMethod:
    if not actor.has_perm("brokerage.change_payments"):
        raise DepositRefused("Only finance staff may change payment methods.")
    method.save()
    return method
