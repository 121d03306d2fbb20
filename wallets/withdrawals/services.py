"""Writes of withdrawals. Money moves only through wallets.ledger.services:

- request: a hold, client wallet -> withdrawals in transit (pending; it never expires by
  itself: a withdrawal may wait days for approval and must not come back unnoticed);
- reject / cancel / failed payout: the hold is voided, the money is available again;
- paid: the hold is posted (wallet -> in transit), and in the same transaction the payout
  clears in transit against where the money left from (bank omnibus for a bank transfer, the
  provider's clearing account for a payout through the deposit method), so the clearing
  account nets to zero (specs/ledger.md).

Every ledger key derives from the withdrawal's id, so each step moves money at most once.
Every step locks the withdrawal row first, so two people acting at once are serialised.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from schwifty import BIC, IBAN
from schwifty import exceptions as iban_errors

from brokerage.models import User
from clients.models import Client, Notice
from clients.notices import notify
from wallets.ledger import exceptions as ledger_errors
from wallets.ledger.services import (
    Leg,
    currency_exponent,
    from_minor,
    house_account,
    ledger_hold,
    ledger_post_pending,
    ledger_transfer,
    ledger_void_pending,
    to_minor,
    wallet_for_client,
)
from wallets.models import Currency, LedgerAccount
from wallets.money import money_text
from wallets.payments.models import PaymentMethod
from wallets.selectors import wallet_available
from wallets.withdrawals import selectors
from wallets.withdrawals.exceptions import WithdrawalError
from wallets.withdrawals.models import Withdrawal, WithdrawalApproval, iban_display

SOURCE = "withdrawals"
PORTAL_LINK = "/portal/withdrawals/"


# --- checking a request ------------------------------------------------------------------------


@dataclass(frozen=True)
class Destination:
    kind: str  # Withdrawal.Destination
    method: PaymentMethod | None = None
    iban: str = ""
    bic: str = ""
    holder: str = ""

    @property
    def text(self) -> str:
        if self.method is not None:
            return str(self.method.name)
        return f"bank account {iban_display(self.iban)} ({self.holder})"


@dataclass(frozen=True)
class Checked:
    amount: Decimal  # quantized to the currency
    currency: str
    destination: Destination
    approvals_required: int

    @property
    def sentence(self) -> str:
        return (
            f"Withdraw {money_text(self.amount, self.currency)} from your {self.currency} wallet "
            f"to {self.destination.text}"
        )


def _amount(amount: Decimal, currency: str) -> Decimal:
    if not Currency.objects.filter(code=currency).exists():
        raise WithdrawalError(f"We don't pay out {currency}.", field="currency")
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise WithdrawalError("Enter an amount as a number, e.g. 100.50.", field="amount")
    if amount <= 0:
        raise WithdrawalError("Enter an amount greater than zero.", field="amount")
    exponent = currency_exponent(currency)
    try:
        return from_minor(to_minor(amount, currency), currency)
    except ledger_errors.InvalidAmount:
        raise WithdrawalError(
            f"{currency} amounts have at most {exponent} decimal places; "
            f"round {amount} to {amount.quantize(Decimal(1).scaleb(-exponent), 'ROUND_DOWN')}.",
            field="amount",
        ) from None


def bank_account_check(*, iban: str, bic: str, holder: str) -> tuple[str, str, str]:
    """The IBAN and BIC in their compact form, checked with schwifty; the holder's name."""
    text = "".join(iban.split()).upper()
    if not text:
        raise WithdrawalError("Enter the IBAN of your bank account.", field="iban")
    try:
        parsed = IBAN(text)
    except iban_errors.InvalidChecksumDigits:
        raise WithdrawalError(
            f"{iban_display(text)} is not a valid IBAN: its check digits don't match. "
            "Copy it again from your bank statement or online banking.",
            field="iban",
        ) from None
    except iban_errors.InvalidCountryCode:
        raise WithdrawalError(
            f"{text[:2]} is not a country that uses IBANs. An IBAN starts with the country "
            "code, e.g. DE89 3704 0044 0532 0130 00.",
            field="iban",
        ) from None
    except iban_errors.InvalidLength:
        raise WithdrawalError(
            f"{iban_display(text)} has the wrong length for an IBAN from {text[:2]}. "
            "Check that no characters are missing.",
            field="iban",
        ) from None
    except iban_errors.SchwiftyException:
        raise WithdrawalError(
            f"{iban_display(text)} is not a valid IBAN. Copy it again from your bank "
            "statement or online banking.",
            field="iban",
        ) from None
    bic_text = "".join(bic.split()).upper()
    if not bic_text:
        derived = parsed.bic  # schwifty knows the bank for many countries' IBANs
        if derived is None:
            raise WithdrawalError(
                "Enter your bank's BIC (SWIFT code), e.g. COBADEFFXXX.", field="bic"
            )
        bic_text = str(derived)
    try:
        parsed_bic = BIC(bic_text)
    except iban_errors.SchwiftyException:
        raise WithdrawalError(
            f"{bic_text} is not a valid BIC (SWIFT code): it has 8 or 11 characters, e.g. "
            "COBADEFFXXX. Your bank shows it next to your IBAN.",
            field="bic",
        ) from None
    if parsed_bic.country_code != parsed.country_code:
        raise WithdrawalError(
            f"The BIC {bic_text} is for a bank in {parsed_bic.country_code}, but the IBAN is "
            f"from {parsed.country_code}. Check both with your bank.",
            field="bic",
        )
    name = " ".join(holder.split())
    if not name:
        raise WithdrawalError(
            "Enter the account holder's name as your bank shows it.", field="account_holder"
        )
    return parsed.compact, str(parsed_bic), name


def _closed_loop(
    *, client: Client, currency: str, amount: Decimal, destination: Destination
) -> None:
    """Closed loop: money that came in through a closed-loop method (a card) goes back through
    it, up to what came in, before anything may go to a bank account. Card schemes and AML
    rules want funds returned to their source; only the excess (profits, other deposits) is
    paid to a bank account."""
    dues = selectors.closed_loop_dues(client=client, currency=currency)
    if destination.kind == Withdrawal.Destination.METHOD:
        method = destination.method
        assert method is not None
        due = next((d for d in dues if d.method.pk == method.pk), None)
        if due is None:
            raise WithdrawalError(
                f"We can send money back to {method.name} only up to what you deposited with "
                f"it in {currency}, and nothing is left to send back there. "
                "Choose a bank account instead.",
                field="destination",
            )
        if amount > due.due:
            raise WithdrawalError(
                f"{method.name} can take back at most {money_text(due.due, currency)}, what you "
                f"deposited with it. Withdraw {money_text(due.due, currency)} there first, then "
                "the rest to a bank account.",
                field="amount",
            )
        return
    if not dues:
        # Card money converted to another currency is still card money: a bank payout in
        # any currency waits until every card has been paid back.
        dues_elsewhere = selectors.closed_loop_dues_all(client=client)
        if dues_elsewhere:
            owed = "; ".join(
                f"{money_text(d.due, c)} to {d.method.name}" for c, d in dues_elsewhere
            )
            raise WithdrawalError(
                f"Money you deposited by card goes back to that card first: {owed}. "
                "Withdraw it there (in that currency) first; then you can withdraw the rest "
                "to a bank account.",
                field="destination",
            )
    if dues:
        owed = "; ".join(f"{money_text(d.due, currency)} to {d.method.name}" for d in dues)
        raise WithdrawalError(
            f"Money you deposited by card goes back to that card first: {owed}. "
            "Choose it as the destination; once that is returned you can withdraw the rest to "
            "a bank account.",
            field="destination",
        )


def withdrawal_check(
    *,
    client: Client,
    amount: Decimal,
    currency: str,
    destination: Destination,
) -> Checked:
    """Everything a request must pass, without writing anything: what the confirmation page
    shows, and what withdrawal_request checks again under the client's lock."""
    from kyc.policy import kyc_may  # kyc reads the ledger too: imported when used

    amount = _amount(amount, currency)
    verdict = kyc_may(client=client, action="withdraw", amount=amount, currency=currency)
    if not verdict.allowed:
        steps = " ".join(verdict.next_steps)
        raise WithdrawalError(f"{verdict.reason} {steps}".strip())
    available = wallet_available(client=client, currency=currency)
    if amount > available:
        raise WithdrawalError(_at_most(available, currency), field="amount")
    limit = selectors.daily_limit(client=client, level=verdict.level)
    asked = selectors.to_currency(amount, currency, limit.currency)
    asked = amount if asked is None else asked
    if asked > limit.left:
        if limit.per_day == 0:
            raise WithdrawalError(
                "Withdrawals are not available at your verification level. "
                "Complete verification to withdraw."
            )
        raise WithdrawalError(
            f"You can withdraw up to {money_text(limit.per_day, limit.currency)} a day; "
            f"{money_text(limit.left.quantize(Decimal('0.01')), limit.currency)} is left today. "
            "Withdraw less, or the rest tomorrow.",
            field="amount",
        )
    if destination.kind == Withdrawal.Destination.BANK:
        iban, bic, holder = bank_account_check(
            iban=destination.iban, bic=destination.bic, holder=destination.holder
        )
        destination = Destination(kind=destination.kind, iban=iban, bic=bic, holder=holder)
    elif destination.method is None:
        raise WithdrawalError("Choose where the money should go.", field="destination")
    elif currency not in destination.method.currencies:
        raise WithdrawalError(
            f"{destination.method.name} doesn't take {currency}. Choose a bank account.",
            field="destination",
        )
    _closed_loop(client=client, currency=currency, amount=amount, destination=destination)
    two = selectors.second_approval_needed(amount=amount, currency=currency)
    return Checked(
        amount=amount,
        currency=currency,
        destination=destination,
        approvals_required=2 if two else 1,
    )


def _at_most(available: Decimal, currency: str) -> str:
    if available <= 0:
        return f"You have no {currency} available to withdraw."
    return f"You can withdraw at most {money_text(available, currency)}."


# --- the client's request ----------------------------------------------------------------------


@dataclass(frozen=True)
class Requested:
    withdrawal: Withdrawal
    created: bool  # False: this token was already used (a double submit): nothing new held


def new_request_token() -> str:
    return uuid.uuid4().hex


@transaction.atomic
def withdrawal_request(
    *,
    client: Client,
    actor: User,
    amount: Decimal,
    currency: str,
    destination: Destination,
    token: str,
) -> Requested:
    """Check, record and hold at once. Idempotent on `token`: the same token returns the first
    withdrawal. Requests of one client are serialised on the client's row, so the daily limit
    and the closed-loop sums can't be raced; the ledger's no-overdraft CHECK is the backstop
    for the balance whatever else spends it meanwhile."""
    if not token or len(token) > 64:
        raise WithdrawalError("This form has expired. Start the withdrawal again.")
    Client.objects.select_for_update(of=("self",)).filter(pk=client.pk).first()
    existing = Withdrawal.objects.filter(client=client, request_token=token).first()
    if existing is not None:
        if (existing.amount, existing.currency) != (amount, currency):
            raise WithdrawalError(
                f"This form was already used for withdrawal #{existing.pk}. "
                "Start a new withdrawal for a different amount."
            )
        return Requested(withdrawal=existing, created=False)
    checked = withdrawal_check(
        client=client, amount=amount, currency=currency, destination=destination
    )
    dest = checked.destination
    withdrawal = Withdrawal.objects.create(
        client=client,
        amount=checked.amount,
        currency=currency,
        destination=dest.kind,
        method=dest.method,
        iban=dest.iban,
        bic=dest.bic,
        account_holder=dest.holder,
        approvals_required=checked.approvals_required,
        request_token=token,
        requested_by=actor,
    )
    try:
        hold = ledger_hold(
            source=SOURCE,
            key=f"withdrawal:{withdrawal.pk}:hold",
            debit=wallet_for_client(client=client, currency=currency),
            credit=house_account(kind=LedgerAccount.Kind.WITHDRAWALS_IN_TRANSIT, currency=currency),
            amount=checked.amount,
            # No expiry: approval may take days, and a hold that lapsed silently would hand
            # the money back while finance still thinks it is reserved.
            expires_at=None,
            actor=actor,
            memo=f"Withdrawal #{withdrawal.pk} to {dest.text}",
            external_ref=f"WD-{withdrawal.pk}",
            metadata={"withdrawal_id": withdrawal.pk},
        )
    except ledger_errors.InsufficientFunds:
        # Something else spent the money between the check and the hold (a transfer, another
        # withdrawal from a second session): the database refused the overdraft.
        raise WithdrawalError(
            _at_most(wallet_available(client=client, currency=currency), currency),
            field="amount",
        ) from None
    except ledger_errors.LedgerError as exc:
        raise WithdrawalError(exc.message) from exc
    withdrawal.hold_journal_id = hold.journal_id
    withdrawal.save(update_fields=["hold_journal_id"])
    withdrawal.transitions.create(
        from_status="",
        to_status=Withdrawal.Status.REQUESTED,
        actor=actor,
        note=f"{money_text(checked.amount, currency)} held in your wallet until it is paid out.",
    )
    return Requested(withdrawal=withdrawal, created=True)


def _lock(withdrawal_id: int) -> Withdrawal:
    return (
        Withdrawal.objects.select_for_update(of=("self",))
        .select_related("client__user", "method", "requested_by")
        .get(pk=withdrawal_id)
    )


def _release(withdrawal: Withdrawal, actor: User | None, memo: str) -> None:
    assert withdrawal.hold_journal_id is not None
    posting = ledger_void_pending(
        source=SOURCE,
        key=f"withdrawal:{withdrawal.pk}:release",
        hold_id=withdrawal.hold_journal_id,
        actor=actor,
        memo=memo,
    )
    withdrawal.resolution_journal_id = posting.journal_id


@transaction.atomic
def withdrawal_cancel(*, withdrawal_id: int, client: Client, actor: User) -> Withdrawal:
    """The client takes it back while nobody has approved it yet."""
    withdrawal = _lock(withdrawal_id)
    if withdrawal.client_id != client.pk:
        raise Withdrawal.DoesNotExist
    if withdrawal.status != Withdrawal.Status.REQUESTED:
        raise WithdrawalError(
            f"This withdrawal is already {withdrawal.get_status_display().lower()}, so it can't "
            "be cancelled any more. Contact support if something is wrong."
        )
    _release(withdrawal, actor, f"Withdrawal #{withdrawal.pk} cancelled by the client")
    withdrawal.move(
        Withdrawal.Status.CANCELLED,
        actor=actor,
        note=f"{money_text(withdrawal.amount, withdrawal.currency)} is available again.",
    )
    return withdrawal


# --- finance's decisions -----------------------------------------------------------------------


def _require_finance(actor: User) -> None:
    if not actor.has_perm("brokerage.change_payments"):
        raise WithdrawalError("Only finance staff may decide withdrawals.")


def _tell(withdrawal: Withdrawal, *, subject: str, body: str, level: str) -> None:
    notify(
        client=withdrawal.client,
        key=f"withdrawal:{withdrawal.pk}:{withdrawal.status}",
        subject=subject,
        body=body,
        link=f"{PORTAL_LINK}{withdrawal.pk}/",
        level=level,
    )


def _refuse_if_frozen(withdrawal: Withdrawal) -> None:
    """An AML case that freezes the client (a chargeback, a sanctions hit) opened after the
    request stops the money leaving: checked again at every step that moves it."""
    from kyc.policy import client_frozen

    if client_frozen(client=withdrawal.client):
        raise WithdrawalError(
            "This client is frozen by an open AML case: no money leaves until compliance "
            "clears it. Reject the withdrawal, or wait for the case's decision."
        )


@transaction.atomic
def withdrawal_approve(*, withdrawal_id: int, actor: User, note: str = "") -> Withdrawal:
    _require_finance(actor)
    withdrawal = _lock(withdrawal_id)
    _refuse_if_frozen(withdrawal)
    why_not = selectors.may_approve(withdrawal=withdrawal, user=actor)
    if why_not:
        raise WithdrawalError(why_not)
    try:
        with transaction.atomic():
            WithdrawalApproval.objects.create(
                withdrawal=withdrawal, approver=actor, note=note.strip()[:500]
            )
    except IntegrityError:  # the database's own refusal of the same person twice
        raise WithdrawalError(
            "You already approved this withdrawal; a second, different person must approve it."
        ) from None
    count = withdrawal.approvals.count()
    amount = money_text(withdrawal.amount, withdrawal.currency)
    if count < withdrawal.approvals_required:
        withdrawal.move(
            Withdrawal.Status.APPROVED,
            actor=actor,
            note=note.strip() or "First approval; a second person must approve it too.",
        )
        return withdrawal
    withdrawal.move(Withdrawal.Status.APPROVED_FULLY, actor=actor, note=note.strip())
    _tell(
        withdrawal,
        subject=f"Your withdrawal of {amount} is approved",
        body=f"We approved your withdrawal of {amount} to {withdrawal.destination_text}. "
        "We will let you know when it is paid out.",
        level=Notice.Level.INFO,
    )
    return withdrawal


@transaction.atomic
def withdrawal_reject(*, withdrawal_id: int, actor: User, reason: str) -> Withdrawal:
    """Refuse it with a reason the client reads; the hold is voided, the money available."""
    _require_finance(actor)
    reason = " ".join(reason.split())
    if not reason:
        raise WithdrawalError("Say why you reject it: the client reads this.", field="reason")
    withdrawal = _lock(withdrawal_id)
    if Withdrawal.Status.REJECTED not in Withdrawal.TRANSITIONS[withdrawal.status]:
        raise WithdrawalError(
            f"This withdrawal is already {withdrawal.get_status_display().lower()}."
        )
    _release(withdrawal, actor, f"Withdrawal #{withdrawal.pk} rejected: {reason}")
    withdrawal.reason = reason[:500]
    withdrawal.move(Withdrawal.Status.REJECTED, actor=actor, note=reason)
    amount = money_text(withdrawal.amount, withdrawal.currency)
    _tell(
        withdrawal,
        subject=f"Your withdrawal of {amount} was not approved",
        body=f"We could not approve your withdrawal of {amount}: {reason}\n"
        f"The {amount} is back in your available balance.",
        level=Notice.Level.WARNING,
    )
    return withdrawal


@transaction.atomic
def withdrawal_mark_paid(*, withdrawal_id: int, actor: User, reference: str) -> Withdrawal:
    """The money has left (the bank's or provider's reference): post the hold and clear
    withdrawals in transit against the account the money left from."""
    _require_finance(actor)
    reference = reference.strip()
    if not reference:
        raise WithdrawalError(
            "Enter the payout's reference (the bank's or provider's transaction id).",
            field="reference",
        )
    withdrawal = _lock(withdrawal_id)
    if withdrawal.status != Withdrawal.Status.APPROVED_FULLY:
        raise WithdrawalError(
            f"Only a fully approved withdrawal can be paid; this one is "
            f"{withdrawal.get_status_display().lower()}."
        )
    _refuse_if_frozen(withdrawal)
    assert withdrawal.hold_journal_id is not None
    currency = withdrawal.currency
    posted = ledger_post_pending(
        source=SOURCE,
        key=f"withdrawal:{withdrawal.pk}:post",
        hold_id=withdrawal.hold_journal_id,
        actor=actor,
        memo=f"Withdrawal #{withdrawal.pk} paid out",
    )
    in_transit = house_account(kind=LedgerAccount.Kind.WITHDRAWALS_IN_TRANSIT, currency=currency)
    if withdrawal.method is not None:
        paid_from = house_account(
            kind=LedgerAccount.Kind.PSP_CLEARING,
            currency=currency,
            label=withdrawal.method.provider,
        )
    else:
        paid_from = house_account(kind=LedgerAccount.Kind.BANK_OMNIBUS, currency=currency)
    payout = ledger_transfer(
        source=SOURCE,
        key=f"withdrawal:{withdrawal.pk}:payout",
        legs=[Leg(in_transit, "D", withdrawal.amount), Leg(paid_from, "C", withdrawal.amount)],
        actor=actor,
        memo=f"Withdrawal #{withdrawal.pk} to {withdrawal.destination_text}",
        external_ref=reference[:200],
        metadata={"withdrawal_id": withdrawal.pk},
    )
    withdrawal.resolution_journal_id = posted.journal_id
    withdrawal.payout_journal_id = payout.journal_id
    withdrawal.payout_reference = reference[:200]
    withdrawal.move(Withdrawal.Status.PAID, actor=actor, note=f"Reference {reference}")
    amount = money_text(withdrawal.amount, currency)
    _tell(
        withdrawal,
        subject=f"Your withdrawal of {amount} is paid",
        body=f"We sent {amount} to {withdrawal.destination_text} (reference {reference}). "
        "Banks usually credit it within 1-3 working days.",
        level=Notice.Level.SUCCESS,
    )
    return withdrawal


@transaction.atomic
def withdrawal_mark_failed(*, withdrawal_id: int, actor: User, reason: str) -> Withdrawal:
    """The payout could not be made (the bank returned it): the hold is voided."""
    _require_finance(actor)
    reason = " ".join(reason.split())
    if not reason:
        raise WithdrawalError("Say why the payout failed: the client reads this.", field="reason")
    withdrawal = _lock(withdrawal_id)
    if withdrawal.status != Withdrawal.Status.APPROVED_FULLY:
        raise WithdrawalError(
            f"Only an approved withdrawal's payout can fail; this one is "
            f"{withdrawal.get_status_display().lower()}."
        )
    _release(withdrawal, actor, f"Withdrawal #{withdrawal.pk} payout failed: {reason}")
    withdrawal.reason = reason[:500]
    withdrawal.move(Withdrawal.Status.FAILED, actor=actor, note=reason)
    amount = money_text(withdrawal.amount, withdrawal.currency)
    _tell(
        withdrawal,
        subject=f"Your withdrawal of {amount} could not be paid out",
        body=f"The payout of {amount} failed: {reason}\n"
        f"The {amount} is back in your available balance; check the destination and try again.",
        level=Notice.Level.WARNING,
    )
    return withdrawal
