"""Signed provider webhooks all the way to the verification case (the real hook, no
recorder): what compliance and the client see after each verdict."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kyc.models import AmlCase, CaseState, KycCase
from kyc.policy import kyc_may
from kyc.providers.tests import fakes

pytestmark = pytest.mark.django_db


def _case(client) -> KycCase:
    return KycCase.objects.get(client=client)


def test_sumsub_pending_then_green_approves_at_level_one(deliver, sumsub_applicant):
    ref = sumsub_applicant.external_id
    first = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    deliver("sumsub", *fakes.sumsub_webhook(
        type="applicantPending", review_status="pending", external_user_id=ref,
        created_at=first,
    ))  # fmt: skip
    assert _case(sumsub_applicant.client).state == CaseState.SUBMITTED
    deliver("sumsub", *fakes.sumsub_webhook(
        type="applicantReviewed", review_answer="GREEN", external_user_id=ref,
        created_at=first + timedelta(minutes=4),
    ))  # fmt: skip
    case = _case(sumsub_applicant.client)
    assert (case.state, case.level) == (CaseState.APPROVED, 1)
    assert kyc_may(client=case.client, action="open_live_account").allowed
    assert [t.source for t in case.transitions.all()] == ["provider", "provider"]


def test_sumsub_red_with_a_sanctions_label_freezes_and_waits_for_the_mlro(
    deliver, sumsub_applicant
):
    deliver("sumsub", *fakes.sumsub_webhook(
        type="applicantReviewed", review_answer="RED", reject_type="FINAL",
        reject_labels=["SANCTIONS"], moderation_comment="We can't verify you.",
        external_user_id=sumsub_applicant.external_id,
    ))  # fmt: skip
    client = sumsub_applicant.client
    assert _case(client).state == CaseState.SCREENING_HOLD
    aml = AmlCase.objects.get(client=client)
    assert aml.freezes and aml.status == AmlCase.Status.OPEN
    assert not kyc_may(client=client, action="deposit").allowed
