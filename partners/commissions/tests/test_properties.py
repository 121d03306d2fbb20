"""Property tests: for random trees (depth 1-5), plans and deals, the differential model pays
exactly top rate x lots per deal, the cascade model exactly the amount distributed; a re-run
changes nothing; a recompute with unchanged plans finds no difference."""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from partners.commissions import services
from partners.commissions.models import CommissionLine, CommissionPlan
from partners.commissions.tests.helpers import T0, client_of, deal, groups, make_ib

pytestmark = pytest.mark.django_db

FROM = T0 - timedelta(days=30)
START, END = T0 - timedelta(days=1), T0 + timedelta(days=3)
CENT = Decimal("0.01")

lots = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(50), places=2)
rate = st.decimals(min_value=Decimal(0), max_value=Decimal(20), places=2)


class Rollback(Exception):
    pass


@st.composite
def tree(draw):  # type: ignore[no-untyped-def]
    """Parent index per IB (a random tree whose depth is at most 5) and the IB of each deal."""
    size = draw(st.integers(min_value=1, max_value=8))
    parents: list[int | None] = [None]
    depth = [0]
    for _ in range(1, size):
        parent = draw(st.sampled_from([i for i in range(len(depth)) if depth[i] < 4]))
        parents.append(parent)
        depth.append(depth[parent] + 1)
    deals = draw(st.lists(st.tuples(st.integers(0, size - 1), lots), min_size=1, max_size=6))
    return parents, deals


def _build(parents):  # type: ignore[no-untyped-def]
    ibs = []
    for n, parent in enumerate(parents):
        ibs.append(make_ib(f"IB {n}", ibs[parent] if parent is not None else None))
    return ibs


def _run_twice_and_recompute() -> None:
    services.commission_run_period(start=START, end=END)
    count = CommissionLine.objects.count()
    assert services.commission_run_period(start=START, end=END).lines_created == 0
    assert CommissionLine.objects.count() == count
    recompute = services.recompute_dry_run(start=START, end=END, actor=None)
    assert recompute.diff_lines == 0


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(shape=tree(), data=st.data())
def test_differential_pays_the_top_rate_times_lots(shape, data) -> None:  # type: ignore[no-untyped-def]
    parents, deals = shape
    try:
        with transaction.atomic():
            fx = groups()["fx"]
            ibs = _build(parents)
            # Rates that never rise down the tree: each IB at most its parent's.
            rates: list[Decimal] = []
            for parent in parents:
                ceiling = Decimal(20) if parent is None else rates[parent]
                rates.append(data.draw(st.decimals(min_value=0, max_value=ceiling, places=2)))
            for ib, value in zip(ibs, rates, strict=True):
                plan = services.plan_create(name=f"{ib.name} plan")
                services.plan_version_new(
                    plan=plan, valid_from=FROM, rates=[{"group": fx, "per_lot": value}]
                )
                services.plan_assign(partner=ib, plan=plan, valid_from=FROM)
            made = [(deal(client_of(ibs[i]), lots=size), i) for i, size in deals]
            _run_twice_and_recompute()
            for d, i in made:
                root = i
                while parents[root] is not None:
                    root = parents[root]  # type: ignore[assignment]
                paid = CommissionLine.objects.filter(deal=d).aggregate(s=Sum("amount"))["s"]
                expected = (rates[root] * d.lots).quantize(CENT, ROUND_HALF_UP)
                assert (paid or Decimal(0)) == expected
            raise Rollback
    except Rollback:
        pass


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    shape=tree(),
    per_lot=rate,
    shares=st.lists(st.decimals(min_value=0, max_value=100, places=2), min_size=1, max_size=4),
    cap=st.none() | st.decimals(min_value=1, max_value=200, places=2),
)
def test_cascade_pays_exactly_the_amount_distributed(shape, per_lot, shares, cap) -> None:  # type: ignore[no-untyped-def]
    parents, deals = shape
    try:
        with transaction.atomic():
            fx = groups()["fx"]
            ibs = _build(parents)
            plan = services.plan_create(
                name="Cascade", model=CommissionPlan.Model.CASCADE, per_deal_cap=cap
            )
            services.plan_version_new(
                plan=plan, valid_from=FROM, rates=[{"group": fx, "per_lot": per_lot}], shares=shares
            )
            for ib in ibs:
                services.plan_assign(partner=ib, plan=plan, valid_from=FROM)
            made = [deal(client_of(ibs[i]), lots=size) for i, size in deals]
            _run_twice_and_recompute()
            for d in made:
                amount = per_lot * d.lots
                if cap is not None:
                    amount = min(amount, cap)
                paid = CommissionLine.objects.filter(deal=d).aggregate(s=Sum("amount"))["s"]
                assert (paid or Decimal(0)) == amount.quantize(CENT, ROUND_HALF_UP)
                assert not CommissionLine.objects.filter(deal=d, amount__lt=0).exists()
            raise Rollback
    except Rollback:
        pass
