"""The risk queue in a real browser: at 375 px without sideways scrolling, the band chart
drawn under the strict CSP, and a senior approving what another compliance officer assessed."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from brokerage import roles
from kyc.riskscore.models import MonitoringAlert, RiskApproval
from kyc.riskscore.services import assess_client
from tests.browser import conftest as browser_fixtures
from tests.browser.conftest import PHONE, Tab
from tests.browser.test_signup_flow import _log_in, _totp_code
from tests.factories import PASSWORD, ClientFactory, make_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The browser fixtures live in tests/browser/conftest.py; this app's tests use the same ones.
browser = browser_fixtures.browser
tab = browser_fixtures.tab
_orm_beside_playwright = browser_fixtures._orm_beside_playwright


def test_a_senior_approves_high_risk_from_the_queue_on_a_phone(tab: Tab):
    maker = make_staff(roles.COMPLIANCE, first_name="Carla", last_name="Maker")
    checker = make_staff(roles.COMPLIANCE, first_name="Chen", last_name="Checker")
    client = ClientFactory(country="BA", user__first_name="Hana", user__last_name="Risk")
    assessment = assess_client(client=client, pep="foreign", actor=maker)
    assess_client(client=ClientFactory(), channel="face_to_face")
    now = timezone.now()
    MonitoringAlert.objects.create(
        rule="R7",
        client=client,
        dedupe_key="browser:r7",
        window_start=now,
        window_end=now,
        summary="Deposited 7,500.00 USD after 399 days without movement",
    )
    page = tab.page
    _log_in(tab, checker.email, PASSWORD)
    page.fill("input[name=code]", _totp_code(checker))
    page.get_by_role("button", name="Sign In").click()
    expect(page).to_have_url(re.compile(re.escape(reverse("brokerage:dashboard")) + "$"))

    page.goto(reverse("kyc_risk:overview"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Client risk")
    expect(page.locator("canvas[data-chart-ready]")).to_have_count(1)
    expect(page.get_by_text("after 399 days without movement")).to_be_visible()
    page.set_viewport_size(PHONE)
    # Chart.js resizes its canvas from a ResizeObserver, a frame after the viewport changes
    # (a page opened on a phone draws at phone width from the start).
    # (wait_for_function would evaluate a string in the page, which the CSP forbids.)
    for _ in range(30):
        if tab.scroll_width() <= PHONE["width"]:
            break
        page.wait_for_timeout(100)
    assert tab.scroll_width() <= PHONE["width"]
    tab.screenshots("backoffice-client-risk")

    page.get_by_role("link", name="Decide").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Senior decision: Hana Risk")
    page.set_viewport_size(PHONE)
    assert tab.scroll_width() <= PHONE["width"]
    page.get_by_role("button", name="Record the decision for Hana Risk").click()
    expect(page.get_by_text("Choose approve or decline.")).to_be_visible()
    page.get_by_label("Approve: accept this client at high risk").check()
    page.fill("#id_reason", "Source of wealth documented; EDD file 88.")
    page.get_by_role("button", name="Record the decision for Hana Risk").click()
    expect(page.get_by_text("High risk approved for Hana Risk.")).to_be_visible()
    approval = RiskApproval.objects.get()
    assert approval.assessment == assessment and approval.approved_by == checker
    assert tab.errors == []
