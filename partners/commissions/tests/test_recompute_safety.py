"""A recompute never pays a deal twice: a missed deal it pays is a `deal` line the period's
run then skips, an approval re-checks its diff against the lines as they are now, and two
drafts of one period can't both be approved. A clawback the IB's wallet can't cover is
refused in words, with nothing posted."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from partners.commissions import services
from partners.commissions.exceptions import CommissionError
from partners.commissions.models import (
    CommissionLine,
    CommissionPayout,
    CommissionRun,
    Dispute,
    PlanRate,
    Recompute,
)
from partners.commissions.tests.helpers import T0, client_of, deal, groups, make_chain
from tests.factories import login_staff, make_staff
from wallets.ledger.services import Leg, house_account, ledger_transfer
from wallets.models import Entry, LedgerAccount

pytestmark = pytest.mark.django_db

FROM = T0 - timedelta(days=30)
START, END = T0 - timedelta(days=1), T0 + timedelta(days=3)
D = Decimal


def run() -> CommissionRun:
    return services.commission_run_period(start=START, end=END)


def tree() -> tuple:
    """Atlas (10/lot) over Harbor (7/lot); returns them and Harbor's plan."""
    atlas, harbor = make_chain("Atlas", "Harbor")
    plans = {}
    for ib, value in ((atlas, "10"), (harbor, "7")):
        plan = services.plan_create(name=f"{ib.name} plan")
        services.plan_version_new(
            plan=plan, valid_from=FROM, rates=[{"group": groups()["fx"], "per_lot": D(value)}]
        )
        services.plan_assign(partner=ib, plan=plan, valid_from=FROM)
        plans[ib.name] = plan
    return atlas, harbor, plans["Harbor"]


def credits(ib) -> int:
    account = LedgerAccount.objects.get(code=f"ib:{ib.pk}:wallet:USD")
    return sum(e.amount for e in Entry.objects.filter(account=account, direction="C"))


def drain(ib, minor: int) -> None:
    """The IB paid part of its commission out (to a house account, as a payout would)."""
    wallet = LedgerAccount.objects.get(code=f"ib:{ib.pk}:wallet:USD")
    other = house_account(kind=LedgerAccount.Kind.ADJUSTMENTS, currency="USD")
    ledger_transfer(
        source="test",
        key=f"drain:{ib.pk}",
        legs=[Leg(wallet, "D", D(minor) / 100), Leg(other, "C", D(minor) / 100)],
    )


def test_a_missed_deal_paid_by_a_recompute_is_not_paid_again_by_the_period_run():
    atlas, harbor, _ = tree()
    account = client_of(harbor)
    deal(account, lots="1")
    run()
    # The consumer missed this deal: no run ever saw it.
    missed = deal(account, lots="2", time=T0 + timedelta(hours=1))
    staff = make_staff("admin")
    recompute = services.recompute_dry_run(start=START, end=END, actor=staff)
    assert {(d.deal_id, d.level, d.paid, d.expected) for d in recompute.diffs.all()} == {
        (missed.pk, 0, D(0), D(14)),
        (missed.pk, 1, D(0), D(6)),
    }
    services.recompute_approve(recompute=recompute, actor=staff, reason="consumer missed it")
    lines = CommissionLine.objects.filter(deal_id=missed.pk)
    assert sorted((line.kind, line.amount) for line in lines) == [("deal", D(6)), ("deal", D(14))]
    assert run().lines_created == 0  # the period again: the deal is paid
    assert CommissionLine.objects.filter(deal_id=missed.pk).count() == 2
    assert credits(harbor) == 700 + 1400
    assert credits(atlas) == 300 + 600
    assert services.recompute_dry_run(start=START, end=END, actor=staff).diff_lines == 0


def test_a_draft_is_refused_when_the_period_was_paid_since_its_dry_run():
    atlas, harbor, _ = tree()
    account = client_of(harbor)
    deal(account, lots="1")
    run()
    deal(account, lots="2", time=T0 + timedelta(hours=1))
    staff = make_staff("admin")
    recompute = services.recompute_dry_run(start=START, end=END, actor=staff)
    assert recompute.diff_lines == 2
    run()  # the late consumer (or a re-run) pays the deal after the dry run
    with pytest.raises(CommissionError, match="run a new dry run"):
        services.recompute_approve(recompute=recompute, actor=staff, reason="missed")
    assert Recompute.objects.get(pk=recompute.pk).status == Recompute.Status.DRAFT
    assert not CommissionRun.objects.filter(kind=CommissionRun.Kind.RECOMPUTE).exists()
    assert credits(harbor) == 700 + 1400  # once


def test_two_drafts_of_a_period_the_second_cannot_be_approved():
    atlas, harbor, harbor_plan = tree()
    deal(client_of(harbor), lots="3")
    run()
    PlanRate.objects.filter(version__plan=harbor_plan).update(per_lot=D(5))
    staff = make_staff("admin")
    first = services.recompute_dry_run(start=START, end=END, actor=staff)
    second = services.recompute_dry_run(start=START, end=END, actor=staff)
    assert first.diff_lines == second.diff_lines == 2
    services.recompute_approve(recompute=first, actor=staff, reason="rate was 5")
    assert Recompute.objects.get(pk=second.pk).status == Recompute.Status.SUPERSEDED
    with pytest.raises(CommissionError, match="Another recompute of this period"):
        services.recompute_approve(recompute=second, actor=staff, reason="rate was 5")
    assert CommissionLine.objects.filter(kind="adjustment").count() == 2  # once
    assert credits(atlas) == 900 + 600


def test_a_clawback_the_wallet_cannot_cover_is_refused_in_words_on_the_dispute_page(client):
    atlas, harbor, _ = tree()
    deal(client_of(harbor), lots="3")
    run()  # Harbor 21.00
    drain(harbor, 1800)  # Harbor paid 18.00 out: its wallet holds 3.00
    line = CommissionLine.objects.get(partner=harbor)
    dispute = services.dispute_open(partner=harbor, line=line, message="x")
    payouts, entries = CommissionPayout.objects.count(), Entry.objects.count()
    login_staff(client, make_staff("admin"))
    response = client.post(
        f"/backoffice/partners/disputes/{dispute.pk}/",
        {"decision": "accept", "reason": "overpaid", "adjustment": "-9"},
        follow=True,
    )
    assert response.status_code == 200
    assert (
        "Harbor&#x27;s wallet holds 3.00 USD; the 9.00 USD clawback can&#x27;t be taken"
        in response.content.decode()
    )
    assert Dispute.objects.get().status == Dispute.Status.OPEN
    assert not CommissionLine.objects.filter(kind="adjustment").exists()
    assert (CommissionPayout.objects.count(), Entry.objects.count()) == (payouts, entries)
    assert not CommissionRun.objects.filter(kind=CommissionRun.Kind.DISPUTE).exists()


def test_a_recompute_clawback_the_wallet_cannot_cover_is_refused_on_its_page(client):
    atlas, harbor, harbor_plan = tree()
    deal(client_of(harbor), lots="3")
    run()  # Harbor 21.00, Atlas 9.00
    drain(harbor, 1800)
    PlanRate.objects.filter(version__plan=harbor_plan).update(per_lot=D(4))  # Harbor 12.00
    staff = make_staff("admin")
    recompute = services.recompute_dry_run(start=START, end=END, actor=staff)
    lines, entries = CommissionLine.objects.count(), Entry.objects.count()
    login_staff(client, staff)
    response = client.post(
        f"/backoffice/partners/recompute/{recompute.pk}/", {"reason": "rate was 4"}, follow=True
    )
    assert (
        "Harbor&#x27;s wallet holds 3.00 USD; the 9.00 USD clawback can&#x27;t be taken"
        in response.content.decode()
    )
    assert Recompute.objects.get(pk=recompute.pk).status == Recompute.Status.DRAFT
    assert (CommissionLine.objects.count(), Entry.objects.count()) == (lines, entries)
    assert not CommissionRun.objects.filter(kind=CommissionRun.Kind.RECOMPUTE).exists()
