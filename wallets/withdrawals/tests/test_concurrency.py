"""Racing withdrawals and approvals on real PostgreSQL connections, one per thread, released
together by a barrier."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from wallets.ledger.selectors import account_balance
from wallets.ledger.services import wallet_for_client
from wallets.tests.test_ledger_concurrency import in_threads
from wallets.withdrawals.exceptions import WithdrawalError
from wallets.withdrawals.models import Withdrawal, WithdrawalApproval
from wallets.withdrawals.services import withdrawal_approve

from .conftest import fund, request, verified_client

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_withdrawals_racing_for_the_same_money_one_wins():
    client = verified_client()
    fund(client, "150")

    results = in_threads(2, lambda i: request(client, "100", token=uuid.uuid4().hex))

    won = [r for r in results if isinstance(r, Withdrawal)]
    lost = [r for r in results if isinstance(r, WithdrawalError)]
    assert len(won) == 1 and len(lost) == 1, results
    assert lost[0].message == "You can withdraw at most 50.00 USD."
    assert Withdrawal.objects.count() == 1
    balance = account_balance(account=wallet_for_client(client=client, currency="USD"))
    assert (balance.posted, balance.available) == (Decimal("150.00"), Decimal("50.00"))


def test_a_double_submit_racing_itself_holds_once():
    client = verified_client()
    fund(client, "500")

    results = in_threads(2, lambda i: request(client, "100", token="one-form"))

    assert all(isinstance(r, Withdrawal) for r in results), results
    assert results[0].pk == results[1].pk
    balance = account_balance(account=wallet_for_client(client=client, currency="USD"))
    assert balance.available == Decimal("400.00")


def test_the_same_approver_in_two_tabs_approves_once():
    from brokerage import roles
    from tests.factories import make_staff

    client = verified_client()
    fund(client, "5000")
    withdrawal = request(client, "2000")  # needs two approvals
    finance = make_staff(roles.FINANCE)

    results = in_threads(
        2, lambda i: withdrawal_approve(withdrawal_id=withdrawal.pk, actor=finance)
    )

    errors = [r for r in results if isinstance(r, WithdrawalError)]
    assert len(errors) == 1, results
    assert errors[0].message == (
        "You already approved this withdrawal; a second, different person must approve it."
    )
    assert WithdrawalApproval.objects.filter(withdrawal=withdrawal).count() == 1
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.APPROVED
