"""The pages: a trader deposits through the demo provider's hosted page and sees the result;
another client's deposit is a 404; finance filters, exports, refunds and edits methods."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from brokerage import roles
from tests.factories import ClientFactory, login_staff, make_staff
from wallets.ledger.selectors import account_balance
from wallets.ledger.services import wallet_for_client
from wallets.payments.models import Deposit
from wallets.payments.services import deposit_create

from .conftest import set_level

pytestmark = pytest.mark.django_db
D = Decimal


def test_a_trader_deposits_through_the_demo_providers_page(client, trader, card):
    client.force_login(trader.user)
    form = {"method": card.pk, "currency": "USD", "amount": "500"}

    preview = client.post("/portal/deposit/", form)
    assert preview.status_code == 200
    page = preview.content.decode()
    assert "Pay 500.00 USD with Card (demo)" in page
    assert "12.80" in page and "487.20" in page  # fee 0.30 + 2.5 %, and what arrives
    assert not Deposit.objects.exists()

    sent = client.post("/portal/deposit/", {**form, "confirm": "1"})
    deposit = Deposit.objects.get()
    assert sent.status_code == 302 and sent["Location"] == f"/pay/demo/{deposit.provider_ref}/"

    hosted = client.get(sent["Location"])
    assert b"Pay 500.00 USD" in hosted.content
    back = client.post(sent["Location"], {"action": "success"})
    assert back.status_code == 302 and back["Location"] == f"/portal/deposit/{deposit.pk}/"

    status = client.get(back["Location"])
    assert (
        b'487.20&nbsp;<span class="ccy">USD</span></span> is in your USD wallet' in status.content
    )
    wallet = wallet_for_client(client=trader, currency="USD")
    assert account_balance(account=wallet).posted == D("487.20")
    assert b"Credited" in client.get("/portal/deposits/").content


def test_a_pending_deposit_polls_and_htmx_gets_the_status_fragment(client, trader, deposit):
    client.force_login(trader.user)
    client.post(f"/pay/demo/{deposit.provider_ref}/", {"action": "pending"})
    page = client.get(f"/portal/deposit/{deposit.pk}/").content.decode()
    assert 'hx-trigger="every 2s"' in page
    fragment = client.get(f"/portal/deposit/{deposit.pk}/", headers={"HX-Request": "true"})
    body = fragment.content.decode()
    assert body.lstrip().startswith('<div id="deposit-status"') and "<html" not in body

    client.post(f"/pay/demo/{deposit.provider_ref}/", {"action": "success"})
    done = client.get(f"/portal/deposit/{deposit.pk}/", headers={"HX-Request": "true"}).content
    assert b"every 2s" not in done and b"Credited" in done


def test_a_declined_payment_offers_to_try_again(client, trader, deposit):
    client.force_login(trader.user)
    client.post(f"/pay/demo/{deposit.provider_ref}/", {"action": "decline"})
    page = client.get(f"/portal/deposit/{deposit.pk}/").content.decode()
    assert "Declined by the card issuer (demo)." in page and "Try again" in page


def test_another_clients_deposit_is_a_404(client, deposit):
    outsider = ClientFactory()
    client.force_login(outsider.user)
    assert client.get(f"/portal/deposit/{deposit.pk}/").status_code == 404
    assert str(deposit.amount.normalize()) not in client.get("/portal/deposits/").content.decode()
    client.force_login(deposit.client.user)
    assert client.get(f"/portal/deposit/{deposit.pk}/").status_code == 200


def test_form_errors_keep_the_input_and_say_what_to_do(client, trader, card):
    client.force_login(trader.user)
    page = client.post(
        "/portal/deposit/", {"method": card.pk, "currency": "USD", "amount": "12.345"}
    )
    body = page.content.decode()
    assert "USD amounts have at most 2 decimal places; 12.345 has more." in body
    assert 'value="12.345"' in body
    page = client.post("/portal/deposit/", {"method": card.pk, "currency": "USD", "amount": "lots"})
    assert "Enter an amount in figures, like 250 or 250.50." in page.content.decode()


def test_an_unverified_client_sees_what_to_do_next(client, card):
    newcomer = ClientFactory()
    set_level(newcomer, 0)
    client.force_login(newcomer.user)
    body = client.get("/portal/deposit/").content.decode()
    assert "Depositing needs identity verified status (level 1); you are at level 0" in body
    assert "Upload a passport or national ID card" in body
    assert "Continue your verification" in body
    assert "See the fee" not in body


def test_the_demo_page_refuses_unknown_actions_and_references(client, deposit):
    assert client.post(f"/pay/demo/{deposit.provider_ref}/", {"action": "steal"}).status_code == 400
    assert client.get("/pay/demo/dp_unknown/").status_code == 404


@pytest.fixture
def finance(client):
    user = make_staff(roles.FINANCE)
    login_staff(client, user)
    return user


def test_finance_filters_and_exports_deposits(client, finance, trader, card, paid):
    other = deposit_create(client=trader, method=card, currency="EUR", amount=D("20"))
    page = client.get("/backoffice/payments/deposits/", {"status": "succeeded"})
    rows = [d for d, _ in page.context["rows"]]
    assert rows == [paid]
    page = client.get("/backoffice/payments/deposits/", {"min_amount": "10", "max_amount": "50"})
    assert [d for d, _ in page.context["rows"]] == [other]
    assert page.context["rows"][0][1] is not None  # open: its age is shown
    fragment = client.get(
        "/backoffice/payments/deposits/",
        {"client": trader.user.email},
        headers={"HX-Request": "true"},
    )
    assert fragment.content.decode().lstrip().startswith('<div id="results">')

    export = client.get("/backoffice/payments/deposits/", {"status": "succeeded", "format": "csv"})
    lines = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert lines[0][:3] == ["Deposit", "Created (UTC)", "Client"]
    assert [(r[0], r[7], r[8], r[9], r[10]) for r in lines[1:]] == [
        (str(paid.pk), "Credited", "100.00", "2.80", "97.20")
    ]


def test_finance_sees_the_timeline_and_refunds(client, finance, paid):
    page = client.get(f"/backoffice/payments/deposits/{paid.pk}/").content.decode()
    assert "payment.succeeded" in page
    assert f"/backoffice/ledger/journals/{paid.credit_journal_id}/" in page
    assert "Refund 100.00 USD to" in page

    done = client.post(f"/backoffice/payments/deposits/{paid.pk}/")
    assert done.status_code == 302
    paid.refresh_from_db()
    assert paid.status == Deposit.Status.REFUNDED


def test_an_auditor_sees_a_deposit_but_cannot_refund(client, paid):
    login_staff(client, make_staff(roles.AUDITOR))
    page = client.get(f"/backoffice/payments/deposits/{paid.pk}/").content.decode()
    assert "Refund 100.00 USD" not in page
    assert client.post(f"/backoffice/payments/deposits/{paid.pk}/").status_code == 403
    paid.refresh_from_db()
    assert paid.status == Deposit.Status.SUCCEEDED


def test_finance_edits_a_method(client, finance, card):
    form = {"name": "Card (demo)", "currencies": "usd, EUR, GBP", "min_amount": "20", "max_amount": "5000",
            "fee_fixed": "0.25", "fee_percent": "2", "kyc_level": "1", "deposits_enabled": "on",
            "closed_loop": "on", "sort_order": "0"}  # fmt: skip
    assert client.post(f"/backoffice/payments/methods/{card.pk}/", form).status_code == 302
    card.refresh_from_db()
    assert (card.currencies, card.min_amount, card.fee_percent) == (
        ["USD", "EUR", "GBP"],
        D("20"),
        D("2"),
    )

    bad = client.post(
        f"/backoffice/payments/methods/{card.pk}/", {**form, "currencies": "XYZ", "max_amount": "1"}
    )
    body = bad.content.decode()
    assert "Unknown currency: XYZ." in body and "The maximum must not be below the minimum." in body


def test_the_payments_hub_counts_todays_deposits(client, finance, paid):
    assert b"Card (demo)" in client.get("/backoffice/payments/methods/").content
    page = client.get("/backoffice/payments/")
    headline = page.context["headline"]
    assert headline.credited_today == [("USD", D("100"), 1)]
    assert b"/backoffice/payments/deposits/" in page.content
