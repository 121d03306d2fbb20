"""Refunds (finance, through the provider) and chargebacks (the provider's word): reversed
through the ledger, the client flagged for review; a wallet already spent gives what it has
and the rest is booked as a shortfall to recover."""

from __future__ import annotations

from decimal import Decimal

import pytest

from brokerage import roles
from clients.models import Notice
from kyc.models import AmlCase, CaseState
from kyc.services import case_for_client
from tests.factories import make_staff
from wallets.ledger.selectors import account_balance
from wallets.ledger.services import Leg, house_account, ledger_transfer, wallet_for_client
from wallets.models import Entry, Journal
from wallets.payments.exceptions import RefundRefused
from wallets.payments.models import Deposit
from wallets.payments.providers.base import EventKind
from wallets.payments.providers.demo import demo_callback
from wallets.payments.services import deposit_refund

from .conftest import post_webhook

pytestmark = pytest.mark.django_db
D = Decimal


def _spend(deposit: Deposit, amount: str) -> None:
    """The client moves money out of the wallet (to a trading account, say)."""
    wallet = wallet_for_client(client=deposit.client, currency="USD")
    elsewhere = house_account(kind="adjustments", currency="USD", label="test-spend")
    ledger_transfer(
        source="test",
        key=f"spend-{deposit.pk}",
        legs=[Leg(wallet, "D", D(amount)), Leg(elsewhere, "C", D(amount))],
    )


def _balance(deposit: Deposit) -> Decimal:
    return account_balance(account=wallet_for_client(client=deposit.client, currency="USD")).posted


def test_finance_refunds_a_deposit_through_the_ledger(paid):
    finance = make_staff(roles.FINANCE)
    deposit_refund(deposit_id=paid.pk, actor=finance)

    paid.refresh_from_db()
    assert paid.status == Deposit.Status.REFUNDED
    assert _balance(paid) == D("0")
    reversal = Journal.objects.get(pk=paid.reversal_journal_id)
    assert (reversal.kind, reversal.reverses_id, reversal.actor_id) == (
        "reversal",
        paid.credit_journal_id,
        finance.pk,
    )
    assert account_balance(account=house_account(kind="fee_income", currency="USD")).posted == D(
        "0"
    )
    aml = AmlCase.objects.get(client=paid.client)
    assert (aml.status, aml.freezes, aml.reference) == (
        "open",
        False,
        f"deposit:{paid.pk}:refunded",
    )
    assert Notice.objects.filter(client=paid.client, key=f"deposit:{paid.pk}:refunded").exists()


def test_a_refund_is_refused_when_the_client_spent_the_money(paid):
    _spend(paid, "50")
    with pytest.raises(RefundRefused) as refused:
        deposit_refund(deposit_id=paid.pk, actor=make_staff(roles.FINANCE))
    assert refused.value.message == (
        "The client's USD wallet holds only 47.20 USD available; the refund takes back 97.20 USD. "
        "Ask the client to move money back to the wallet first."
    )
    paid.refresh_from_db()
    assert paid.status == Deposit.Status.SUCCEEDED


def test_only_a_credited_deposit_is_refunded(deposit):
    with pytest.raises(RefundRefused) as refused:
        deposit_refund(deposit_id=deposit.pk, actor=make_staff(roles.FINANCE))
    assert refused.value.message == "Only a credited deposit can be refunded; this one is pending."


def test_only_finance_refunds(paid):
    with pytest.raises(RefundRefused):
        deposit_refund(deposit_id=paid.pk, actor=make_staff(roles.AUDITOR))


def test_a_chargeback_of_spent_money_books_the_shortfall_and_freezes_the_client(client, paid):
    _spend(paid, "60")
    body, headers = demo_callback(deposit=paid, kind=EventKind.CHARGED_BACK, reason="fraudulent")
    assert post_webhook(client, body, headers).status_code == 200

    paid.refresh_from_db()
    assert paid.status == Deposit.Status.CHARGED_BACK
    assert paid.shortfall == D("60")
    assert _balance(paid) == D("0")  # never below zero: the ledger refuses an overdraft
    legs = {
        (e.account.code, e.direction): e.amount
        for e in Entry.objects.filter(journal_id=paid.reversal_journal_id).select_related("account")
    }
    assert legs == {
        ("house:psp_clearing:demo:USD", "C"): 10000,
        (f"client:{paid.client_id}:wallet:USD", "D"): 3720,
        ("house:fee_income:USD", "D"): 280,
        ("house:adjustments:chargebacks:USD", "D"): 6000,
    }
    aml = AmlCase.objects.get(client=paid.client)
    assert (
        aml.summary
        == f"Deposit #{paid.pk} of 100.00 USD charged back; 60.00 USD already spent, to recover"
    )
    assert aml.freezes is True
    assert case_for_client(client=paid.client).state == CaseState.SCREENING_HOLD


def test_a_chargeback_before_the_credit_changes_nothing(client, deposit):
    body, headers = demo_callback(deposit=deposit, kind=EventKind.CHARGED_BACK)
    post_webhook(client, body, headers)
    deposit.refresh_from_db()
    assert deposit.status == Deposit.Status.PENDING
    assert not AmlCase.objects.exists()
