"""Senior sign-off of high risk: compliance or admin, never the person who ran it."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from brokerage import roles
from kyc.riskscore.exceptions import RiskError
from kyc.riskscore.models import RiskApproval
from kyc.riskscore.services import assess_client, risk_approval_decide
from tests.factories import ClientFactory, make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def high(compliance):
    return assess_client(client=ClientFactory(country="BA"), pep="foreign", actor=compliance)


def test_another_compliance_officer_approves(high, second_compliance):
    approval = risk_approval_decide(
        assessment=high, actor=second_compliance, decision="approve", reason="EDD done"
    )
    assert approval.maker == high.assessed_by and approval.approved_by == second_compliance
    assert approval.get_decision_display() == "Approved"


def test_an_admin_may_decline(high):
    admin = make_staff(roles.ADMIN)
    approval = risk_approval_decide(
        assessment=high, actor=admin, decision="decline", reason="source of wealth unclear"
    )
    assert approval.decision == "decline"


def test_the_maker_cannot_approve_their_own_assessment(high, compliance):
    with pytest.raises(RiskError, match="You ran this assessment, so another senior must"):
        risk_approval_decide(assessment=high, actor=compliance, decision="approve", reason="ok")


@pytest.mark.parametrize("role", [roles.FINANCE, roles.AUDITOR, roles.SALES_MANAGER])
def test_other_roles_cannot_approve(high, role):
    with pytest.raises(RiskError, match="Only compliance officers and administrators"):
        risk_approval_decide(
            assessment=high, actor=make_staff(role), decision="approve", reason="ok"
        )


def test_the_database_refuses_maker_as_checker_even_without_the_service(high, compliance):
    with (
        pytest.raises(IntegrityError, match="risk_approval_maker_is_not_checker"),
        transaction.atomic(),
    ):
        RiskApproval.objects.create(
            assessment=high,
            maker=compliance,
            approved_by=compliance,
            decision="approve",
            reason="self",
        )


def test_the_database_refuses_a_made_up_maker(high, compliance, second_compliance):
    # A bug that writes someone else as maker can't sneak the real maker through.
    with (
        pytest.raises(IntegrityError, match="maker must be who ran the assessment"),
        transaction.atomic(),
    ):
        RiskApproval.objects.create(
            assessment=high,
            maker=second_compliance,
            approved_by=compliance,
            decision="approve",
            reason="self",
        )


def test_a_system_assessment_may_be_approved_by_any_senior(second_compliance):
    high = assess_client(client=ClientFactory(), screening="strong")  # no actor: the system
    approval = risk_approval_decide(
        assessment=high, actor=second_compliance, decision="decline", reason="MLRO: freeze"
    )
    assert approval.maker is None


def test_only_high_needs_a_decision_and_only_once(high, second_compliance):
    low = assess_client(client=ClientFactory(), channel="face_to_face")
    with pytest.raises(RiskError, match="Only a high-risk assessment needs a senior decision"):
        risk_approval_decide(
            assessment=low, actor=second_compliance, decision="approve", reason="x"
        )
    risk_approval_decide(assessment=high, actor=second_compliance, decision="approve", reason="ok")
    with pytest.raises(RiskError, match="already approved by"):
        risk_approval_decide(
            assessment=high, actor=make_staff(roles.ADMIN), decision="decline", reason="no"
        )


def test_a_reason_is_required(high, second_compliance):
    with pytest.raises(RiskError, match="Give the reason") as exc:
        risk_approval_decide(
            assessment=high, actor=second_compliance, decision="approve", reason=" "
        )
    assert exc.value.field == "reason"


def test_a_superseded_assessment_is_not_decided(high, second_compliance):
    assess_client(client=high.client, pep="foreign")
    with pytest.raises(RiskError, match="A newer assessment of this client exists"):
        risk_approval_decide(
            assessment=high, actor=second_compliance, decision="approve", reason="x"
        )
