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
from tests.factories import login_staff, make_staff
from wallets.ledger.exceptions import InsufficientFunds
from wallets.ledger.selectors import account_balance
from wallets.ledger.services import (
    Leg,
    house_account,
    ledger_hold,
    ledger_transfer,
    wallet_for_client,
)
from wallets.models import Entry, Journal
from wallets.payments.exceptions import RefundRefused
from wallets.payments.models import Deposit
from wallets.payments.providers.base import EventKind, ProviderUnavailable
from wallets.payments.providers.demo import DemoProvider, demo_callback
from wallets.payments.services import deposit_refund, deposit_webhook_receive

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


# --- two-phase staff refunds: the money is held while the provider is asked ----------------


def _available(deposit: Deposit) -> Decimal:
    return account_balance(
        account=wallet_for_client(client=deposit.client, currency="USD")
    ).available


def _reversals(deposit: Deposit) -> int:
    return Journal.objects.filter(
        kind=Journal.Kind.REVERSAL, reverses_id=deposit.credit_journal_id
    ).count()


def test_a_spent_wallet_is_refused_before_the_provider_is_asked(paid, monkeypatch):
    asked: list[int] = []
    monkeypatch.setattr(DemoProvider, "refund", lambda self, deposit: asked.append(deposit.pk))
    _spend(paid, "0.01")
    with pytest.raises(RefundRefused):
        deposit_refund(deposit_id=paid.pk, actor=make_staff(roles.FINANCE))
    assert asked == []
    paid.refresh_from_db()
    assert (paid.status, paid.refund_hold_journal_id) == (Deposit.Status.SUCCEEDED, None)
    assert _available(paid) == D("97.19")


def test_a_provider_refusal_voids_the_hold_and_a_retry_holds_again(paid, monkeypatch):
    def refuse(self, deposit):
        assert _available(deposit) == D("0")  # held while the provider is asked
        raise ProviderUnavailable("card expired")

    monkeypatch.setattr(DemoProvider, "refund", refuse)
    with pytest.raises(RefundRefused) as refused:
        deposit_refund(deposit_id=paid.pk, actor=make_staff(roles.FINANCE))
    assert refused.value.message == (
        "Demo provider refused the refund: card expired. Nothing was booked."
    )
    paid.refresh_from_db()
    assert paid.status == Deposit.Status.SUCCEEDED
    assert _available(paid) == D("97.20")
    first_hold = paid.refund_hold_journal_id
    assert Journal.objects.get(pending_id=first_hold).kind == Journal.Kind.VOID

    monkeypatch.undo()
    deposit_refund(deposit_id=paid.pk, actor=make_staff(roles.FINANCE))
    paid.refresh_from_db()
    assert paid.status == Deposit.Status.REFUNDED
    assert paid.refund_hold_journal_id != first_hold
    assert (_balance(paid), _available(paid), paid.shortfall) == (D("0"), D("0"), D("0"))


def test_money_held_for_a_refund_cannot_be_spent_meanwhile(paid, monkeypatch):
    def spend_meanwhile(self, deposit):
        # A withdrawal (its hold) and a transfer out, while the provider is being asked.
        with pytest.raises(InsufficientFunds):
            ledger_hold(
                source="test",
                key="withdrawal-meanwhile",
                debit=wallet_for_client(client=deposit.client, currency="USD"),
                credit=house_account(kind="withdrawals_in_transit", currency="USD"),
                amount=D("50"),
            )
        with pytest.raises(InsufficientFunds):
            _spend(deposit, "1")
        return "dr_test"

    monkeypatch.setattr(DemoProvider, "refund", spend_meanwhile)
    deposit_refund(deposit_id=paid.pk, actor=make_staff(roles.FINANCE))
    paid.refresh_from_db()
    assert (paid.status, paid.shortfall) == (Deposit.Status.REFUNDED, D("0"))
    # The reversal mirrors the credit, as a webhook-driven refund's does; no hold stays open.
    reversal = Journal.objects.get(pk=paid.reversal_journal_id)
    assert (reversal.kind, reversal.reverses_id) == ("reversal", paid.credit_journal_id)
    assert Journal.objects.get(pending_id=paid.refund_hold_journal_id).kind == "void"
    assert (_balance(paid), _available(paid)) == (D("0"), D("0"))


def test_a_refund_webhook_after_a_staff_refund_does_not_reverse_twice(client, paid):
    deposit_refund(deposit_id=paid.pk, actor=make_staff(roles.FINANCE))
    body, headers = demo_callback(deposit=paid, kind=EventKind.REFUNDED)
    assert post_webhook(client, body, headers).status_code == 200
    paid.refresh_from_db()
    assert (paid.status, paid.shortfall) == (Deposit.Status.REFUNDED, D("0"))
    assert _reversals(paid) == 1
    assert (_balance(paid), _available(paid)) == (D("0"), D("0"))


def test_a_refund_webhook_while_the_provider_answers_reverses_once_in_full(paid, monkeypatch):
    def webhook_first(self, deposit):
        body, _ = demo_callback(deposit=deposit, kind=EventKind.REFUNDED)
        event = DemoProvider().parse_webhook(body=body, headers=_)
        deposit_webhook_receive(provider="demo", event=event, body=body)
        return "dr_test"

    monkeypatch.setattr(DemoProvider, "refund", webhook_first)
    deposit_refund(deposit_id=paid.pk, actor=make_staff(roles.FINANCE))
    paid.refresh_from_db()
    # The webhook released the staff hold before reversing: no shortfall, one reversal.
    assert (paid.status, paid.shortfall) == (Deposit.Status.REFUNDED, D("0"))
    assert _reversals(paid) == 1
    assert (_balance(paid), _available(paid)) == (D("0"), D("0"))


def test_the_back_office_shows_a_refused_refund_not_a_500(client, paid, monkeypatch):
    def refuse(self, deposit):
        raise ProviderUnavailable("timeout")

    monkeypatch.setattr(DemoProvider, "refund", refuse)
    login_staff(client, make_staff(roles.FINANCE))
    response = client.post(f"/backoffice/payments/deposits/{paid.pk}/")
    assert response.status_code == 200
    assert "Demo provider refused the refund: timeout. Nothing was booked." in (
        response.content.decode()
    )
    assert _available(paid) == D("97.20")
