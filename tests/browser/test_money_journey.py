"""The whole money journey of one trader, in Chromium, on a phone where it matters (issue 6):
sign up -> upload documents -> KYC approved (by compliance, through kyc.services) -> deposit
500 USD with the demo provider -> wallet credited net of the fee -> open a live account from a
product -> transfer 300 to it (a real Celery worker sends it to the simulator) -> the trading
server's balance changes -> withdraw 100 -> two finance people approve -> one marks it paid ->
the trader reads "Paid".

The trading server is the bundled MT5 simulator, served over HTTP in this process; the worker
is its own process (as in tests/integration/test_celery_worker.py), on this run's database,
Redis and queue prefix, so the transfer goes through the queue exactly as in production."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from django.core import mail
from django.urls import reverse
from playwright.sync_api import expect

from brokerage import roles
from brokerage.models import WorkerHeartbeat
from brokerage.secrets_box import seal
from clients.models import TradingAccount, TradingProduct, TradingServer
from clients.platforms.webapi import close_all_sessions
from clients.sync import state_refresh
from kyc.documents.tests.factories import pdf_bytes
from kyc.models import CaseState, KycCase
from kyc.screening.models import Screening
from kyc.services import case_approve, case_for_client
from mt5sim import DEFAULT_MANAGER_LOGIN, DEFAULT_MANAGER_PASSWORD, SimServer, Simulator
from tests.factories import PASSWORD, make_staff
from tests.integration.conftest import database_url
from wallets.ledger.selectors import account_balance
from wallets.ledger.services import wallet_for_client
from wallets.payments.demo import seed_methods
from wallets.transfers.models import Transfer
from wallets.withdrawals.models import Withdrawal

from .conftest import PHONE, Tab
from .test_signup_flow import TRADER_PASSWORD, _log_in, _totp_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CELERY = str(Path(sys.executable).parent / "celery")
IBAN = "DE89370400440532013000"


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture
def worker(transactional_db, settings) -> Iterator[subprocess.Popen[str]]:
    """A real Celery worker on the platform (transfers) and default (screening, notices)
    queues, sharing this run's database, Redis, key prefix and document storage."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(
        DJANGO_SETTINGS_MODULE="brokerage.settings.dev",
        DATABASE_URL=database_url(),
        REDIS_URL=settings.REDIS_URL,
        KYC_STORAGE_DIR=settings.KYC_STORAGE_DIR,
        BROKERAGE_EMBEDDED_STOP_AT_EXIT="0",
        PYTHONUNBUFFERED="1",
    )
    node = f"journey-{uuid.uuid4().hex[:8]}@journey"
    proc = subprocess.Popen(
        [CELERY, "-A", "brokerage", "worker", "-Q", "platform,default", "-n", node,
         "-c", "1", "--pool", "solo", "--without-mingle", "--without-gossip",
         "--loglevel", "INFO"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        _wait_for(
            lambda: WorkerHeartbeat.objects.filter(hostname=node).count() == 2,
            90,
            "the worker's start-up heartbeats",
        )
        yield proc
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
        print(output[-6000:])  # shown by pytest when the test fails


@pytest.fixture
def sim() -> Iterator[tuple[Simulator, str]]:
    simulator = Simulator(seed=5, traders=0)
    with SimServer(simulator, port=0) as srv:
        yield simulator, srv.url
    close_all_sessions()


@pytest.fixture
def live_product(sim) -> TradingProduct:
    _, url = sim
    server = TradingServer.objects.create(
        name="Meridian Live", url=url, manager_login=DEFAULT_MANAGER_LOGIN,
        password_sealed=seal(DEFAULT_MANAGER_PASSWORD), is_live=True,
    )  # fmt: skip
    return TradingProduct.objects.create(
        name="Standard",
        server=server,
        group="real\\standard",
        leverage_choices=[50, 100, 200],
        default_leverage=100,
        min_deposit=Decimal("100"),
        sort_order=1,
    )


def _wallet(client):
    """The USD wallet's balance now (read afresh: the row carries its running balance)."""
    return account_balance(account=wallet_for_client(client=client, currency="USD"))


def _fits_a_phone(tab: Tab, name: str) -> None:
    tab.page.set_viewport_size(PHONE)
    assert tab.scroll_width() <= PHONE["width"], name


def _staff_log_in(tab: Tab, user) -> None:
    page = tab.page
    page.context.clear_cookies()
    _log_in(tab, user.email, PASSWORD)
    page.fill("input[name=code]", _totp_code(user))
    page.get_by_role("button", name="Sign In").click()
    expect(page).to_have_url(re.compile(re.escape(reverse("brokerage:dashboard")) + "$"))


def test_a_trader_deposits_trades_funds_and_withdraws_end_to_end(
    tab: Tab, worker, sim, live_product, settings
):
    simulator, _ = sim
    # The demo card method as the product ships it: 0.30 + 2.5 %, closed loop.
    card = seed_methods()["card-demo"]
    assert (card.fee_fixed, card.fee_percent, card.closed_loop) == (
        Decimal("0.30"),
        Decimal("2.5"),
        True,
    )
    # A low threshold, so this 100 USD withdrawal needs two different finance people.
    settings.WITHDRAWAL_SECOND_APPROVAL_ABOVE = {"USD": Decimal("50")}
    page = tab.page
    email = "mara.journey@example.test"

    # --- sign up through the real form, confirm the e-mail --------------------------------
    page.set_viewport_size(PHONE)
    page.goto(reverse("account_signup"))
    page.fill("input[name=first_name]", "Mara")
    page.fill("input[name=last_name]", "Journey")
    page.fill("input[name=email]", email)
    page.fill("input[name=password1]", TRADER_PASSWORD)
    page.fill("input[name=password2]", TRADER_PASSWORD)
    page.get_by_role("button", name="Sign Up").click()
    expect(page.get_by_role("heading", name="Verify Your Email Address")).to_be_visible()
    match = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    page.goto(match.group(0))
    page.get_by_role("button", name="Confirm").click()
    if page.url.endswith(reverse("account_login")):
        _log_in(tab, email, TRADER_PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Mara")
    trader = KycCase.objects.select_related("client").get(client__user__email=email).client

    # --- documents from the phone; the worker screens the new client ------------------------
    page.goto(reverse("kyc_documents:portal-documents"))
    for kind, name in (("passport", "passport.pdf"), ("proof_of_address", "utility-bill.pdf")):
        page.select_option("#id_kind", kind)
        page.get_by_label("Photo or PDF").set_input_files(
            {"name": name, "mimeType": "application/pdf", "buffer": pdf_bytes()}
        )
        page.get_by_role("button", name="Upload").click()
        expect(page.get_by_text(re.compile("was received"))).to_be_visible()
    _fits_a_phone(tab, "documents")
    assert case_for_client(client=trader).state == CaseState.SUBMITTED
    screening = _wait_for(
        lambda: Screening.objects.filter(client=trader).first(), 60, "the sign-up screening"
    )
    assert screening.decision == "clear"

    # Compliance approves through the real service (level 2: identity, address, screening).
    officer = make_staff(roles.COMPLIANCE)
    case_approve(case=case_for_client(client=trader), actor=officer, level=2, note="Docs OK.")

    # --- deposit 500 USD with the demo provider ---------------------------------------------
    page.goto(reverse("payments:deposit-new"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Deposit")
    page.get_by_label(re.compile(r"Card \(demo\) · USD, EUR · fee 2\.5\s% \+ 0\.30$")).check()
    page.select_option("#id_currency", "USD")
    page.fill("#id_amount", "500")
    _fits_a_phone(tab, "deposit")
    tab.screenshots("journey-deposit")
    page.get_by_role("button", name="See the fee").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your deposit")
    figures = page.locator("dl.figures")
    expect(figures).to_contain_text("12.80 USD")  # 0.30 + 2.5 % of 500
    expect(figures).to_contain_text("487.20 USD")
    _fits_a_phone(tab, "deposit-confirm")
    tab.screenshots("journey-deposit-confirm")
    page.get_by_role("button", name="Pay 500.00 USD with Card (demo)").click()

    # The demo provider's hosted page.
    expect(page).to_have_url(re.compile(r"/pay/demo/"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Pay 500.00")
    _fits_a_phone(tab, "demo-page")
    tab.screenshots("journey-demo-page")
    page.get_by_role("button", name="Pay 500.00 USD").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"Deposit #\d+ Credited"))
    expect(page.get_by_text("487.20 USD is in your USD wallet.")).to_be_visible()
    assert _wallet(trader).posted == Decimal("487.20")

    page.goto(reverse("clients:portal-home"))
    hero = page.locator(".balance-hero")
    expect(hero).to_contain_text("In wallets")
    expect(hero.locator("dl.meta")).to_contain_text("487.20 USD")
    _fits_a_phone(tab, "home")
    tab.screenshots("journey-home-after-deposit")

    # --- open a live account from the product -----------------------------------------------
    page.goto(reverse("clients:portal-open-account"))
    page.get_by_role("radio", name=re.compile("Standard")).check()
    _fits_a_phone(tab, "open-account")
    page.get_by_role("button", name="Open the account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your Standard account is open")
    login = int(page.locator("#mt5-login").inner_text())
    account = TradingAccount.objects.get(client=trader, login=login)
    assert account.is_live
    assert simulator.account(login)["Balance"] == Decimal(0)
    _fits_a_phone(tab, "account-opened")

    # --- transfer 300 from the wallet to it -------------------------------------------------
    page.get_by_role("button", name="Fund it from your wallet").click()  # a link drawn as a button
    page.select_option("#id_source", "wallet:USD")
    page.select_option("#id_target", f"account:{account.pk}")
    page.fill("#id_amount", "300")
    page.get_by_role("button", name="Review the transfer").click()
    sentence = f"Transfer 300.00 USD from Wallet to MT5 #{login}"
    expect(page.locator(".quote-sentence")).to_have_text(sentence)
    _fits_a_phone(tab, "transfer-confirm")
    tab.screenshots("journey-transfer-confirm")
    page.get_by_role("button", name=sentence).click()
    # The worker sends the balance operation; the page polls until the server confirms.
    expect(page.get_by_text(f"Done: 300.00 USD is on MT5 #{login}.")).to_be_visible(timeout=60_000)
    _fits_a_phone(tab, "transfer-done")
    tab.screenshots("journey-transfer-done")
    assert Transfer.objects.get(client=trader).status == Transfer.Status.DONE
    # The trading server's own state for that login.
    assert simulator.account(login)["Balance"] == Decimal("300")

    # What the portal shows after the next state refresh (the beat's job, run here).
    assert state_refresh(server=live_product.server).ok
    page.goto(reverse("clients:portal-accounts"))
    card_view = page.get_by_role("article", name=f"Account {login}")
    expect(card_view).to_contain_text("Balance")
    expect(card_view).to_contain_text("300.00 USD")
    _fits_a_phone(tab, "accounts")
    tab.screenshots("journey-accounts")

    # --- withdraw 100 -----------------------------------------------------------------------
    # Closed loop: the 500 came in by card, so up to 500 must go back to that card before
    # anything may go to a bank account. A bank account (IBAN) is refused with that reason;
    # the natural path is "Back to Card (demo)".
    page.goto(reverse("withdrawals:withdraw"))
    expect(page.get_by_text("Card deposits go back to the card first.")).to_be_visible()
    page.select_option("#id_currency", "USD")
    page.fill("#id_amount", "100")
    page.get_by_label("A bank account (IBAN)").check()
    page.fill("#id_iban", IBAN)
    page.fill("#id_account_holder", "Mara Journey")
    page.get_by_role("button", name="Continue").click()
    expect(
        page.get_by_text(re.compile("Money you deposited by card goes back to that card first"))
    ).to_be_visible()
    assert page.locator("#id_iban").input_value() == IBAN  # the input is kept
    _fits_a_phone(tab, "withdraw-closed-loop")
    tab.screenshots("journey-withdraw-closed-loop")
    page.get_by_label("Back to Card (demo)").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm the withdrawal")
    expect(page.locator(".quote-sentence")).to_have_text(
        "Withdraw 100.00 USD from your USD wallet to Card (demo)"
    )
    expect(page.get_by_text("(two people, for an amount this size)")).to_be_visible()
    _fits_a_phone(tab, "withdraw-confirm")
    page.get_by_role("button", name="Withdraw 100.00 USD").click()
    expect(page.get_by_text(re.compile(r"Withdrawal #\d+ of 100.00 USD requested"))).to_be_visible()
    withdrawal = Withdrawal.objects.get(client=trader)
    assert withdrawal.approvals_required == 2
    expect(page.locator("h1 .status")).to_have_text("Waiting for approval")
    _fits_a_phone(tab, "withdrawal-requested")
    tab.screenshots("journey-withdrawal-requested")
    assert _wallet(trader).available == Decimal("87.20")

    # --- two finance people approve, one marks it paid ---------------------------------------
    first = make_staff(roles.FINANCE, first_name="Farah", last_name="First")
    second = make_staff(roles.FINANCE, first_name="Sami", last_name="Second")
    detail_url = reverse("withdrawals:detail", args=[withdrawal.pk])
    for n, person in enumerate((first, second), start=1):
        _staff_log_in(tab, person)
        page.goto(detail_url)
        expect(page.get_by_role("heading", level=1)).to_contain_text(f"Withdrawal #{withdrawal.pk}")
        page.fill("#id_note", f"Checked ({n}).")
        if n == 1:
            _fits_a_phone(tab, "backoffice-withdrawal")
            tab.screenshots("journey-backoffice-withdrawal-approve")
        page.get_by_role("button", name="Approve 100.00 USD…").click()
        page.get_by_role("button", name="Approve", exact=True).click()
        expect(page.locator(".flash-success")).to_contain_text(f"Withdrawal #{withdrawal.pk}:")
        expect(page.get_by_text(f"{n} of 2")).to_be_visible()
    page.fill("#id_reference", "DEMO-PAYOUT-0001")
    page.get_by_role("button", name="Mark 100.00 USD paid…").click()
    expect(page.get_by_text(re.compile("leaves the client's wallet for good"))).to_be_visible()
    page.get_by_role("button", name="Mark paid", exact=True).click()
    expect(page.locator("h1 .status")).to_have_text("Paid")
    _fits_a_phone(tab, "backoffice-withdrawal-paid")
    tab.screenshots("journey-backoffice-withdrawal-paid")
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.PAID
    assert {a.approver_id for a in withdrawal.approvals.all()} == {first.pk, second.pk}
    assert _wallet(trader).posted == Decimal("87.20")

    # --- the trader reads "Paid" -------------------------------------------------------------
    page.context.clear_cookies()
    _log_in(tab, email, TRADER_PASSWORD)
    page.goto(reverse("withdrawals:portal-detail", args=[withdrawal.pk]))
    expect(page.locator("h1 .status")).to_have_text("Paid")
    expect(page.get_by_text("DEMO-PAYOUT-0001", exact=True)).to_be_visible()
    _fits_a_phone(tab, "withdrawal-paid")
    tab.screenshots("journey-withdrawal-status")
    page.goto(reverse("clients:portal-home"))
    hero = page.locator(".balance-hero")
    expect(hero).to_contain_text("387.20")  # 487.20 - 100 in wallets + 300 on MT5
    # Each movement once: the transfer's and the withdrawal's holds were posted, so the
    # recent transactions show their postings, not a second "On hold" line each.
    recent = page.get_by_role("row").filter(has_text=re.compile("Transfer to MT5|Withdrawal"))
    expect(recent).to_have_count(2)
    expect(page.get_by_text("On hold", exact=True)).to_have_count(0)
    _fits_a_phone(tab, "home-at-the-end")
    tab.screenshots("journey-home-at-the-end")
    assert tab.errors == [], tab.errors
