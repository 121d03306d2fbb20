"""The back-office list of provider events (who may open it: tests/test_access_matrix.py)."""

from __future__ import annotations

import pytest

from brokerage import roles
from kyc.providers.models import WebhookEvent
from tests.factories import login_staff, make_staff

pytestmark = pytest.mark.django_db


def _event(**fields) -> WebhookEvent:
    defaults = {"provider": "sumsub", "event_type": "applicantReviewed", "raw_body": b"{}"}
    return WebhookEvent.objects.create(**(defaults | fields))


def test_compliance_sees_recent_events_and_filters_them(client, kyc_client):
    _event(dedupe_key="a", client=kyc_client, outcome="processed", state="approved")
    _event(
        provider="shuftipro",
        event_type="verification.accepted",
        dedupe_key="b",
        external_ref="not-ours-123",
        outcome="unknown_client",
        error="No client has reference 'not-ours-123' (applicant '').",
    )
    login_staff(client, make_staff(roles.COMPLIANCE))

    everything = client.get("/backoffice/kyc/provider-events/")
    unknown = client.get("/backoffice/kyc/provider-events/?outcome=unknown_client")
    sumsub_only = client.get("/backoffice/kyc/provider-events/?provider=sumsub")

    assert everything.status_code == 200
    assert b"applicantReviewed" in everything.content
    assert b"verification.accepted" in everything.content
    assert b"not-ours-123" in unknown.content and b"applicantReviewed" not in unknown.content
    assert b"verification.accepted" not in sumsub_only.content


def test_an_unknown_filter_value_shows_everything(client):
    _event(dedupe_key="a")
    login_staff(client, make_staff(roles.AUDITOR))

    response = client.get("/backoffice/kyc/provider-events/?provider=<script>&outcome=nope")

    assert response.status_code == 200
    assert b"applicantReviewed" in response.content
