"""A trader signs up and lands in the trader's room; staff reach the back-office only with 2FA."""

from __future__ import annotations

import re
import time
from decimal import Decimal

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from allauth.mfa.utils import decrypt
from django.core import mail
from django.urls import reverse
from playwright.sync_api import expect

from brokerage import roles
from tests.factories import PASSWORD, ClientFactory, PartnerFactory, make_staff
from wallets.ledger.services import Leg, house_account, ledger_transfer, wallet_for_client
from wallets.models import FxRate
from wallets.services import adjustment_request

from .conftest import ARTIFACTS, DESKTOP, PHONE, Tab

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TRADER_PASSWORD = "a-long-trader-passphrase-7"


def _log_in(tab: Tab, email: str, password: str) -> None:
    page = tab.page
    page.goto(reverse("account_login"))
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", password)
    page.get_by_role("button", name="Sign In").click()
    login_url = reverse("account_login")
    page.wait_for_url(lambda url: not url.split("?")[0].endswith(login_url))


def _totp_code(user) -> str:
    secret = decrypt(Authenticator.objects.get(user=user, type="totp").data["secret"])
    # allauth accepts only the current 30-second window: don't start typing at its very end.
    if time.time() % 30 > 27:
        time.sleep(30 - time.time() % 30 + 0.1)
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def _assert_menu_collapses_on_a_phone(tab: Tab, link_name: str, screenshot: str) -> None:
    page = tab.page
    page.set_viewport_size(PHONE)
    menu = page.locator("#main-menu")
    link = menu.get_by_role("link", name=link_name, exact=True)
    expect(link).to_be_hidden()
    menu.locator("summary", has_text="Menu").click()
    expect(link).to_be_visible()
    assert tab.scroll_width() <= PHONE["width"]
    page.screenshot(path=str(ARTIFACTS / f"{screenshot}-menu-375.png"))
    menu.locator("summary").click()
    expect(link).to_be_hidden()


def test_a_trader_signs_up_confirms_the_email_and_lands_in_the_portal(tab: Tab):
    page = tab.page
    email = "new.trader@example.test"

    page.goto(reverse("account_signup"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign Up")
    page.fill("input[name=first_name]", "Nadia")
    page.fill("input[name=last_name]", "Trader")
    page.fill("input[name=email]", email)
    page.fill("input[name=password1]", TRADER_PASSWORD)
    page.fill("input[name=password2]", TRADER_PASSWORD)
    page.get_by_role("button", name="Sign Up").click()

    expect(page).to_have_url(re.compile(re.escape(reverse("account_email_verification_sent"))))
    expect(page.get_by_role("heading", name="Verify Your Email Address")).to_be_visible()

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [email]
    match = re.search(r"https?://\S+/accounts/confirm-email/\S+/", message.body)
    assert match, message.body

    page.goto(match.group(0))
    expect(page.get_by_role("heading", name="Confirm Email Address")).to_be_visible()
    page.get_by_role("button", name="Confirm").click()

    if page.url.endswith(reverse("account_login")):
        _log_in(tab, email, TRADER_PASSWORD)
    expect(page).to_have_url(re.compile(re.escape(reverse("clients:portal-home")) + "$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Nadia")
    expect(page.get_by_role("heading", name="What verification still needs")).to_be_visible()
    # Pico draws these links as buttons (role="button"): the one-tap money actions.
    for action in ("Deposit", "Withdraw", "Transfer", "Open account"):
        expect(page.get_by_role("button", name=action)).to_be_visible()
    # On a desktop the navigation is always shown, without a Menu button.
    expect(page.locator("#main-menu").get_by_role("link", name="Wallets")).to_be_visible()
    expect(page.locator("#main-menu summary")).to_be_hidden()

    _assert_menu_collapses_on_a_phone(tab, "Wallets", "portal-home")
    tab.screenshots("portal-home")
    assert tab.errors == []


def test_staff_without_two_factor_are_sent_to_set_it_up(tab: Tab):
    staff = make_staff(roles.ADMIN, mfa=False)
    page = tab.page
    _log_in(tab, staff.email, PASSWORD)

    page.goto(reverse("brokerage:dashboard"))

    # allauth (65.x) counts only an explicit re-authentication, not the log-in a moment ago,
    # before it lets anyone change their authenticators: the password is asked once more.
    activate_url = reverse("mfa_activate_totp")
    expect(page).to_have_url(re.compile(re.escape(reverse("account_reauthenticate")) + r"\?next="))
    expect(page.get_by_text("Staff must use two-factor authentication")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm Access")
    tab.screenshots("reauthenticate")
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Confirm").click()

    expect(page).to_have_url(re.compile(re.escape(activate_url) + "$"))
    expect(page.get_by_role("heading", name="Activate Authenticator App")).to_be_visible()
    expect(page.get_by_role("img")).to_be_visible()  # the QR code
    expect(page.locator("#authenticator_secret")).to_be_visible()
    page.set_viewport_size(PHONE)
    assert tab.scroll_width() <= PHONE["width"]
    tab.screenshots("mfa-activate")

    # Scanning the code and entering it is this session's second factor: the back-office opens.
    secret = (
        page.locator("#authenticator_secret").input_value()
        or page.locator("#authenticator_secret").inner_text()
    )
    if time.time() % 30 > 27:
        time.sleep(30 - time.time() % 30 + 0.1)
    page.fill(
        "input[name=code]", format_hotp_value(hotp_value(secret.strip(), int(time.time()) // 30))
    )
    page.get_by_role("button", name="Activate").click()
    page.goto(reverse("brokerage:dashboard"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    assert Authenticator.objects.filter(user=staff, type="totp").exists()
    assert tab.errors == []


def test_staff_with_two_factor_reach_the_dashboard_and_its_chart(tab: Tab):
    staff = make_staff(roles.ADMIN)
    page = tab.page
    _log_in(tab, staff.email, PASSWORD)

    expect(page).to_have_url(re.compile(re.escape(reverse("mfa_authenticate")) + "$"))
    expect(page.get_by_role("heading", name="Two-Factor Authentication")).to_be_visible()
    page.fill("input[name=code]", _totp_code(staff))
    page.get_by_role("button", name="Sign In").click()

    expect(page).to_have_url(re.compile(re.escape(reverse("brokerage:dashboard")) + "$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    canvas = page.locator("canvas[data-chart]")
    expect(canvas).to_have_attribute("data-chart-ready", "1")
    assert page.evaluate("typeof window.Chart") == "function"
    assert canvas.evaluate("c => c.getBoundingClientRect().width") > 0
    assert canvas.evaluate("c => c.width") > 0

    _assert_menu_collapses_on_a_phone(tab, "Clients", "backoffice-dashboard")
    assert canvas.evaluate("c => c.getBoundingClientRect().width") > 0
    tab.screenshots("backoffice-dashboard")

    page.locator("#main-menu").get_by_role("link", name="Security").click()
    expect(page).to_have_url(re.compile(re.escape(reverse("mfa_index")) + "$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-Factor Authentication")
    expect(page.locator("#main-menu a[aria-current=page]")).to_have_text("Security")
    tab.screenshots("security")
    assert tab.errors == []


@pytest.mark.parametrize(
    "name,url",
    [
        ("landing", "home"),
        ("login", "account_login"),
        ("signup", "account_signup"),
        ("password-reset", "account_reset_password"),
    ],
)
def test_public_pages_fit_a_phone(tab: Tab, name: str, url: str):
    tab.page.set_viewport_size(PHONE)
    tab.page.goto(reverse(url))
    expect(tab.page.get_by_role("heading", level=1)).to_be_visible()
    assert tab.scroll_width() <= PHONE["width"]
    tab.screenshots(name)
    assert tab.errors == []


BACKOFFICE_PAGES = [
    ("clients", "clients:client-list", "Clients"),
    ("client-detail", "clients:client-detail", "Clients"),
    ("kyc", "kyc:queue", "KYC"),
    ("payments", "wallets:payments", "Payments"),
    ("ledger", "wallets:ledger-accounts", "Ledger"),
    ("ledger-account", "wallets:ledger-account", "Ledger"),
    ("ledger-journals", "wallets:ledger-journals", "Ledger"),
    ("ledger-journal", "wallets:ledger-journal", "Ledger"),
    ("trial-balance", "wallets:ledger-trial-balance", "Ledger"),
    ("fx-rates", "wallets:ledger-fx-rates", "Ledger"),
    ("adjustments", "wallets:adjustments", "Adjustments"),
    ("adjustment", "wallets:adjustment", "Adjustments"),
    ("risk", "risk:overview", "Risk"),
    ("partners", "partners:backoffice-list", "Partners"),
    ("reports", "reports:report-list", "Reports"),
    ("staff", "brokerage:staff", "Staff"),
    ("audit", "brokerage:audit", "Audit trail"),
]


def test_every_backoffice_page_fits_a_phone_and_marks_its_section(tab: Tab):
    staff = make_staff(roles.ADMIN)
    clients = [ClientFactory() for _ in range(3)]
    PartnerFactory(name="Atlas Partners")
    wallet = wallet_for_client(client=clients[0], currency="USD")
    clearing = house_account(kind="psp_clearing", currency="USD", label="demo")
    deposit = ledger_transfer(
        source="browser",
        key="deposit",
        legs=[Leg(clearing, "D", Decimal("1250.00")), Leg(wallet, "C", Decimal("1250.00"))],
        memo="Card deposit",
    )
    FxRate.objects.create(base_id="USD", quote_id="EUR", rate=Decimal("0.92345"))
    adjustment = adjustment_request(
        client=clients[0],
        currency="USD",
        direction="credit",
        amount=Decimal("25"),
        reason="goodwill",
        reason_text="Compensation for a delayed withdrawal (ticket #1042).",
        actor=make_staff(roles.FINANCE),
    )
    args = {
        "clients:client-detail": [clients[0].pk],
        "wallets:ledger-account": [wallet.pk],
        "wallets:ledger-journal": [deposit.journal_id],
        "wallets:adjustment": [adjustment.pk],
    }
    page = tab.page
    _log_in(tab, staff.email, PASSWORD)
    page.fill("input[name=code]", _totp_code(staff))
    page.get_by_role("button", name="Sign In").click()
    expect(page).to_have_url(re.compile(re.escape(reverse("brokerage:dashboard")) + "$"))

    for name, url_name, section in BACKOFFICE_PAGES:
        url = reverse(url_name, args=args.get(url_name, []))
        page.set_viewport_size(DESKTOP)
        page.goto(url)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        current = page.locator("#main-menu a[aria-current=page]")
        expect(current).to_have_text(section)
        expect(current).to_be_visible()
        page.set_viewport_size(PHONE)
        expect(current).to_be_hidden()
        # Wide tables scroll inside their own box; the page itself never scrolls sideways.
        assert tab.scroll_width() <= PHONE["width"], name
        tab.screenshots(f"backoffice-{name}")
    assert tab.errors == []
