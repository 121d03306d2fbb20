"""The run's fast paths: batches in forked worker processes give the same lines and payouts
as one process; a deal that already has lines is skipped before it is computed; a batch
that loses a race to a concurrent run is retried with ON CONFLICT DO NOTHING."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction

from partners.commissions import engine, services
from partners.commissions.models import CommissionLine, CommissionPayout
from partners.commissions.tests.helpers import T0, client_of, deal, groups, make_chain
from wallets.models import Entry, LedgerAccount

FROM = T0 - timedelta(days=30)
START, END = T0 - timedelta(days=1), T0 + timedelta(days=3)
D = Decimal


def _tree_with_deals(count: int = 12) -> None:
    top, mid, leaf = make_chain("Top", "Mid", "Leaf")
    for ib, per_lot in ((top, "10"), (mid, "7"), (leaf, "4")):
        plan = services.plan_create(name=f"{ib.name} plan")
        services.plan_version_new(
            plan=plan, valid_from=FROM, rates=[{"group": groups()["fx"], "per_lot": D(per_lot)}]
        )
        services.plan_assign(partner=ib, plan=plan, valid_from=FROM)
    accounts = [client_of(ib) for ib in (top, mid, leaf)]
    for n in range(count):
        deal(accounts[n % 3], lots=str(1 + n % 4), time=T0 + timedelta(minutes=n))


def _lines() -> list[tuple[int, int, int, Decimal]]:
    return sorted(
        CommissionLine.objects.values_list("deal_id", "partner_id", "level", "wallet_amount")
    )


def _credited() -> int:
    return sum(
        Entry.objects.filter(account__kind=LedgerAccount.Kind.IB_WALLET, direction="C").values_list(
            "amount", flat=True
        )
    )


@pytest.mark.django_db(transaction=True)
def test_two_worker_processes_write_what_one_process_writes():
    _tree_with_deals()
    step = 3  # 12 deals with consecutive ids: four batches, two per worker
    forked = services.commission_run_period(start=START, end=END, batch_size=step, workers=2)
    assert forked.status == "done", forked.error
    assert forked.deals_seen == 12 and forked.progress == 100
    lines = _lines()
    assert len(lines) == forked.lines_created > 0
    assert CommissionPayout.objects.filter(journal_id__isnull=True).count() == 0
    assert _credited() == int(sum(line[3] for line in lines) * 100)
    # One process over the same deals computes the same lines: the forked run left out none.
    with transaction.atomic():
        CommissionLine.objects.all().delete()
        services.commission_run_period(start=START, end=END, batch_size=step)
        assert _lines() == lines
        transaction.set_rollback(True)
    # And a forked re-run writes nothing.
    again = services.commission_run_period(start=START, end=END, batch_size=step, workers=2)
    assert again.lines_created == 0 and _lines() == lines


@pytest.mark.django_db
def test_deals_with_lines_are_skipped_before_they_are_computed():
    _tree_with_deals(3)
    services.commission_run_period(start=START, end=END)
    run = services.commission_run_period(start=START, end=END)
    assert run.deals_seen == 3 and run.lines_created == 0
    # The skipping is in the deal table: a second compute of the batch has no deal left.
    with transaction.atomic():
        result = engine.compute_lines(
            where="d.time >= %(start)s AND d.time < %(end)s",
            params={"start": START, "end": END},
            run_id=run.pk,
            batch=7,
        )
        transaction.set_rollback(True)
    assert result.deals_seen == 3 and result.lines == 0


@pytest.mark.django_db
def test_a_batch_that_loses_a_race_is_retried_with_on_conflict(monkeypatch):
    _tree_with_deals(3)
    first = services.commission_run_period(start=START, end=END)
    paid = _lines()
    calls: list[bool] = []
    real = engine.compute_lines

    def racing(**kwargs):
        calls.append(kwargs["on_conflict"])
        if not kwargs["on_conflict"]:
            # As if another run had not committed yet when the deals were picked.
            kwargs["where"] = "false AND " + kwargs["where"]
            real(**kwargs)
            with connection.cursor() as cursor:
                cursor.execute(
                    f"INSERT INTO {engine.LINE_TABLE} ({engine.LINE_COLUMNS}) "  # noqa: S608
                    "SELECT kind, run_id, deal_id, client_id, partner_id, level, deal_time, "
                    "plan_version_id, symbol, group_id, lots, modifier, tier_multiplier, rate, "
                    "child_rate, amount, currency, fx_rate, wallet_amount, wallet_currency, "
                    f"formula, reason, created_at FROM {engine.LINE_TABLE} WHERE run_id = %s",
                    [first.pk],
                )
        return real(**kwargs)

    monkeypatch.setattr(engine, "compute_lines", racing)
    again = services.commission_run_period(start=START, end=END)
    assert calls == [False, True]
    assert again.status == "done" and again.lines_created == 0
    assert _lines() == paid


@pytest.mark.django_db
def test_a_rendered_formula_reads_as_the_one_a_dry_run_stores():
    from partners.commissions.models import SymbolMarkup

    SymbolMarkup.objects.create(symbol="EURUSD", markup_pips=D("0.8"), pip_value=D(10))
    top, leaf = make_chain("Top", "Leaf")
    for ib, rates, cap in (
        (top, {"per_lot": "10", "pct_commission": "20", "pct_spread": "50"}, D("45")),
        (leaf, {"per_lot": "4.5", "pct_commission": "10"}, None),
    ):
        plan = services.plan_create(name=f"{ib.name} plan", per_deal_cap=cap)
        services.plan_version_new(
            plan=plan,
            valid_from=FROM,
            rates=[{"group": groups()["fx"], **{k: D(v) for k, v in rates.items()}}],
        )
        services.plan_assign(partner=ib, plan=plan, valid_from=FROM)
    account = client_of(leaf)
    for n, lots in enumerate(("0.37", "3", "12.5")):
        deal(account, lots=lots, commission="7.25", time=T0 + timedelta(minutes=n))
    services.commission_run_period(start=START, end=END)
    lines = list(CommissionLine.objects.all())
    assert len(lines) == 5 and all(line.formula_text == "" for line in lines)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE _cm_dry (LIKE commissions_commissionline INCLUDING DEFAULTS "
            "INCLUDING IDENTITY) ON COMMIT DROP"
        )
        cursor.execute(
            "CREATE UNIQUE INDEX ON _cm_dry (deal_id, partner_id, level) WHERE kind = 'deal'"
        )
        engine.compute_lines(
            where="d.time >= %(start)s AND d.time < %(end)s",
            params={"start": START, "end": END},
            run_id=0,
            table="_cm_dry",
        )
        cursor.execute("SELECT deal_id, partner_id, level, formula FROM _cm_dry")
        stored = {row[:3]: row[3] for row in cursor.fetchall()}
        transaction.set_rollback(True)
    rendered = {(line.deal_id, line.partner_id, line.level): line.formula for line in lines}
    assert rendered == stored
    assert any("capped at 45" in text for text in rendered.values())
