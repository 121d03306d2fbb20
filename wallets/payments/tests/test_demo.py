"""The demo data goes through the real path and is idempotent."""

from __future__ import annotations

import pytest

from brokerage import roles
from tests.factories import ClientFactory, make_staff
from wallets.models import Journal
from wallets.payments import demo
from wallets.payments.models import Deposit, PaymentEvent, PaymentMethod

from .conftest import set_level

pytestmark = pytest.mark.django_db


def test_the_demo_seed_makes_deposits_in_every_state_once():
    make_staff(roles.FINANCE, email="finance@meridian.test")
    for i in range(len(demo.STORIES)):
        trader = ClientFactory(user__email=f"t{i}@traders.meridian.test")
        set_level(trader, 2)

    demo.seed()
    demo.seed()

    assert list(PaymentMethod.objects.values_list("code", flat=True)) == ["card-demo"]
    statuses = sorted(Deposit.objects.values_list("status", flat=True))
    assert statuses == sorted(
        [
            "succeeded",
            "succeeded",
            "succeeded",
            "pending",
            "pending",
            "failed",
            "expired",
            "refunded",
        ]
    )
    # 4 credits, 1 refund: its hold, the hold released, the reversal
    assert Journal.objects.filter(source="payments").count() == 7
    assert PaymentEvent.objects.count() == 7
