"""The verification case: its state machine, staff decisions, AML cases, and the hooks the
KYC parts report through."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.core import mail

from brokerage import roles
from kyc import hooks
from kyc.exceptions import KycError
from kyc.models import AmlCase, CaseState, CaseTransition, Reason
from kyc.policy import kyc_may
from kyc.riskscore.models import ClientRiskAssessment
from kyc.screening.services import screen_client, watchlist_load
from kyc.screening.tests.conftest import OFAC_CSV
from kyc.services import aml_case_decide, aml_case_open, case_decide, case_for_client, case_move
from tests.factories import ClientFactory, make_staff
from wallets.ledger.services import Leg, house_account, ledger_transfer, wallet_for_client

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def officer():
    return make_staff(roles.COMPLIANCE)


@pytest.fixture
def case():
    return case_for_client(client=ClientFactory())


@pytest.fixture
def ofac(db):
    return watchlist_load(fmt="ofac-csv", paths=OFAC_CSV)


def _named(first: str, last: str, country: str = "DE"):
    return case_for_client(
        client=ClientFactory(user__first_name=first, user__last_name=last, country=country)
    )


def _document(client, pk=1):
    return SimpleNamespace(client=client, pk=pk, get_kind_display=lambda: "Passport")


def _deposit(client, amount: str, key: str) -> None:
    wallet = wallet_for_client(client=client, currency="USD")
    clearing = house_account(kind="psp_clearing", currency="USD", label="kyc-test")
    ledger_transfer(
        source="test.deposit",
        key=key,
        legs=[Leg(clearing, "D", D(amount)), Leg(wallet, "C", D(amount))],
    )


def test_an_upload_submits_the_case_and_the_move_is_recorded(case):
    hooks.document_uploaded(document=_document(case.client))
    case.refresh_from_db()
    assert case.state == CaseState.SUBMITTED
    [move] = CaseTransition.objects.filter(case=case)
    assert (move.from_state, move.to_state, move.source) == (
        "docs_requested",
        "submitted",
        "client",
    )
    assert move.actor == case.client.user
    # A second upload while submitted changes nothing.
    hooks.document_uploaded(document=_document(case.client, pk=2))
    assert CaseTransition.objects.filter(case=case).count() == 1


def test_a_move_the_map_does_not_allow_is_refused_and_records_nothing(case):
    with pytest.raises(KycError, match="documents requested can't become approved"):
        case_move(case=case, to=CaseState.APPROVED, source="staff")
    case.refresh_from_db()
    assert case.state == CaseState.DOCS_REQUESTED and not case.transitions.exists()


def test_approval_raises_the_level_and_tells_the_client(
    case, officer, django_capture_on_commit_callbacks
):
    hooks.document_uploaded(document=_document(case.client))
    mail.outbox.clear()
    with pytest.raises(KycError, match="needs a clear screening; the latest is not screened"):
        case_decide(case=case, actor=officer, decision="approve", reason="", level=2)
    with django_capture_on_commit_callbacks(execute=True):
        case_decide(case=case, actor=officer, decision="approve", reason="", level=1, note="ok")
    case.refresh_from_db()
    assert (case.state, case.level) == (CaseState.APPROVED, 1)
    assert case.approved_at is not None
    [message] = mail.outbox
    assert message.to == [case.client.user.email]
    assert "Your account is verified." in message.body
    assert kyc_may(client=case.client, action="open_live_account").allowed


@pytest.mark.parametrize(("decision", "state"), [("resubmit", "resubmit"), ("reject", "rejected")])
def test_staff_ask_again_or_reject_with_a_reason_the_client_reads(case, officer, decision, state):
    hooks.document_uploaded(document=_document(case.client))
    with pytest.raises(KycError, match="Choose a reason"):
        case_decide(case=case, actor=officer, decision=decision, reason="")
    with pytest.raises(KycError, match="Explain the reason"):
        case_decide(case=case, actor=officer, decision=decision, reason=Reason.OTHER, note=" ")
    case_decide(case=case, actor=officer, decision=decision, reason=Reason.DOCUMENT_EXPIRED)
    case.refresh_from_db()
    assert case.state == state
    assert "Reason: Document expired." in case.client_message
    assert case.transitions.last().reason == Reason.DOCUMENT_EXPIRED


def test_only_compliance_decides(case):
    support = make_staff(roles.SUPPORT)
    hooks.document_uploaded(document=_document(case.client))
    with pytest.raises(KycError, match="Only compliance"):
        case_decide(case=case, actor=support, decision="approve", reason="", level=1)


def test_a_strong_screening_hit_freezes_and_opens_one_aml_case(ofac, officer):
    case = _named("Hasan", "Nasrallah", country="LB")
    client = case.client
    case_decide(case=case, actor=officer, decision="review", reason=Reason.OTHER, note="start")
    first = screen_client(client=client, trigger="onboarding")
    assert first.decision == "strong"
    screen_client(client=client, trigger="nightly")  # the nightly re-screen finds it again
    [aml] = AmlCase.objects.filter(client=client)
    assert aml.freezes and aml.status == AmlCase.Status.OPEN
    assert "Hasan NASRALLAH" in aml.summary and aml.reference == "screening:ofac:2686"
    case.refresh_from_db()
    assert case.state == CaseState.SCREENING_HOLD
    verdict = kyc_may(client=client, action="deposit", amount=D("10"), currency="USD")
    assert not verdict.allowed and "compliance team" in verdict.reason
    # Each screening refreshed the risk score: strong forces High.
    assert ClientRiskAssessment.objects.filter(client=client).latest("pk").band == "high"
    # Nobody is rejected on a name alone: the officer decides, with a reason on record.
    with pytest.raises(KycError, match="why"):
        aml_case_decide(aml=aml, actor=officer, confirmed=False, note="")
    aml_case_decide(aml=aml, actor=officer, confirmed=False, note="Different DOB and country.")
    case.refresh_from_db()
    assert case.state == CaseState.UNDER_REVIEW
    assert case.transitions.last().reason == Reason.SCREENING_CLEARED


def test_a_clear_screening_opens_nothing_and_allows_level_two(ofac, officer):
    case = _named("Margarethe", "Lindqvist-Obuya")
    hooks.document_uploaded(document=_document(case.client))
    assert screen_client(client=case.client, trigger="onboarding").decision == "clear"
    assert not AmlCase.objects.filter(client=case.client).exists()
    case_decide(case=case, actor=officer, decision="approve", reason="", level=2)
    case.refresh_from_db()
    assert case.level == 2 and kyc_may(client=case.client, action="withdraw").allowed


def test_a_confirmed_match_rejects_the_case(case, officer):
    aml = aml_case_open(
        client=case.client, source="screening", reference="x", summary="hit", freezes=True
    )
    aml_case_decide(aml=aml, actor=officer, confirmed=True, note="Same passport number.")
    case.refresh_from_db()
    assert (case.state, case.level) == (CaseState.REJECTED, 0)


def test_an_alert_blocks_approval_until_decided_but_does_not_freeze(case, officer):
    client = case.client
    hooks.document_uploaded(document=_document(client))
    aml_case_open(
        client=client, source="screening", reference="weak", summary="weak alias", freezes=False
    )
    aml = AmlCase.objects.get(client=client)
    assert kyc_may(client=client, action="convert").allowed  # an alert alone freezes nothing
    with pytest.raises(KycError, match="AML case is open"):
        case_decide(case=case, actor=officer, decision="approve", reason="", level=1)
    aml_case_decide(aml=aml, actor=officer, confirmed=False, note="Not him.")
    case_decide(case=case, actor=officer, decision="approve", reason="", level=1)


@pytest.mark.parametrize(
    ("state", "labels", "expected", "aml"),
    [
        ("submitted", [], "submitted", 0),
        ("resubmit", [], "resubmit", 0),
        ("approved", [], "approved", 0),
        ("rejected", ["SANCTIONS"], "screening_hold", 1),  # frozen, then held for the MLRO
        ("approved", ["PEP"], "screening_hold", 1),  # GREEN with an open alert
    ],
)
def test_provider_verdicts_move_the_case(case, state, labels, expected, aml):
    hooks.document_uploaded(document=_document(case.client))
    hooks.provider_review(
        client=case.client,
        provider="sumsub",
        state=state,
        reasons=["UNSATISFACTORY_PHOTOS"] if state == "resubmit" else [],
        aml_labels=labels,
        client_message="Please retake the photo in daylight.",
        event_id=3,
    )
    case.refresh_from_db()
    assert case.state == expected
    assert AmlCase.objects.filter(client=case.client).count() == aml
    if expected == "resubmit":
        assert case.client_message == "Please retake the photo in daylight."
    if expected == "approved":
        assert case.level == 1


def test_a_provider_verdict_out_of_turn_is_left_alone(case, officer):
    hooks.document_uploaded(document=_document(case.client))
    case_decide(case=case, actor=officer, decision="approve", reason="", level=1)
    hooks.provider_review(
        client=case.client, provider="sumsub", state="submitted", reasons=[], aml_labels=[]
    )
    case.refresh_from_db()
    assert case.state == CaseState.APPROVED


def test_level_one_deposits_are_limited_and_level_two_is_not(case, officer, settings):
    client = case.client
    settings.KYC_POLICY = {"deposit": {"limit": "1000", "limit_currency": "USD"}}
    assert not kyc_may(client=client, action="deposit", amount=D("10"), currency="USD").allowed
    case.level = 1
    case.save()
    _deposit(client, "900", "k1")
    verdict = kyc_may(client=client, action="deposit", amount=D("100"), currency="USD")
    assert verdict.allowed and verdict.remaining == D("100")
    verdict = kyc_may(client=client, action="deposit", amount=D("100.01"), currency="USD")
    assert not verdict.allowed and "100.00 USD is left" in verdict.reason
    assert not kyc_may(client=client, action="withdraw").allowed
    case.level = 2
    case.save()
    assert kyc_may(client=client, action="deposit", amount=D("50000"), currency="USD").allowed
    assert kyc_may(client=client, action="withdraw").allowed


def test_an_unknown_action_is_a_programming_error(case):
    with pytest.raises(ValueError, match="Unknown KYC action"):
        kyc_may(client=case.client, action="fly")
