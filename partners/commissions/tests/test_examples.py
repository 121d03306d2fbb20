"""The worked examples of specs/crypto-ib-prop.md B4, to the cent, through the real run."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from partners.commissions import services
from partners.commissions.models import (
    CommissionLine,
    CommissionPlan,
    CpaQualification,
    SymbolMarkup,
)
from partners.commissions.tests.helpers import T0, client_of, deal, groups, make_chain, make_ib
from wallets.models import LedgerAccount

pytestmark = pytest.mark.django_db

FROM = T0 - timedelta(days=30)
D = Decimal


def run() -> None:
    services.commission_run_period(start=T0 - timedelta(days=1), end=T0 + timedelta(days=40))


def paid(ib) -> dict[int, Decimal]:
    return {line.level: line.amount for line in CommissionLine.objects.filter(partner=ib)}


def test_1_rate_difference_pays_top_rate_times_lots():
    fx = groups()["fx"]
    master, sub, subsub = make_chain("Atlas", "Harbor", "Kite")
    for ib, rate in ((master, "10"), (sub, "7"), (subsub, "4")):
        plan = services.plan_create(name=f"{ib.name} plan")
        services.plan_version_new(
            plan=plan, valid_from=FROM, rates=[{"group": fx, "per_lot": D(rate)}]
        )
        services.plan_assign(partner=ib, plan=plan, valid_from=FROM)
    deal(client_of(subsub), lots="3")
    run()
    assert paid(subsub) == {0: D("12.00")}
    assert paid(sub) == {1: D("9.00")}
    assert paid(master) == {2: D("9.00")}
    line = CommissionLine.objects.get(partner=master)
    assert line.rate == D("30") and line.child_rate == D("21")
    assert "minus the level below's 21.00 = 9.00" in line.formula


def test_2_percent_cascade_sums_to_the_amount():
    fx = groups()["fx"]
    chain = make_chain("A", "B", "C", "D")
    plan = services.plan_create(name="Cascade", model=CommissionPlan.Model.CASCADE)
    services.plan_version_new(
        plan=plan, valid_from=FROM, rates=[{"group": fx, "per_lot": D(5)}], shares=[D(20), D(10)]
    )
    services.plan_assign(partner=chain[-1], plan=plan, valid_from=FROM)
    deal(client_of(chain[-1]), lots="1")
    run()
    amounts = [paid(ib) for ib in reversed(chain)]
    assert amounts == [{0: D("4.00")}, {1: D("0.90")}, {2: D("0.09")}, {3: D("0.01")}]


def test_3_groups_plus_tier():
    g = groups()
    ib = make_ib("Solo")
    plan = services.plan_create(name="Groups")
    services.plan_version_new(
        plan=plan,
        valid_from=FROM - timedelta(days=40),
        rates=[{"group": g["fx"], "per_lot": D(8)}, {"group": g["metals"], "per_lot": D(10)}],
        tiers=[("lots", D(500), D("1.5"))],
    )
    services.plan_assign(partner=ib, plan=plan, valid_from=FROM - timedelta(days=40))
    account = client_of(ib, since=FROM - timedelta(days=40))
    deal(account, symbol="EURUSD", lots="5")
    deal(account, symbol="XAUUSD", lots="2")
    run()
    assert sum(line.amount for line in CommissionLine.objects.filter(partner=ib)) == D("60.00")
    # Next month, after 500 lots this month: the tier ratio 1.5 applies.
    deal(account, symbol="EURUSD", lots="493")
    nxt = T0 + timedelta(days=31)
    deal(account, symbol="EURUSD", lots="5", time=nxt)
    deal(account, symbol="XAUUSD", lots="2", time=nxt)
    run()
    november = CommissionLine.objects.filter(partner=ib, deal_time=nxt)
    assert sum(line.amount for line in november) == D("90.00")
    assert {line.tier_multiplier for line in november} == {D("1.5")}


def test_4_spread_share():
    fx = groups()["fx"]
    SymbolMarkup.objects.create(symbol="EURUSD", markup_pips=D("0.8"), pip_value=D(10))
    ib = make_ib("Spready")
    plan = services.plan_create(name="Spread")
    services.plan_version_new(
        plan=plan, valid_from=FROM, rates=[{"group": fx, "pct_spread": D(50)}]
    )
    services.plan_assign(partner=ib, plan=plan, valid_from=FROM)
    deal(client_of(ib), lots="1")
    run()
    assert paid(ib) == {0: D("4.00")}
    assert "50% of spread 8" in CommissionLine.objects.get(partner=ib).formula


def test_commission_percentage():
    fx = groups()["fx"]
    ib = make_ib("Pct")
    plan = services.plan_create(name="Pct")
    services.plan_version_new(
        plan=plan, valid_from=FROM, rates=[{"group": fx, "pct_commission": D(10)}]
    )
    services.plan_assign(partner=ib, plan=plan, valid_from=FROM)
    deal(client_of(ib), lots="1", commission="70")
    run()
    assert paid(ib) == {0: D("7.00")}


def test_5_cpa_once_with_a_qualification_event():
    from wallets.ledger.services import Leg, house_account, ledger_transfer, wallet_for_client

    groups()
    ib = make_ib("Solstice")
    plan = services.plan_create(name="CPA")
    services.plan_version_new(
        plan=plan,
        valid_from=FROM,
        cpa={"amount": D(200), "min_deposit": D(500), "min_lots": D(1), "within_days": 30},
    )
    services.plan_assign(partner=ib, plan=plan, valid_from=FROM)
    rich, poor = client_of(ib), client_of(ib)
    for account, amount in ((rich, "600"), (poor, "400")):
        wallet = wallet_for_client(client=account.client, currency="USD")
        ledger_transfer(
            source="test",
            key=f"dep:{account.pk}",
            legs=[Leg(house_account(kind="psp_clearing", currency="USD"), "D", D(amount)),
                  Leg(wallet, "C", D(amount))],
        )  # fmt: skip
    from django.utils import timezone

    now = timezone.now()
    deal(rich, lots="0.5", time=now)
    services.cpa_qualify(now=now + timedelta(seconds=1))
    assert not CpaQualification.objects.exists()  # 0.5 lots is not yet 1 lot
    deal(rich, lots="0.5", time=now)
    deal(poor, lots="5", time=now)
    services.cpa_qualify(now=now + timedelta(seconds=1))
    services.cpa_qualify(now=now + timedelta(seconds=2))
    event = CpaQualification.objects.get()
    assert event.client_id == rich.client_id and event.first_deposit == D(600)
    assert event.lots == D(1)
    lines = CommissionLine.objects.filter(kind="cpa")
    assert [line.amount for line in lines] == [D("200.00000000")]
    wallet = LedgerAccount.objects.get(code=f"ib:{ib.pk}:wallet:USD")
    from wallets.models import Entry

    assert sum(e.amount for e in Entry.objects.filter(account=wallet)) == 20000
