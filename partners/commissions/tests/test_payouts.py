"""An IB's payout: commission moves from the IB wallet to the IB's own trader's-room wallet and
leaves through the normal withdrawal flow; the dashboard shows what was earned."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from partners.commissions import services
from partners.commissions.models import CommissionLine
from partners.commissions.tests.helpers import T0, client_of, deal, groups, make_chain
from wallets.ledger.selectors import account_balance
from wallets.ledger.services import wallet_for_client
from wallets.models import LedgerAccount

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def earned():
    """Harbor under Atlas, 3 lots at 10/7 per lot: Atlas earns 9.00, Harbor 21.00."""
    fx = groups()["fx"]
    atlas, harbor = make_chain("Atlas", "Harbor")
    for ib, value in ((atlas, "10"), (harbor, "7")):
        plan = services.plan_create(name=f"{ib.name} plan")
        services.plan_version_new(
            plan=plan,
            valid_from=T0 - timedelta(days=30),
            rates=[{"group": fx, "per_lot": D(value)}],
        )
        services.plan_assign(partner=ib, plan=plan, valid_from=T0 - timedelta(days=30))
    deal(client_of(harbor), lots="3")
    services.commission_run_period(start=T0 - timedelta(days=1), end=T0 + timedelta(days=1))
    return atlas, harbor


def _ib_wallet(partner) -> LedgerAccount:
    return LedgerAccount.objects.get(kind="ib_wallet", ib_id=partner.pk, currency_id="USD")


def test_a_payout_moves_commission_to_the_ibs_wallet_once_and_opens_verification(client, earned):
    _, harbor = earned
    assert not hasattr(harbor.user, "client")
    client.force_login(harbor.user)
    form = {"currency": "USD", "amount": "20.00", "token": "tok-1"}
    response = client.post("/partners/payout/", form)
    assert response.status_code == 302 and response["Location"] == "/portal/withdraw/"
    client.post("/partners/payout/", form)  # a double submit: the same token moves it once
    harbor.user.refresh_from_db()
    wallet = wallet_for_client(client=harbor.user.client, currency="USD")
    assert account_balance(account=wallet).posted == D("20.00")
    assert account_balance(account=_ib_wallet(harbor)).posted == D("1.00")
    assert harbor.user.client.kyc_case.level == 0  # withdrawing needs verification, as for anyone


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("21.01", "You can pay out at most 21.00 USD."),
        ("0", "Enter an amount above zero."),
        ("1.001", "USD amounts have at most 2 decimals."),
    ],
)
def test_a_payout_beyond_the_commission_or_malformed_is_refused(client, earned, amount, message):
    _, harbor = earned
    client.force_login(harbor.user)
    response = client.post("/partners/payout/", {"currency": "USD", "amount": amount, "token": "t"})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert account_balance(account=_ib_wallet(harbor)).posted == D("21.00")


def test_the_dashboard_shows_commission_by_month_and_the_recent_lines_with_their_why(
    client, earned
):
    atlas, _ = earned
    client.force_login(atlas.user)
    page = client.get("/partners/").content.decode()
    line = CommissionLine.objects.get(partner=atlas)
    assert "Commission earned per month, USD" in page
    assert f"/partners/commissions/{line.pk}/" in page and "9.00" in page


def test_staff_put_an_ib_on_a_plan_from_now_on_never_backwards(client):
    from django.utils import timezone

    from brokerage import roles
    from partners.commissions.models import PlanAssignment
    from tests.factories import PartnerFactory, login_staff, make_staff

    ib = PartnerFactory(name="Kite")
    plan = services.plan_create(name="Kite plan")
    admin = make_staff(roles.ADMIN)
    login_staff(client, admin)
    page = client.get(f"/backoffice/partners/{ib.pk}/").content.decode()
    assert "Not on a commission plan yet" in page
    past = (timezone.now() - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        f"/backoffice/partners/{ib.pk}/plan/", {"plan": plan.pk, "valid_from": past}
    )
    assert "A plan can&#x27;t start in the past" in response.content.decode()
    soon = (timezone.now() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        f"/backoffice/partners/{ib.pk}/plan/", {"plan": plan.pk, "valid_from": soon}
    )
    assert response.status_code == 302
    assert PlanAssignment.objects.get(partner=ib).plan == plan
    assert "Kite plan" in client.get(f"/backoffice/partners/{ib.pk}/").content.decode()
