"""Periodic reviews, the country-lists page, the client-page card, and two seniors at once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.utils import timezone

from brokerage import roles
from kyc.riskscore import tasks
from kyc.riskscore.exceptions import RiskError
from kyc.riskscore.models import RiskApproval
from kyc.riskscore.selectors import risk_summary
from kyc.riskscore.services import assess_client, assessments_refresh_due, risk_approval_decide
from tests.factories import ClientFactory, login_staff, make_staff


@pytest.mark.django_db
def test_a_client_due_for_review_is_reassessed_with_the_same_inputs_once():
    client = ClientFactory(country="DE")
    first = assess_client(client=client, pep="domestic", channel="face_to_face")
    assert first.next_review_on.year == timezone.localdate().year + 3
    assert assessments_refresh_due() == 0
    later = first.next_review_on + timedelta(days=1)
    assert assessments_refresh_due(today=later) == 1
    second = client.risk_assessments.order_by("-id").first()
    assert second.pk != first.pk and second.assessed_by is None
    assert (second.inputs["pep"], second.inputs["channel"], second.score) == (
        "domestic",
        "face_to_face",
        25,
    )
    assert assessments_refresh_due() == 0  # the new one is not due
    assert tasks.refresh_due() == 0


@pytest.mark.django_db
def test_the_country_lists_page_shows_the_active_version(client):
    login_staff(client, make_staff(roles.AUDITOR))
    body = client.get("/backoffice/kyc/risk/countries/").content.decode()
    assert "FATF June 2026" in body and "Active" in body
    assert "FATF increased monitoring (grey list)" in body
    assert "AO, BA, BG, BO" in body


@pytest.mark.django_db
def test_the_client_page_card_shows_band_reasons_and_alerts(compliance):
    client = ClientFactory(country="BA")
    request = RequestFactory().get("/")
    request.user = compliance
    empty = render_to_string(
        "kyc_risk/includes/client_summary.html",
        {"risk": risk_summary(client=client), "client": client, "perms": _perms(compliance)},
        request=request,
    )
    assert "Not assessed yet." in empty and f"/clients/{client.pk}/assess/" in empty
    assess_client(client=client, pep="foreign", actor=compliance)
    card = render_to_string(
        "kyc_risk/includes/client_summary.html",
        {"risk": risk_summary(client=client), "client": client, "perms": _perms(compliance)},
        request=request,
    )
    assert "High risk" in card and "Awaiting senior approval" in card
    assert "Country of residence BA is listed: FATF grey list (+30)" in card


def _perms(user):
    from django.contrib.auth.context_processors import PermWrapper

    return PermWrapper(user)


@pytest.mark.django_db(transaction=True)
def test_two_seniors_deciding_at_once_record_one_decision():
    maker = make_staff(roles.COMPLIANCE)
    seniors = [make_staff(roles.COMPLIANCE), make_staff(roles.ADMIN)]
    high = assess_client(client=ClientFactory(country="BA"), pep="foreign", actor=maker)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def decide(senior, decision):
        try:
            barrier.wait()
            risk_approval_decide(assessment=high, actor=senior, decision=decision, reason="r")
            outcomes.append("decided")
        except RiskError as exc:
            outcomes.append(exc.message)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=decide, args=(seniors[0], "approve")),
        threading.Thread(target=decide, args=(seniors[1], "decline")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outcomes) == 2 and outcomes.count("decided") == 1
    [refused] = [o for o in outcomes if o != "decided"]
    assert refused.startswith("This assessment was already")
    assert RiskApproval.objects.filter(assessment=high).count() == 1
