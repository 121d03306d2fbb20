"""The back-office risk pages: who sees what, the decision forms and their errors."""

from __future__ import annotations

import json
import re

import pytest
from django.utils import timezone

from brokerage import roles
from kyc.riskscore.models import MonitoringAlert, RiskApproval
from kyc.riskscore.services import assess_client
from tests.factories import ClientFactory, login_staff, make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def high(compliance):
    client = ClientFactory(country="BA", user__first_name="Hana", user__last_name="Risk")
    return assess_client(client=client, pep="foreign", actor=compliance)


@pytest.fixture
def alert(db):
    now = timezone.now()
    return MonitoringAlert.objects.create(
        rule="R2",
        client=ClientFactory(user__first_name="Sam", user__last_name="Split"),
        dedupe_key="R2:journal:1",
        window_start=now,
        window_end=now,
        summary="3 deposits in 7 days, each just under the 10,000 USD threshold",
        evidence={"journal_ids": [1, 2, 3]},
    )


def test_overview_lists_pending_high_risk_open_alerts_and_the_band_chart(
    client, high, alert, second_compliance
):
    assess_client(client=ClientFactory(), channel="face_to_face")
    login_staff(client, second_compliance)
    response = client.get("/backoffice/kyc/risk/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Hana Risk" in body and "Foreign politically exposed person" in body
    assert "Country of residence BA is listed: FATF grey list (+30)" in body
    assert f'href="/backoffice/kyc/risk/assessments/{high.pk}/decide/"' in body
    assert "Sam Split" in body and "just under the 10,000 USD threshold" in body
    chart = json.loads(re.search(r'id="bands-data"[^>]*>(.*?)</script>', body, re.S).group(1))
    assert chart["labels"] == ["Low", "Medium", "High"] and chart["values"] == [1, 0, 1]
    assert 'data-chart="bar"' in body
    # CSP: no inline script other than the JSON data block.
    assert re.findall(r"<script(?![^>]*(src=|application/json))", body) == []


def test_overview_has_empty_states(client, compliance):
    login_staff(client, compliance)
    body = client.get("/backoffice/kyc/risk/").content.decode()
    assert "No high-risk client waits for a decision." in body
    assert "No open alerts." in body


def test_the_maker_sees_no_decide_link_and_is_told_why(client, high, compliance):
    login_staff(client, compliance)
    overview = client.get("/backoffice/kyc/risk/").content.decode()
    assert f"/assessments/{high.pk}/decide/" not in overview
    page = client.get(f"/backoffice/kyc/risk/assessments/{high.pk}/decide/").content.decode()
    assert "You ran this assessment, so another compliance officer" in page
    assert 'name="decision"' not in page


def test_senior_decision_form_shows_field_errors_and_keeps_input(client, high, second_compliance):
    login_staff(client, second_compliance)
    url = f"/backoffice/kyc/risk/assessments/{high.pk}/decide/"
    response = client.post(url, {"decision": "approve", "reason": ""})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Give the reason for your decision: it is kept on file." in body
    assert re.search(r'value="approve"[^>]*checked', body)
    response = client.post(url, {"reason": "checked source of funds"})
    assert "Choose approve or decline." in response.content.decode()
    assert "checked source of funds" in response.content.decode()
    assert not RiskApproval.objects.exists()


def test_senior_approves(client, high, second_compliance):
    login_staff(client, second_compliance)
    url = f"/backoffice/kyc/risk/assessments/{high.pk}/decide/"
    response = client.post(url, {"decision": "approve", "reason": "EDD complete"})
    assert response.status_code == 302 and response["Location"] == "/backoffice/kyc/risk/"
    approval = RiskApproval.objects.get()
    assert approval.approved_by == second_compliance and approval.reason == "EDD complete"
    page = client.get(f"/backoffice/kyc/risk/assessments/{high.pk}/").content.decode()
    assert "Approved" in page and "EDD complete" in page
    again = client.post(url, {"decision": "decline", "reason": "changed my mind"})
    assert "already approved by" in again.content.decode().lower()
    assert RiskApproval.objects.count() == 1


def test_an_auditor_sees_but_cannot_decide(client, high, alert):
    auditor = make_staff(roles.AUDITOR)
    login_staff(client, auditor)
    page = client.get(f"/backoffice/kyc/risk/assessments/{high.pk}/").content.decode()
    assert "Only compliance officers and administrators may approve high risk." in page
    assert client.get(f"/backoffice/kyc/risk/assessments/{high.pk}/decide/").status_code == 403
    url = f"/backoffice/kyc/risk/alerts/{alert.pk}/"
    assert client.post(url, {"status": "dismissed", "note": "x"}).status_code == 403
    alert.refresh_from_db()
    assert alert.status == "open"


def test_compliance_escalates_an_alert_with_a_note(client, alert, compliance):
    login_staff(client, compliance)
    url = f"/backoffice/kyc/risk/alerts/{alert.pk}/"
    missing = client.post(url, {"status": "escalated", "note": ""})
    assert "Say why: the note is kept with the alert." in missing.content.decode()
    response = client.post(url, {"status": "escalated", "note": "SAR candidate"})
    assert response.status_code == 302
    alert.refresh_from_db()
    assert (alert.status, alert.decided_by, alert.decision_note) == (
        "escalated",
        compliance,
        "SAR candidate",
    )
    assert "Sam Split" not in client.get("/backoffice/kyc/risk/").content.decode()


def test_assess_a_client_from_the_back_office(client, compliance):
    target = ClientFactory(country="MC", user__first_name="Mona")
    login_staff(client, compliance)
    url = f"/backoffice/kyc/risk/clients/{target.pk}/assess/"
    assert "Risk assessment: Mona" in client.get(url).content.decode()
    response = client.post(
        url, {"pep": "domestic", "screening": "clear", "channel": "online"}, follow=True
    )
    body = response.content.decode()
    assert "score 65, High risk. Another senior must approve it." in body
    assessment = target.risk_assessments.get()
    assert assessment.assessed_by == compliance and assessment.inputs["adverse_media"] is False


def test_a_sales_agent_cannot_assess_clients(client):
    agent = make_staff(roles.SALES_AGENT)
    login_staff(client, agent)
    target = ClientFactory(assigned_agent=agent)
    assert client.get(f"/backoffice/kyc/risk/clients/{target.pk}/assess/").status_code == 403


def test_unknown_objects_are_404(client, compliance):
    login_staff(client, compliance)
    assert client.get("/backoffice/kyc/risk/assessments/999999/").status_code == 404
    assert client.get("/backoffice/kyc/risk/alerts/999999/").status_code == 404
    assert client.get("/backoffice/kyc/risk/clients/999999/assess/").status_code == 404
