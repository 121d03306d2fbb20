"""Pages: the IB's lines and statements (scoped: another IB's line is a 404), CSV and PDF,
the plan page's preview calculator (it agrees with the run), the back-office queues."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from partners.commissions import selectors, services
from partners.commissions.models import CommissionLine, Dispute
from partners.commissions.tests.helpers import T0, client_of, deal, groups, make_chain
from tests.factories import login_staff, make_staff

pytestmark = pytest.mark.django_db
FROM = T0 - timedelta(days=30)
D = Decimal


@pytest.fixture
def paid_tree():
    fx = groups()["fx"]
    atlas, harbor = make_chain("Atlas", "Harbor")
    for ib, value in ((atlas, "10"), (harbor, "7")):
        plan = services.plan_create(name=f"{ib.name} plan")
        services.plan_version_new(
            plan=plan, valid_from=FROM, rates=[{"group": fx, "per_lot": D(value)}]
        )
        services.plan_assign(partner=ib, plan=plan, valid_from=FROM)
    deal(client_of(harbor), lots="3")
    services.commission_run_period(start=T0 - timedelta(days=1), end=T0 + timedelta(days=1))
    return atlas, harbor


def test_an_ib_sees_its_lines_and_why_and_not_another_ibs(client, paid_tree):
    atlas, harbor = paid_tree
    mine = CommissionLine.objects.get(partner=harbor)
    theirs = CommissionLine.objects.get(partner=atlas)
    client.force_login(harbor.user)
    listing = client.get("/partners/commissions/?period=2026-10").content.decode()
    assert "21.00" in listing and "9.00" not in listing
    page = client.get(f"/partners/commissions/{mine.pk}/").content.decode()
    assert "3 lots × 1 × 7/lot" in page and "Harbor plan" in page
    assert client.get(f"/partners/commissions/{theirs.pk}/").status_code == 404
    response = client.post(f"/partners/commissions/{theirs.pk}/", {"message": "mine"})
    assert response.status_code == 404 and not Dispute.objects.exists()
    client.post(f"/partners/commissions/{mine.pk}/", {"message": "too low"})
    assert Dispute.objects.get().line == mine


def test_statements_on_screen_csv_and_pdf_hold_only_the_ibs_lines(client, paid_tree):
    atlas, harbor = paid_tree
    client.force_login(atlas.user)
    assert "October 2026" in client.get("/partners/statements/").content.decode()
    page = client.get("/partners/statements/2026-10/").content.decode()
    assert "9.00" in page and "21.00" not in page
    csv = b"".join(client.get("/partners/statements/2026-10.csv").streaming_content).decode()
    assert csv.count("\n") == 2 and "minus the level below's 21.00 = 9.00" in csv
    pdf = client.get("/partners/statements/2026-10.pdf")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert client.get("/partners/statements/october/").status_code == 404
    client.post("/partners/statements/2026-10/", {"message": "a deal is missing"})
    assert Dispute.objects.get().period == "2026-10"


def test_the_preview_agrees_with_the_run(paid_tree):
    atlas, harbor = paid_tree
    group, levels = selectors.preview(partner=harbor, symbol="EURUSD", lots=D(3), at=timezone.now())
    assert group is not None and group.code == "fx"
    paid = {line.partner_id: line.amount for line in CommissionLine.objects.all()}
    assert {level.partner.pk: level.amount for level in levels} == paid
    assert selectors.preview(partner=harbor, symbol="WHEAT", lots=D(1), at=timezone.now()) == (
        None,
        [],
    )


def test_backoffice_plan_preview_runs_recompute_and_disputes(client, paid_tree):
    atlas, harbor = paid_tree
    manager = make_staff("admin")
    login_staff(client, manager)
    plan = harbor.plan_assignments.get().plan
    page = client.get(
        f"/backoffice/partners/plans/{plan.pk}/",
        {"partner": harbor.pk, "symbol": "EURUSD", "lots": "3", "commission": "0"},
    ).content.decode()
    assert "30.00" in page  # the total over both levels
    assert "frozen" in page  # the version has paid lines
    assert "Done" in client.get("/backoffice/partners/runs/").content.decode()
    response = client.post("/backoffice/partners/recompute/", {"period": "2026-10"})
    assert response.status_code == 302
    assert "No difference" in client.get(response["Location"]).content.decode()
    line = CommissionLine.objects.get(partner=harbor)
    dispute = services.dispute_open(partner=harbor, line=line, message="should be 24")
    assert "should be 24" in client.get("/backoffice/partners/disputes/").content.decode()
    client.post(
        f"/backoffice/partners/disputes/{dispute.pk}/",
        {"decision": "accept", "reason": "agreed", "adjustment": "3"},
    )
    assert Dispute.objects.get().status == Dispute.Status.ACCEPTED
    assert CommissionLine.objects.filter(kind="adjustment", partner=harbor, amount=3).exists()


def test_auditors_see_but_cannot_decide(client, paid_tree):
    atlas, harbor = paid_tree
    line = CommissionLine.objects.get(partner=harbor)
    dispute = services.dispute_open(partner=harbor, line=line, message="x")
    auditor = make_staff("auditor")
    login_staff(client, auditor)
    assert client.get(f"/backoffice/partners/disputes/{dispute.pk}/").status_code == 200
    response = client.post(
        f"/backoffice/partners/disputes/{dispute.pk}/", {"decision": "reject", "reason": "no"}
    )
    assert response.status_code == 403
    assert Dispute.objects.get().status == Dispute.Status.OPEN
