from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from clients.models import Notice
from wallets.ledger.selectors import account_balance
from wallets.ledger.services import house_account, ledger_expire_holds, wallet_for_client
from wallets.models import Journal
from wallets.payments.models import Deposit, PaymentMethod
from wallets.withdrawals import services
from wallets.withdrawals.exceptions import WithdrawalError
from wallets.withdrawals.models import Withdrawal, WithdrawalApproval
from wallets.withdrawals.services import (
    Checked,
    Destination,
    withdrawal_approve,
    withdrawal_cancel,
    withdrawal_mark_failed,
    withdrawal_mark_paid,
    withdrawal_reject,
)

from .conftest import bank, fund, request, verified_client

pytestmark = pytest.mark.django_db
D = Decimal


def available(client, currency: str = "USD") -> Decimal:
    return account_balance(account=wallet_for_client(client=client, currency=currency)).available


def posted(client, currency: str = "USD") -> Decimal:
    return account_balance(account=wallet_for_client(client=client, currency=currency)).posted


def in_transit(currency: str = "USD"):
    return account_balance(account=house_account(kind="withdrawals_in_transit", currency=currency))


def refused(fn, *args, **kwargs) -> str:
    with pytest.raises(WithdrawalError) as exc:
        fn(*args, **kwargs)
    return exc.value.message


# --- the request -------------------------------------------------------------------------------


def test_a_request_holds_the_amount_at_once(trader):
    withdrawal = request(trader, "100")
    assert withdrawal.status == Withdrawal.Status.REQUESTED
    assert available(trader) == D("2400.00")
    assert posted(trader) == D("2500.00")
    assert in_transit().pending_credits == D("100.00")
    hold = Journal.objects.get(pk=withdrawal.hold_journal_id)
    assert (
        hold.kind == Journal.Kind.HOLD
        and hold.idempotency_key == f"withdrawal:{withdrawal.pk}:hold"
    )
    assert [t.to_status for t in withdrawal.transitions.all()] == ["requested"]


def test_withdrawal_over_balance_is_refused(trader):
    message = refused(request, trader, "2500.01")
    assert message == "You can withdraw at most 2,500.00 USD."
    assert not Withdrawal.objects.exists()
    assert available(trader) == D("2500.00")


def test_an_empty_wallet_says_so(db):
    client = verified_client()
    assert refused(request, client, "1") == "You have no USD available to withdraw."


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0", "Enter an amount greater than zero."),
        ("-5", "Enter an amount greater than zero."),
        ("10.005", "USD amounts have at most 2 decimal places; round 10.005 to 10.00."),
    ],
)
def test_bad_amounts_are_refused_in_words(trader, amount, message):
    assert refused(request, trader, amount) == message


def test_the_same_token_holds_once(trader):
    first = request(trader, "100", token="form-token-1")
    again = services.withdrawal_request(
        client=trader,
        actor=trader.user,
        amount=D("100"),
        currency="USD",
        destination=bank(),
        token="form-token-1",
    )
    assert not again.created and again.withdrawal.pk == first.pk
    assert Withdrawal.objects.count() == 1
    assert available(trader) == D("2400.00")


def test_a_used_token_with_another_amount_is_refused(trader):
    first = request(trader, "100", token="form-token-2")
    assert refused(request, trader, "200", token="form-token-2") == (
        f"This form was already used for withdrawal #{first.pk}. "
        "Start a new withdrawal for a different amount."
    )


def test_a_refusal_by_the_ledger_reads_like_the_check(trader, monkeypatch):
    """The Python check passed (say another session spent the money meanwhile); the ledger's
    no-overdraft constraint refuses the hold and the client reads the same sentence."""

    def stale_check(*, client, amount, currency, destination):
        return Checked(amount=amount, currency=currency, destination=bank(), approvals_required=1)

    monkeypatch.setattr(services, "withdrawal_check", stale_check)
    assert refused(request, trader, "3000") == "You can withdraw at most 2,500.00 USD."
    assert not Withdrawal.objects.exists()


def test_the_hold_never_expires_while_waiting_for_approval(trader):
    withdrawal = request(trader, "100")
    assert Journal.objects.get(pk=withdrawal.hold_journal_id).expires_at is None
    assert ledger_expire_holds(now=timezone.now() + timedelta(days=3650)) == 0
    assert available(trader) == D("2400.00")


def test_kyc_too_low_is_refused_with_what_to_do(db):
    client = verified_client(level=1)
    fund(client, "100")
    assert refused(request, client, "50") == (
        "Withdrawing needs fully verified status (level 2); you are at level 1, identity "
        "verified. Upload a proof of address dated within the last 3 months (a utility bill or "
        "bank statement)."
    )


def test_daily_limit(trader, settings):
    settings.WITHDRAWAL_LIMITS = {2: {"per_day": "500", "currency": "USD"}}
    request(trader, "300")
    assert refused(request, trader, "250") == (
        "You can withdraw up to 500.00 USD a day; 200.00 USD is left today. "
        "Withdraw less, or the rest tomorrow."
    )
    request(trader, "200")


def test_a_cancelled_withdrawal_frees_the_daily_limit(trader, settings):
    settings.WITHDRAWAL_LIMITS = {2: {"per_day": "500", "currency": "USD"}}
    first = request(trader, "500")
    withdrawal_cancel(withdrawal_id=first.pk, client=trader, actor=trader.user)
    request(trader, "500")


# --- bank accounts -----------------------------------------------------------------------------


def test_bad_iban_check_digits(trader):
    message = refused(request, trader, "10", destination=bank(iban="DE89370400440532013001"))
    assert message == (
        "DE89 3704 0044 0532 0130 01 is not a valid IBAN: its check digits don't match. "
        "Copy it again from your bank statement or online banking."
    )


def test_bad_iban_length(trader):
    message = refused(request, trader, "10", destination=bank(iban="DE8937040044053201300"))
    assert message == (
        "DE89 3704 0044 0532 0130 0 has the wrong length for an IBAN from DE. "
        "Check that no characters are missing."
    )


def test_bad_bic(trader):
    message = refused(request, trader, "10", destination=bank(bic="COBA"))
    assert message == (
        "COBA is not a valid BIC (SWIFT code): it has 8 or 11 characters, e.g. COBADEFFXXX. "
        "Your bank shows it next to your IBAN."
    )


def test_bic_from_another_country_than_the_iban(trader):
    message = refused(request, trader, "10", destination=bank(bic="BNPAFRPPXXX"))
    assert message == (
        "The BIC BNPAFRPPXXX is for a bank in FR, but the IBAN is from DE. Check both with your "
        "bank."
    )


def test_the_bic_is_looked_up_from_a_german_iban_and_spaces_are_fine(trader):
    withdrawal = request(trader, "10", destination=bank(iban="de89 3704 0044 0532 0130 00", bic=""))
    assert (withdrawal.iban, withdrawal.bic) == ("DE89370400440532013000", "COBADEFFXXX")
    assert withdrawal.destination_text == "DE89 3704 0044 0532 0130 00 (Liam Novak)"


# --- closed loop -------------------------------------------------------------------------------


@pytest.fixture
def card(db) -> PaymentMethod:
    return PaymentMethod.objects.create(
        code="card", name="Card (Visa, Mastercard)", provider="demo", currencies=["USD", "EUR"]
    )


def deposit_by(client, method, amount: str) -> None:
    Deposit.objects.create(
        client=client,
        method=method,
        provider=method.provider,
        amount=D(amount),
        currency="USD",
        status=Deposit.Status.SUCCEEDED,
        credit_journal_id=1,
    )


def test_card_money_must_go_back_to_the_card_first(trader, card):
    deposit_by(trader, card, "300")
    assert refused(request, trader, "100") == (
        "Money you deposited by card goes back to that card first: 300.00 USD to Card (Visa, "
        "Mastercard). Choose it as the destination; once that is returned you can withdraw "
        "the rest to a bank account."
    )
    to_card = Destination(kind="method", method=card)
    assert refused(request, trader, "400", destination=to_card) == (
        "Card (Visa, Mastercard) can take back at most 300.00 USD, what you deposited with it. "
        "Withdraw 300.00 USD there first, then the rest to a bank account."
    )
    paid_back = request(trader, "300", destination=to_card)
    assert paid_back.method == card
    request(trader, "100")  # the card is paid back in full: the rest may go to a bank
    assert refused(request, trader, "1", destination=to_card).startswith(
        "We can send money back to Card (Visa, Mastercard) only up to what you deposited"
    )


def test_a_rejected_card_refund_owes_the_card_again(trader, card, finance):
    deposit_by(trader, card, "300")
    to_card = Destination(kind="method", method=card)
    first = request(trader, "300", destination=to_card)
    withdrawal_reject(withdrawal_id=first.pk, actor=finance, reason="Card expired.")
    assert refused(request, trader, "100").startswith("Money you deposited by card goes back")


def test_an_open_loop_method_doesnt_bind(trader):
    wire = PaymentMethod.objects.create(
        code="wire", name="Bank wire", provider="demo", currencies=["USD"], closed_loop=False
    )
    deposit_by(trader, wire, "300")
    request(trader, "100")


# --- approvals ---------------------------------------------------------------------------------


def test_below_the_threshold_one_approval_suffices(trader, finance):
    withdrawal = request(trader, "1000")
    assert withdrawal.approvals_required == 1
    withdrawal_approve(withdrawal_id=withdrawal.pk, actor=finance)
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.APPROVED_FULLY
    assert (
        Notice.objects.get(client=trader).subject == "Your withdrawal of 1,000.00 USD is approved"
    )


def test_above_the_threshold_two_different_people_approve(trader, finance, finance2):
    withdrawal = request(trader, "1000.01")
    assert withdrawal.approvals_required == 2
    withdrawal_approve(withdrawal_id=withdrawal.pk, actor=finance, note="Checked the IBAN.")
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.APPROVED
    assert not Notice.objects.filter(client=trader).exists()
    assert refused(withdrawal_approve, withdrawal_id=withdrawal.pk, actor=finance) == (
        "You already approved this withdrawal; a second, different person must approve it."
    )
    withdrawal_approve(withdrawal_id=withdrawal.pk, actor=finance2)
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.APPROVED_FULLY
    assert [a.approver for a in withdrawal.approvals.all()] == [finance, finance2]


def test_the_threshold_is_configurable_and_converts_other_currencies(trader, settings):
    from wallets.models import FxRate
    from wallets.withdrawals.selectors import second_approval_needed

    settings.WITHDRAWAL_SECOND_APPROVAL_ABOVE = {"USD": D("500")}
    FxRate.objects.create(base_id="EUR", quote_id="USD", rate=D("1.1"))
    assert not second_approval_needed(amount=D("500"), currency="USD")
    assert second_approval_needed(amount=D("500.01"), currency="USD")
    assert not second_approval_needed(amount=D("450"), currency="EUR")  # 495 USD
    assert second_approval_needed(amount=D("460"), currency="EUR")  # 506 USD
    assert second_approval_needed(amount=D("1"), currency="USDT")  # no rate: two, to be safe


def test_the_database_refuses_the_same_approver_twice(trader, finance):
    withdrawal = request(trader, "1500")
    WithdrawalApproval.objects.create(withdrawal=withdrawal, approver=finance)
    with pytest.raises(IntegrityError), transaction.atomic():
        WithdrawalApproval.objects.create(withdrawal=withdrawal, approver=finance)
    # ...and so it does for SQL that bypasses Django entirely.
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO withdrawals_withdrawalapproval (withdrawal_id, approver_id, decided_at, "
            "note) VALUES (%s, %s, now(), '')",
            [withdrawal.pk, finance.pk],
        )
    assert withdrawal.approvals.count() == 1


def test_the_requester_cant_approve(trader, finance, finance2):
    # Finance asked on the client's behalf (a phone request): someone else must approve.
    withdrawal = request(trader, "100", actor=finance)
    assert refused(withdrawal_approve, withdrawal_id=withdrawal.pk, actor=finance) == (
        "You requested this withdrawal, so other finance staff must approve it."
    )
    withdrawal_approve(withdrawal_id=withdrawal.pk, actor=finance2)


def test_only_finance_decides(trader, support):
    withdrawal = request(trader, "100")
    message = "Only finance staff may decide withdrawals."
    assert refused(withdrawal_approve, withdrawal_id=withdrawal.pk, actor=support) == message
    assert refused(withdrawal_reject, withdrawal_id=withdrawal.pk, actor=support, reason="x") == (
        message
    )


# --- reject, cancel, pay, fail -----------------------------------------------------------------


def test_reject_releases_the_hold(trader, finance):
    withdrawal = request(trader, "700")
    assert available(trader) == D("1800.00")
    assert refused(withdrawal_reject, withdrawal_id=withdrawal.pk, actor=finance, reason=" ") == (
        "Say why you reject it: the client reads this."
    )
    withdrawal_reject(
        withdrawal_id=withdrawal.pk, actor=finance, reason="The account is not in your name."
    )
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.REJECTED
    assert available(trader) == D("2500.00") and posted(trader) == D("2500.00")
    assert in_transit().pending_credits == 0
    notice = Notice.objects.get(client=trader)
    assert notice.subject == "Your withdrawal of 700.00 USD was not approved"
    assert "The account is not in your name." in notice.body
    assert refused(withdrawal_approve, withdrawal_id=withdrawal.pk, actor=finance) == (
        "This withdrawal is rejected."
    )


def test_paid_posts_the_hold_and_settles_in_transit(trader, finance):
    withdrawal = request(trader, "600")
    assert refused(
        withdrawal_mark_paid, withdrawal_id=withdrawal.pk, actor=finance, reference="X"
    ) == ("Only a fully approved withdrawal can be paid; this one is waiting for approval.")
    withdrawal_approve(withdrawal_id=withdrawal.pk, actor=finance)
    withdrawal_mark_paid(withdrawal_id=withdrawal.pk, actor=finance, reference="SEPA-20261125-1")
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.PAID
    assert posted(trader) == D("1900.00") and available(trader) == D("1900.00")
    transit = in_transit()
    assert (transit.posted, transit.pending_credits) == (0, 0)
    omnibus = account_balance(account=house_account(kind="bank_omnibus", currency="USD"))
    assert omnibus.posted == D("600.00")  # credited: the asset went down by what left
    assert Notice.objects.filter(client=trader, subject__contains="is paid").count() == 1
    # Paying twice is refused, and moved nothing.
    assert refused(withdrawal_mark_paid, withdrawal_id=withdrawal.pk, actor=finance, reference="X")
    assert posted(trader) == D("1900.00")


def test_a_refund_to_the_card_settles_against_the_providers_clearing(trader, finance, card):
    deposit_by(trader, card, "300")
    withdrawal = request(trader, "300", destination=Destination(kind="method", method=card))
    withdrawal_approve(withdrawal_id=withdrawal.pk, actor=finance)
    withdrawal_mark_paid(withdrawal_id=withdrawal.pk, actor=finance, reference="re_123")
    clearing = house_account(kind="psp_clearing", currency="USD", label="demo")
    assert account_balance(account=clearing).posted == D("300.00")


def test_a_failed_payout_releases_the_hold(trader, finance):
    withdrawal = request(trader, "250")
    withdrawal_approve(withdrawal_id=withdrawal.pk, actor=finance)
    withdrawal_mark_failed(
        withdrawal_id=withdrawal.pk, actor=finance, reason="The bank returned it."
    )
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.FAILED
    assert available(trader) == D("2500.00")


def test_the_client_cancels_while_requested_only(trader, finance):
    withdrawal = request(trader, "100")
    withdrawal_cancel(withdrawal_id=withdrawal.pk, client=trader, actor=trader.user)
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.CANCELLED
    assert available(trader) == D("2500.00")
    second = request(trader, "1500")
    withdrawal_approve(withdrawal_id=second.pk, actor=finance)
    assert refused(
        withdrawal_cancel, withdrawal_id=second.pk, client=trader, actor=trader.user
    ) == (
        "This withdrawal is already waiting for a second approval, so it can't be cancelled any "
        "more. Contact support if something is wrong."
    )


def test_the_timeline_records_who_and_why(trader, finance, finance2):
    withdrawal = request(trader, "1500")
    withdrawal_approve(withdrawal_id=withdrawal.pk, actor=finance)
    withdrawal_approve(withdrawal_id=withdrawal.pk, actor=finance2, note="Second look done.")
    withdrawal_mark_paid(withdrawal_id=withdrawal.pk, actor=finance, reference="REF-9")
    steps = [(t.to_status, t.actor, t.note) for t in withdrawal.transitions.all()]
    assert [s[0] for s in steps] == ["requested", "approved", "approved_fully", "paid"]
    assert [s[1] for s in steps] == [trader.user, finance, finance2, finance]
    assert steps[2][2] == "Second look done." and steps[3][2] == "Reference REF-9"


def test_the_state_machine_refuses_a_skipped_step(trader):
    from wallets.withdrawals.models import TransitionError

    withdrawal = request(trader, "100")
    with pytest.raises(TransitionError):
        withdrawal.move(Withdrawal.Status.PAID, actor=None)


def test_limits_follow_the_kyc_level(db, settings):
    settings.KYC_POLICY = {"withdraw": {"level": 1}}
    settings.WITHDRAWAL_LIMITS = {
        1: {"per_day": "100", "currency": "USD"},
        2: {"per_day": "1000", "currency": "USD"},
    }
    basic, full = verified_client(level=1), verified_client(level=2)
    fund(basic, "500")
    fund(full, "500")
    assert refused(request, basic, "150") == (
        "You can withdraw up to 100.00 USD a day; 100.00 USD is left today. "
        "Withdraw less, or the rest tomorrow."
    )
    request(full, "150")


def test_a_level_without_a_limit_may_not_withdraw(db, settings):
    settings.KYC_POLICY = {"withdraw": {"level": 0}}
    client = verified_client(level=0)
    fund(client, "50")
    assert refused(request, client, "10") == (
        "Withdrawals are not available at your verification level. "
        "Complete verification to withdraw."
    )


def test_a_method_that_doesnt_take_the_currency(trader, card):
    fund(trader, "100", "USDT")
    message = refused(
        request, trader, "10", currency="USDT", destination=Destination(kind="method", method=card)
    )
    assert message == "Card (Visa, Mastercard) doesn't take USDT. Choose a bank account."


def test_card_money_converted_to_another_currency_still_goes_back_to_the_card(trader, card):
    Deposit.objects.create(
        client=trader, method=card, provider="demo", amount=D("200"), currency="EUR",
        status=Deposit.Status.SUCCEEDED, credit_journal_id=1,
    )  # fmt: skip
    # The EUR was converted to USD in the portal; the USD may not go to a bank yet.
    assert refused(request, trader, "100") == (
        "Money you deposited by card goes back to that card first: 200.00 EUR to Card (Visa, "
        "Mastercard). Withdraw it there (in that currency) first; then you can withdraw the "
        "rest to a bank account."
    )


def test_a_freeze_after_the_request_stops_approval_and_payout(trader, finance):
    from kyc.services import aml_case_open

    withdrawal = request(trader, "100")
    aml_case_open(
        client=trader,
        source="payments",
        reference="chargeback:1",
        summary="Chargeback",
        freezes=True,
    )
    message = refused(withdrawal_approve, withdrawal_id=withdrawal.pk, actor=finance)
    assert message.startswith("This client is frozen by an open AML case")
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.REQUESTED
    withdrawal_reject(withdrawal_id=withdrawal.pk, actor=finance, reason="Chargeback under review.")
    assert available(trader) == D("2500.00")
