from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from brokerage import roles
from kyc import hooks
from kyc.models import AmlCase, CaseState, KycCase
from kyc.services import aml_case_open, case_for_client
from tests.factories import ClientFactory, login_staff, make_staff

pytestmark = pytest.mark.django_db


def _submitted(name: str, waited_days: int = 0) -> KycCase:
    client = ClientFactory(user__first_name=name, user__last_name="Tester")
    doc = SimpleNamespace(client=client, pk=1, get_kind_display=lambda: "Passport")
    hooks.document_uploaded(document=doc)
    KycCase.objects.filter(client=client).update(
        state_since=timezone.now() - timedelta(days=waited_days)
    )
    return KycCase.objects.get(client=client)


@pytest.fixture
def officer(client):
    user = make_staff(roles.COMPLIANCE)
    login_staff(client, user)
    return user


def test_the_queue_shows_waiting_cases_longest_wait_first(client, officer):
    recent = _submitted("Recent", 0)
    old = _submitted("Old", 5)
    case_for_client(client=ClientFactory())  # documents requested: waits on the client
    page = client.get("/backoffice/kyc/").content.decode()
    assert page.index("Old Tester") < page.index("Recent Tester")
    assert "2 cases" in page
    assert 'class="age-old"' in page  # five days: flagged
    only_old = client.get("/backoffice/kyc/", {"older_than": "3d"}).content.decode()
    assert "Old Tester" in only_old and "Recent Tester" not in only_old
    assert f'href="/backoffice/kyc/cases/{recent.pk}/"' in page and old.pk


def test_bulk_assignment(client, officer):
    a, b = _submitted("Ann"), _submitted("Bob")
    response = client.post("/backoffice/kyc/", {"cases": [a.pk, b.pk], "assignee": officer.pk})
    assert response.status_code == 302
    assert set(KycCase.objects.filter(assigned_to=officer)) == {a, b}
    mine = client.get("/backoffice/kyc/", {"assigned": "me"}).content.decode()
    assert "Ann Tester" in mine and "Bob Tester" in mine
    client.post("/backoffice/kyc/", {"cases": [a.pk], "assignee": 0})
    a.refresh_from_db()
    assert a.assigned_to is None


def test_an_auditor_reads_the_queue_but_cannot_assign_or_decide(client):
    case = _submitted("Carl")
    login_staff(client, make_staff(roles.AUDITOR))
    assert client.get(f"/backoffice/kyc/cases/{case.pk}/").status_code == 200
    assert client.post("/backoffice/kyc/", {"cases": [case.pk], "assignee": 0}).status_code == 403
    response = client.post(
        f"/backoffice/kyc/cases/{case.pk}/", {"decision": "reject", "reason": "other", "note": "x"}
    )
    assert response.status_code == 403
    case.refresh_from_db()
    assert case.state == CaseState.SUBMITTED


def test_a_decision_form_shows_field_errors_and_records_nothing(client, officer):
    case = _submitted("Dora")
    response = client.post(f"/backoffice/kyc/cases/{case.pk}/", {"decision": "reject"})
    assert response.status_code == 200
    assert "Choose a reason." in response.content.decode()
    case.refresh_from_db()
    assert case.state == CaseState.SUBMITTED


def test_resubmit_from_the_case_page(client, officer):
    case = _submitted("Eve")
    response = client.post(
        f"/backoffice/kyc/cases/{case.pk}/",
        {"decision": "resubmit", "reason": "document_unreadable", "note": "blurred"},
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == CaseState.RESUBMIT
    page = client.get(f"/backoffice/kyc/cases/{case.pk}/").content.decode()
    assert "Document unreadable or cut off" in page and "blurred" in page


def test_the_officer_clears_an_aml_case_from_the_case_page(client, officer):
    case = _submitted("Fay")
    aml = aml_case_open(
        client=case.client, source="screening", reference="r", summary="SDN 99", freezes=True
    )
    url = f"/backoffice/kyc/cases/{case.pk}/"
    assert "deposits and trading frozen" in client.get(url).content.decode()
    client.post(url, {"aml_case": aml.pk, "outcome": "clear", "note": "Other DOB."})
    aml.refresh_from_db()
    assert aml.status == AmlCase.Status.CLEARED and aml.decided_by == officer


def test_another_clients_aml_case_cannot_be_decided_through_this_page(client, officer):
    case = _submitted("Gus")
    other = aml_case_open(
        client=ClientFactory(), source="screening", reference="r", summary="x", freezes=True
    )
    response = client.post(
        f"/backoffice/kyc/cases/{case.pk}/", {"aml_case": other.pk, "outcome": "clear", "note": "n"}
    )
    assert response.status_code == 404
    other.refresh_from_db()
    assert other.status == AmlCase.Status.OPEN


def test_the_funnel_counts_each_step_and_the_median_time(client, officer):
    _submitted("Hal")
    ClientFactory()
    page = client.get("/backoffice/kyc/funnel/").content.decode()
    assert "Verification funnel" in page and 'data-chart="bar"' in page
    assert '<td>Submitted documents</td><td class="num">1</td>' in page


def test_the_portal_tells_the_client_what_they_may_do_and_what_next(client, owner):
    client.force_login(owner)
    page = client.get("/portal/verification/").content.decode()
    assert "Documents requested" in page
    assert "Upload a passport or national ID card" in page
    assert "Depositing needs identity verified status (level 1)" in page


def test_signing_up_opens_a_case_and_screens_the_name_after_commit(
    client, monkeypatch, django_capture_on_commit_callbacks
):
    from kyc.screening import tasks

    sent = []
    monkeypatch.setattr(
        tasks.screen_client, "apply_async", lambda args, queue: sent.append((args, queue))
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/accounts/signup/",
            {
                "first_name": "Ada",
                "last_name": "Byron",
                "email": "ada@example.test",
                "password1": "a-long-passphrase-1815",
                "password2": "a-long-passphrase-1815",
            },
        )
    assert response.status_code == 302
    case = KycCase.objects.get(client__user__email="ada@example.test")
    assert case.state == CaseState.DOCS_REQUESTED
    assert sent == [([case.client_id, "onboarding"], "default")]
