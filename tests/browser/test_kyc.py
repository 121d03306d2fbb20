"""Compliance works the KYC queue on a phone: sees who waits longest, takes the case, asks the
client to upload again with a reason; the client reads it in the portal."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from brokerage import roles
from kyc import hooks
from kyc.models import CaseState, KycCase
from tests.factories import PASSWORD, ClientFactory, make_staff

from .conftest import PHONE, Tab
from .test_signup_flow import _log_in, _totp_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_compliance_asks_a_client_to_upload_again_and_the_client_reads_why(tab: Tab):
    trader = ClientFactory(user__first_name="Nora", user__last_name="Quist")
    hooks.document_uploaded(
        document=SimpleNamespace(client=trader, pk=1, get_kind_display=lambda: "Passport")
    )
    officer = make_staff(roles.COMPLIANCE, first_name="Cora", last_name="Compliance")
    page = tab.page
    _log_in(tab, officer.email, PASSWORD)
    page.fill("input[name=code]", _totp_code(officer))
    page.get_by_role("button", name="Sign In").click()
    expect(page).to_have_url(re.compile(re.escape(reverse("brokerage:dashboard")) + "$"))

    page.goto(reverse("kyc:queue"))
    row = page.get_by_role("row").filter(has_text="Nora Quist")
    expect(row).to_contain_text("Submitted")
    page.set_viewport_size(PHONE)
    assert tab.scroll_width() <= PHONE["width"]
    tab.screenshots("backoffice-kyc-queue")

    row.get_by_role("checkbox").check()
    page.select_option("#id_assignee", label="Cora Compliance")
    page.get_by_role("button", name="Assign").click()
    expect(page.get_by_text("1 case assigned to Cora Compliance.")).to_be_visible()

    page.get_by_role("link", name="Nora Quist").click()
    page.set_viewport_size(PHONE)
    assert tab.scroll_width() <= PHONE["width"]
    page.get_by_label("Ask the client to upload again").check()
    page.select_option("#id_reason", "document_unreadable")
    page.fill("#id_note", "Glare over the photo page.")
    tab.screenshots("backoffice-kyc-case")
    page.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_text("Decision recorded; the client has been told.")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Resubmission needed")
    assert KycCase.objects.get(client=trader).state == CaseState.RESUBMIT

    page.goto(reverse("kyc:funnel"))
    expect(page.locator("canvas[data-chart]")).to_be_visible()
    tab.screenshots("backoffice-kyc-funnel")

    page.context.clear_cookies()
    _log_in(tab, trader.user.email, PASSWORD)
    page.goto(reverse("kyc:verification"))
    expect(page.get_by_text("Reason: Document unreadable or cut off.")).to_be_visible()
    page.set_viewport_size(PHONE)
    assert tab.scroll_width() <= PHONE["width"]
    tab.screenshots("portal-verification")
    assert tab.errors == []
