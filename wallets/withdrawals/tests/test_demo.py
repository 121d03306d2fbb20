from __future__ import annotations

import pytest

from brokerage import roles
from tests.factories import ClientFactory, make_staff
from wallets.withdrawals.demo import SPECS, seed
from wallets.withdrawals.models import Withdrawal

from .conftest import fund

pytestmark = pytest.mark.django_db


def test_the_demo_seed_tells_the_whole_story_once():
    from kyc.models import KycCase

    make_staff(roles.FINANCE, email="finance@meridian.test", first_name="Felix")
    make_staff(roles.FINANCE, email="finance2@meridian.test", first_name="Fiona")
    for n in range(len(SPECS)):
        client = ClientFactory(user__email=f"t{n}@traders.meridian.test")
        KycCase.objects.create(client=client, state="approved", level=2)
        fund(client, "3000")
        fund(client, "500", "EUR")

    seed()
    first = sorted(Withdrawal.objects.values_list("request_token", "status", "amount"))
    seed()

    assert sorted(Withdrawal.objects.values_list("request_token", "status", "amount")) == first
    statuses = [status for _, status, _ in first]
    assert statuses.count("paid") == 2
    assert statuses.count("requested") == 2 and statuses.count("approved") == 1
    awaiting = Withdrawal.objects.get(status="approved")
    assert awaiting.approvals_required == 2
    assert [a.approver.email for a in awaiting.approvals.all()] == ["finance@meridian.test"]
