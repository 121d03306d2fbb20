"""A trader sends a document from a phone-sized screen (375 px): the camera-ready picker,
a refusal shown under the field, then a photo accepted and listed; nothing inline trips CSP."""

from __future__ import annotations

from unittest import mock

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from kyc.documents.models import Document
from kyc.documents.tests.factories import jpeg_bytes, pdf_bytes
from tests.browser import conftest as browser_fixtures
from tests.browser.conftest import PHONE, Tab
from tests.browser.test_signup_flow import _log_in
from tests.factories import PASSWORD, ClientFactory

# The browser fixtures live beside the project's other browser tests; used here as they are.
_orm_beside_playwright = browser_fixtures._orm_beside_playwright
browser = browser_fixtures.browser
tab = browser_fixtures.tab

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_trader_uploads_a_passport_photo_on_a_phone(tab: Tab, settings, tmp_path):
    settings.KYC_STORAGE_DIR = str(tmp_path)
    trader = ClientFactory()
    page = tab.page
    _log_in(tab, trader.user.email, PASSWORD)
    page.set_viewport_size(PHONE)
    page.goto(reverse("kyc_documents:portal-documents"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your documents")
    picker = page.get_by_label("Photo or PDF")
    expect(picker).to_have_attribute("capture", "environment")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    page.select_option("#id_kind", "passport")
    picker.set_input_files(
        {"name": "passport.jpg", "mimeType": "image/jpeg", "buffer": pdf_bytes()}
    )
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#id_file_error")).to_have_text(
        "The file is a PDF but its name ends in .jpg; rename it to .pdf or send another file."
    )
    assert not Document.objects.exists()

    page.select_option("#id_kind", "passport")
    picker.set_input_files(
        {"name": "IMG_0001.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes(gps=True)}
    )
    with mock.patch("kyc.documents.tasks.read_mrz.delay"):
        page.get_by_role("button", name="Upload").click()
        expect(page.get_by_text("your passport was received")).to_be_visible()
    row = page.locator("#document-list tbody tr").first
    expect(row).to_contain_text("Passport")
    expect(row).to_contain_text("Uploaded")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    tab.screenshots("portal-documents")
    assert tab.errors == []
