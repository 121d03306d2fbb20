"""A trader's wallets on a phone and a desktop: cards, a statement, and a conversion that
shows its quote before anything moves; finance approves an adjustment someone else asked for."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from brokerage import roles
from tests.factories import PASSWORD, ClientFactory, make_staff
from wallets.ledger.services import Leg, house_account, ledger_transfer, wallet_for_client
from wallets.models import FxRate, Journal
from wallets.services import adjustment_request

from .conftest import PHONE, Tab
from .test_signup_flow import _log_in, _totp_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _deposit(wallet, amount: str, key: str, memo: str = "Card deposit") -> None:
    clearing = house_account(kind="psp_clearing", currency=wallet.currency_id, label="demo")
    ledger_transfer(
        source="browser",
        key=key,
        legs=[Leg(clearing, "D", Decimal(amount)), Leg(wallet, "C", Decimal(amount))],
        memo=memo,
    )


def test_a_trader_reads_their_wallets_and_converts_after_seeing_the_quote(tab: Tab):
    trader = ClientFactory(user__first_name="Liam", user__last_name="Novak")
    usd = wallet_for_client(client=trader, currency="USD")
    _deposit(usd, "1250.00", "d1")
    _deposit(usd, "80.00", "d2")
    _deposit(wallet_for_client(client=trader, currency="USDT"), "1000.500000", "d3", "USDT deposit")
    bank = house_account(kind="bank_omnibus", currency="USD")
    ledger_transfer(
        source="browser",
        key="w1",
        legs=[Leg(usd, "D", Decimal("230.25")), Leg(bank, "C", Decimal("230.25"))],
        memo="Bank withdrawal",
    )
    FxRate.objects.create(base_id="USD", quote_id="EUR", rate=Decimal("0.92345"))
    FxRate.objects.create(base_id="USDT", quote_id="USD", rate=Decimal("0.999"))
    page = tab.page
    _log_in(tab, trader.user.email, PASSWORD)

    page.goto(reverse("wallets:wallet-list"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Wallets")
    usd_card = page.get_by_role("article", name="USD wallet")
    expect(usd_card).to_contain_text("1,099.75 USD")
    page.set_viewport_size(PHONE)
    assert tab.scroll_width() <= PHONE["width"]
    tab.screenshots("portal-wallets")

    page.goto(reverse("wallets:statement", args=["USD"]))
    expect(page.get_by_role("heading", level=1)).to_have_text("USD statement")
    expect(page.locator(".money.negative").first).to_have_text("-230.25\u00a0USD")
    page.set_viewport_size(PHONE)
    assert tab.scroll_width() <= PHONE["width"]
    tab.screenshots("portal-statement")
    # Filtering swaps only the table (htmx) and keeps the URL shareable.
    page.select_option("#id_kind", "conversion")
    expect(page.get_by_text("No entries match these filters.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"kind=conversion"))

    page.goto(reverse("wallets:convert") + "?from=USD")
    page.select_option("#id_buy", "EUR")
    page.fill("#id_amount", "100")
    page.get_by_role("button", name="See the rate").click()
    expect(
        page.get_by_text("Convert 100.00 USD to 91.88 EUR at 0.92345 (fee 0.46 EUR)")
    ).to_be_visible()
    assert not Journal.objects.filter(kind="conversion").exists()
    page.set_viewport_size(PHONE)
    assert tab.scroll_width() <= PHONE["width"]
    tab.screenshots("portal-convert-confirm")
    confirm = page.get_by_role("button", name="Convert 100.00 USD to 91.88 EUR")
    # A double click is one conversion.
    confirm.dblclick()
    expect(page.get_by_text("Converted 100.00 USD to 91.88 EUR.")).to_be_visible()
    assert Journal.objects.filter(kind="conversion").count() == 1

    page.goto(reverse("wallets:convert") + "?from=USD&to=EUR&amount=5000")
    page.get_by_role("button", name="See the rate").click()
    expect(page.get_by_text("You have 999.75 USD available.")).to_be_visible()
    page.set_viewport_size(PHONE)
    tab.screenshots("portal-convert-refused")
    assert tab.errors == []


def test_finance_approves_an_adjustment_another_finance_person_asked_for(tab: Tab):
    trader = ClientFactory(user__first_name="Emma", user__last_name="Tanaka")
    maker = make_staff(roles.FINANCE, first_name="Felix", last_name="Finance")
    checker = make_staff(roles.FINANCE, first_name="Fiona", last_name="Finance")
    adjustment = adjustment_request(
        client=trader,
        currency="USD",
        direction="credit",
        amount=Decimal("25"),
        reason="goodwill",
        reason_text="Compensation for last week's delayed withdrawal (ticket #1042).",
        actor=maker,
    )
    page = tab.page
    _log_in(tab, checker.email, PASSWORD)
    page.fill("input[name=code]", _totp_code(checker))
    page.get_by_role("button", name="Sign In").click()
    expect(page).to_have_url(re.compile(re.escape(reverse("brokerage:dashboard")) + "$"))

    page.goto(reverse("wallets:adjustments"))
    row = page.get_by_role("row").filter(has_text=f"#{adjustment.pk}")
    expect(row).to_contain_text("Felix Finance")  # asked
    expect(row).to_contain_text("Fiona Finance")  # may approve
    page.set_viewport_size(PHONE)
    assert tab.scroll_width() <= PHONE["width"]
    tab.screenshots("backoffice-adjustment-queue")

    page.goto(reverse("wallets:adjustment", args=[adjustment.pk]))
    page.set_viewport_size(PHONE)
    assert tab.scroll_width() <= PHONE["width"]
    tab.screenshots("backoffice-adjustment-decide")
    page.fill("#id_note", "Checked the ticket.")
    page.get_by_role("button", name=re.compile(r"^Approve: credit 25\.00 USD to ")).click()
    expect(page.get_by_text(f"Adjustment #{adjustment.pk} approved and posted.")).to_be_visible()
    assert Journal.objects.filter(source="adjustment").count() == 1

    page.goto(reverse("wallets:ledger-trial-balance"))
    expect(page.locator(".status-ok", has_text="Balanced")).to_be_visible()
    page.set_viewport_size(PHONE)
    assert tab.scroll_width() <= PHONE["width"]
    tab.screenshots("backoffice-trial-balance")
    assert tab.errors == []
