from __future__ import annotations

import pytest

from brokerage import roles
from kyc.screening.models import Screening
from kyc.screening.services import screen_client
from tests.factories import ClientFactory, UserFactory, login_staff, make_staff

pytestmark = pytest.mark.django_db
URL = "/backoffice/screening/"


def test_compliance_screens_a_name_without_storing_it(client, lists):
    login_staff(client, make_staff(roles.COMPLIANCE))
    response = client.get(URL, {"name": "Nasrallah Hasan", "dob": "1960", "country": "LB"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Hasan NASRALLAH" in page and "ofac:2686" in page
    assert 'Decision: <span class="status status-bad">strong</span>' in page
    assert not Screening.objects.exists()


def test_page_lists_active_versions_and_recent_alerts(client, lists):
    alerted = ClientFactory(user=UserFactory(first_name="Alena", last_name="Kovalchuk"))
    screen_client(client=alerted, trigger="manual")
    login_staff(client, make_staff(roles.AUDITOR))
    page = client.get(URL).content.decode()
    assert "UN Security Council" in page and "EU Financial Sanctions" in page
    assert "Alena Kovalchuk" in page
    assert f"/backoffice/clients/{alerted.pk}/" in page


def test_bad_date_of_birth_is_shown_not_screened(client, lists):
    login_staff(client, make_staff(roles.COMPLIANCE))
    page = client.get(URL, {"name": "Hasan Nasrallah", "dob": "31/08/1960"}).content.decode()
    assert "Use YYYY, YYYY-MM or YYYY-MM-DD." in page
    assert "Decision:" not in page


def test_sales_and_traders_may_not_open_it(client, owner):
    login_staff(client, make_staff(roles.SALES_AGENT))
    assert client.get(URL).status_code == 403
    client.force_login(owner)
    assert client.get(URL).status_code == 403
