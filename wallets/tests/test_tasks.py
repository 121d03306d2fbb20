from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from brokerage import roles
from wallets.ledger.services import house_account, ledger_hold
from wallets.tasks import expire_holds, ledger_check


@pytest.mark.django_db
def test_the_periodic_task_expires_old_holds(usd_wallet, fund):
    fund(usd_wallet, "10")
    transit = house_account(kind="withdrawals_in_transit", currency="USD")
    ledger_hold(
        source="t",
        key="old",
        debit=usd_wallet,
        credit=transit,
        amount=Decimal("3"),
        expires_at=timezone.now() - timedelta(seconds=1),
    )
    assert expire_holds.apply().get() == 1
    assert expire_holds.apply().get() == 0


@pytest.mark.django_db
@pytest.mark.ledger_unsound
def test_a_broken_ledger_alerts_finance_and_admins(usd_wallet, fund, staff_factory):
    staff_factory(roles.FINANCE, email="money@meridian.test")
    staff_factory(roles.SUPPORT, email="helpdesk@meridian.test")
    fund(usd_wallet, "10")
    assert ledger_check.apply().get() == 0
    assert mail.outbox == []
    # Drift the cached counters behind the entries' back, as a bug in raw SQL could.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE wallets_ledgeraccount SET credits_posted = credits_posted + 1 WHERE id = %s",
            [usd_wallet.pk],
        )
    assert ledger_check.apply().get() == 2  # counters and the last balance_after disagree
    [alert] = mail.outbox
    assert alert.to == ["money@meridian.test"]
    assert "Ledger check FAILED: 2 invariant(s)" in alert.subject
    assert "posted counters equal the sum of posted entries" in alert.body
