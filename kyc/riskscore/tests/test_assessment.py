from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessLog
from django.db import ProgrammingError, transaction
from django.utils import timezone

from kyc.riskscore.exceptions import RiskError
from kyc.riskscore.models import ClientRiskAssessment, MonitoringAlert
from kyc.riskscore.selectors import risk_summary
from kyc.riskscore.services import assess_client
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db


def fake_geoip(ip: str) -> str | None:
    return {"203.0.113.7": "IQ", "198.51.100.1": "FR"}.get(ip)


def test_an_assessment_stores_score_band_factors_inputs_version_and_review_date(compliance):
    client = ClientFactory(country="BA")
    assessment = assess_client(client=client, pep="domestic", channel="online", actor=compliance)
    assert assessment.score == 65 and assessment.band == "high"
    assert assessment.factors == [
        {
            "code": "country_residence",
            "points": 30,
            "reason": "Country of residence BA is listed: FATF grey list",
        },
        {"code": "pep", "points": 25, "reason": "Domestic politically exposed person"},
        {"code": "non_face_to_face", "points": 10, "reason": "Onboarded without meeting in person"},
    ]
    assert assessment.inputs["pep"] == "domestic" and assessment.inputs["screening"] == "clear"
    assert assessment.country_version.name == "FATF June 2026"
    assert assessment.assessed_by == compliance
    today = timezone.localdate()
    assert assessment.next_review_on == today.replace(year=today.year + 1)


def test_a_low_risk_client_is_reviewed_in_three_years():
    assessment = assess_client(client=ClientFactory(country="DE"), channel="face_to_face")
    assert (assessment.score, assessment.band) == (0, "low")
    assert assessment.next_review_on.year == timezone.localdate().year + 3


def test_an_assessment_is_immutable():
    assessment = assess_client(client=ClientFactory())
    with pytest.raises(ProgrammingError), transaction.atomic():
        ClientRiskAssessment.objects.filter(pk=assessment.pk).update(score=0)
    with pytest.raises(ProgrammingError), transaction.atomic():
        ClientRiskAssessment.objects.filter(pk=assessment.pk).delete()


def test_login_countries_count_when_a_resolver_is_configured(settings):
    client = ClientFactory(country="DE")
    for ip in ("198.51.100.1", "203.0.113.7"):
        AccessLog.objects.create(
            username=client.user.email,
            ip_address=ip,
            user_agent="x",
            http_accept="*/*",
            path_info="/accounts/login/",
        )
    without = assess_client(client=client, channel="face_to_face")
    assert without.score == 0
    assert without.inputs["ip_countries"] == "no IP-country resolver configured"
    settings.KYC_RISK_IP_COUNTRY_RESOLVER = f"{__name__}.fake_geoip"
    with_geoip = assess_client(client=client, channel="face_to_face")
    assert with_geoip.score == 30
    assert with_geoip.factors[0]["reason"] == "Recent login from IQ is listed: FATF grey list"
    assert with_geoip.inputs["ip_countries"] == ["FR", "IQ"]


def test_open_monitoring_alerts_raise_the_score():
    client = ClientFactory()
    now = timezone.now()
    for n in range(2):
        MonitoringAlert.objects.create(
            rule="R7",
            client=client,
            dedupe_key=f"t{n}",
            window_start=now - timedelta(days=1),
            window_end=now,
            summary="x",
        )
    assessment = assess_client(client=client, channel="face_to_face")
    assert assessment.score == 20
    assert assessment.factors[-1]["reason"] == "2 open transaction-monitoring alerts"


def test_a_confirmed_sanctions_hit_freezes_and_a_prohibited_country_prohibits():
    frozen = assess_client(client=ClientFactory(), screening="strong")
    assert frozen.freeze and frozen.band == "high"
    prohibited = assess_client(client=ClientFactory(country="KP"))
    assert prohibited.prohibited and prohibited.band == "high"


def test_bad_input_is_refused():
    with pytest.raises(RiskError, match="screening must be one of clear, alert, strong, unknown"):
        assess_client(client=ClientFactory(), screening="green")


def test_risk_summary_for_the_client_page(compliance):
    client = ClientFactory(country="BA")
    assert risk_summary(client=client).band_label == "Not assessed"
    assess_client(client=client, pep="foreign", actor=compliance)
    summary = risk_summary(client=client)
    assert (summary.score, summary.band, summary.approval) == (80, "high", "pending")
    assert "Domestic" not in " ".join(summary.reasons)
    assert summary.reasons[1].startswith("Foreign politically exposed person")
    assert summary.reasons[1].endswith("(+40)")
    assert not summary.review_overdue and summary.open_alerts == []
