"""The wallet pages: a trader's own wallets, statements and conversions; the back-office
ledger explorer, trial balance and FX rates."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from brokerage import roles
from tests.factories import login_staff, make_staff
from wallets import services
from wallets.ledger.services import Leg, house_account, ledger_transfer, wallet_for_client
from wallets.models import FxRate, Journal, LedgerAccount
from wallets.selectors import TrialBalanceCurrency

pytestmark = pytest.mark.django_db
D = Decimal


def _deposit(wallet: LedgerAccount, amount: str, key: str, *, at=None, memo="Card deposit"):
    clearing = house_account(kind="psp_clearing", currency=wallet.currency_id, label="test")
    return ledger_transfer(
        source="test.deposit",
        key=key,
        legs=[Leg(clearing, "D", D(amount)), Leg(wallet, "C", D(amount))],
        memo=memo,
        effective_at=at,
    )


def _withdraw(wallet: LedgerAccount, amount: str, key: str):
    bank = house_account(kind="bank_omnibus", currency=wallet.currency_id)
    return ledger_transfer(
        source="test.withdrawal",
        key=key,
        legs=[Leg(wallet, "D", D(amount)), Leg(bank, "C", D(amount))],
        memo="Bank withdrawal",
    )


@pytest.fixture
def usd_eur_rate(db):
    return FxRate.objects.create(
        base_id="USD", quote_id="EUR", rate=D("0.92345"), markup=D("0.005")
    )


# --- the trader's wallets ----------------------------------------------------------------------


def test_a_trader_without_wallets_is_told_how_one_opens(client, owner):
    client.force_login(owner)
    body = client.get("/portal/wallets/").content.decode()
    assert (
        "You have no wallets yet. A wallet in your currency opens with your first deposit." in body
    )


def test_the_owner_sees_each_wallet_with_posted_and_available_and_a_total(
    client, owner, outsider, usd_eur_rate
):
    usd = wallet_for_client(client=owner.client, currency="USD")
    eur = wallet_for_client(client=owner.client, currency="EUR")
    _deposit(usd, "1500.00", "u1")
    _deposit(eur, "20.00", "e1")
    FxRate.objects.create(base_id="EUR", quote_id="USD", rate=D("1.1"), markup=D("0.005"))
    hold_to = house_account(kind="withdrawals_in_transit", currency="USD")
    from wallets.ledger.services import ledger_hold

    ledger_hold(source="test", key="h1", debit=usd, credit=hold_to, amount=D("200"))
    _deposit(wallet_for_client(client=outsider.client, currency="USD"), "777.00", "o1")

    client.force_login(owner)
    response = client.get("/portal/wallets/")
    body = response.content.decode()
    [(acc_eur, bal_eur), (acc_usd, bal_usd)] = response.context["overview"].wallets
    assert (acc_eur, acc_usd) == (eur, usd)
    assert (bal_usd.posted, bal_usd.available, bal_usd.pending_debits) == (
        D("1500.00"),
        D("1300.00"),
        D("200.00"),
    )
    assert '<span class="money">1,500.00&nbsp;<span class="ccy">USD</span></span>' in body
    assert (
        '<span class="money">1,300.00&nbsp;<span class="ccy">USD</span></span>' in body
    )  # available
    assert '<span class="money">200.00&nbsp;<span class="ccy">USD</span></span>' in body  # on hold
    assert (
        '≈ <span class="money">1,522.00&nbsp;<span class="ccy">USD</span></span>' in body
    )  # 1500 + 20 × 1.1
    assert "777.00" not in body  # the outsider's money
    assert 'href="/portal/wallets/USD/statement/"' in body


def test_the_statement_lists_entries_newest_first_with_the_running_balance(client, owner):
    usd = wallet_for_client(client=owner.client, currency="USD")
    _deposit(usd, "100.00", "d1")
    _deposit(usd, "50.00", "d2")
    _withdraw(usd, "30.25", "w1")
    client.force_login(owner)
    response = client.get("/portal/wallets/USD/statement/")
    rows = response.context["rows"]
    assert [(r.amount, r.balance_after, r.description) for r in rows] == [
        (D("-30.25"), D("119.75"), "Bank withdrawal"),
        (D("50.00"), D("150.00"), "Card deposit"),
        (D("100.00"), D("100.00"), "Card deposit"),
    ]
    body = response.content.decode()
    assert '<span class="money negative">-30.25&nbsp;<span class="ccy">USD</span></span>' in body
    assert "3 entries" in body


def test_an_outsider_gets_404_for_a_wallet_that_is_not_theirs(client, owner, outsider):
    _deposit(wallet_for_client(client=owner.client, currency="EUR"), "10", "e1")
    _deposit(wallet_for_client(client=outsider.client, currency="USD"), "5", "o1")
    client.force_login(outsider)
    assert client.get("/portal/wallets/EUR/statement/").status_code == 404
    assert client.get("/portal/wallets/EUR/statement/?format=csv").status_code == 404
    assert client.get("/portal/wallets/XXX/statement/").status_code == 404
    # Their own statement shows only their own entries.
    own = client.get("/portal/wallets/USD/statement/")
    assert [r.amount for r in own.context["rows"]] == [D("5.00")]


def test_the_statement_filters_by_period_and_kind_and_keeps_the_running_balance(
    client, owner, usd_eur_rate
):
    usd = wallet_for_client(client=owner.client, currency="USD")
    march = datetime(2026, 3, 10, 12, tzinfo=UTC)
    _deposit(usd, "100.00", "old", at=march)
    _deposit(usd, "40.00", "new")
    client.force_login(owner)

    in_march = client.get("/portal/wallets/USD/statement/?start=2026-03-01&end=2026-03-10")
    assert [r.balance_after for r in in_march.context["rows"]] == [D("100.00")]
    after_march = client.get("/portal/wallets/USD/statement/?start=2026-03-11")
    assert [r.balance_after for r in after_march.context["rows"]] == [D("140.00")]
    conversions = client.get("/portal/wallets/USD/statement/?kind=conversion")
    assert conversions.context["rows"] == []
    assert "No entries match these filters." in conversions.content.decode()
    backwards = client.get("/portal/wallets/USD/statement/?start=2026-03-11&end=2026-03-01")
    assert "The end date must be on or after the start date." in backwards.content.decode()


def test_the_statement_paginates_and_htmx_gets_only_the_table(client, owner):
    usd = wallet_for_client(client=owner.client, currency="USD")
    for i in range(30):
        _deposit(usd, "1.00", f"d{i}")
    client.force_login(owner)
    body = client.get("/portal/wallets/USD/statement/").content.decode()
    assert "Page 1 of 2" in body and "30 entries" in body
    second = client.get("/portal/wallets/USD/statement/?page=2")
    assert [r.balance_after for r in second.context["rows"]][-1] == D("1.00")
    fragment = client.get("/portal/wallets/USD/statement/?kind=transfer", HTTP_HX_REQUEST="true")
    assert fragment.content.decode().lstrip().startswith('<div id="results">')
    assert "HX-Request" in fragment["Vary"]


def test_the_statement_exports_as_a_streamed_csv(client, owner):
    usd = wallet_for_client(client=owner.client, currency="USD")
    _deposit(usd, "100.00", "d1", memo="=HYPERLINK(evil)")
    _withdraw(usd, "0.50", "w1")
    client.force_login(owner)
    response = client.get("/portal/wallets/USD/statement/?format=csv&kind=")
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="statement-USD.csv"'
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == [
        "Date (UTC)",
        "Journal",
        "Kind",
        "Description",
        "Reference",
        "Status",
        "Amount",
        "Currency",
        "Balance after",
    ]
    assert [(r[2], r[3], r[5], r[6], r[7], r[8]) for r in rows[1:]] == [
        ("Transfer", "Bank withdrawal", "posted", "-0.50", "USD", "99.50"),
        # A memo can't turn into a spreadsheet formula.
        ("Transfer", "'=HYPERLINK(evil)", "posted", "100.00", "USD", "100.00"),
    ]


# --- conversions -------------------------------------------------------------------------------


def _quote(client, **data):
    return client.post("/portal/wallets/convert/", {"sell": "USD", "buy": "EUR", **data})


def test_a_conversion_shows_the_quote_then_posts_once_however_often_it_is_confirmed(
    client, owner, usd_eur_rate
):
    usd = wallet_for_client(client=owner.client, currency="USD")
    _deposit(usd, "150.00", "d1")
    client.force_login(owner)

    shown = _quote(client, amount="100")
    body = shown.content.decode()
    assert "Convert 100.00 USD to 91.88 EUR at 0.92345 (fee 0.46 EUR)" in body
    assert not Journal.objects.filter(kind="conversion").exists()  # nothing moved yet
    token = shown.context["token"]
    assert f'name="token" value="{token}"' in body

    confirm = {"confirm": "1", "token": token, "sell": "USD", "buy": "EUR", "amount": "100.00"}
    first = client.post("/portal/wallets/convert/", confirm, follow=True)
    assert "Converted 100.00 USD to 91.88 EUR." in first.content.decode()
    again = client.post("/portal/wallets/convert/", confirm, follow=True)
    assert "This conversion was already done: 100.00 USD to 91.88 EUR." in again.content.decode()

    assert Journal.objects.filter(kind="conversion").count() == 1
    wallets = {a.currency_id: b for a, b in again.context["overview"].wallets}
    assert wallets["USD"].posted == D("50.00")
    assert wallets["EUR"].posted == D("91.88")
    journal = Journal.objects.get(kind="conversion")
    assert journal.actor == owner
    assert journal.metadata["fee"] == "0.46"


def test_each_quote_gets_its_own_key_so_two_conversions_both_happen(client, owner, usd_eur_rate):
    _deposit(wallet_for_client(client=owner.client, currency="USD"), "100.00", "d1")
    client.force_login(owner)
    for _ in range(2):
        token = _quote(client, amount="10").context["token"]
        client.post("/portal/wallets/convert/", {"confirm": "1", "token": token})
    assert Journal.objects.filter(kind="conversion").count() == 2


def test_a_conversion_without_a_rate_is_refused_in_words(client, owner, usd_eur_rate):
    _deposit(wallet_for_client(client=owner.client, currency="USD"), "100.00", "d1")
    FxRate.objects.create(base_id="EUR", quote_id="GBP", rate=D("0.85"), markup=D("0"))
    client.force_login(owner)
    response = _quote(client, amount="10", buy="GBP")
    assert response.context["form"].errors == {
        "buy": ["We don't convert USD to GBP at the moment. Pick another currency."]
    }


def test_a_conversion_over_the_available_balance_says_what_is_available(
    client, owner, usd_eur_rate
):
    _deposit(wallet_for_client(client=owner.client, currency="USD"), "50.00", "d1")
    client.force_login(owner)
    response = _quote(client, amount="50.01")
    assert response.context["form"].errors == {"amount": ["You have 50.00 USD available."]}
    assert "You have 50.00 USD available." in response.content.decode()
    too_precise = _quote(client, amount="1.234")
    assert too_precise.context["form"].errors == {
        "amount": ["1.234 has more decimals than USD allows (2)."]
    }


def test_funds_spent_after_the_quote_are_refused_at_confirmation(client, owner, usd_eur_rate):
    usd = wallet_for_client(client=owner.client, currency="USD")
    _deposit(usd, "100.00", "d1")
    client.force_login(owner)
    token = _quote(client, amount="80").context["token"]
    _withdraw(usd, "50.00", "w1")
    response = client.post(
        "/portal/wallets/convert/",
        {"confirm": "1", "token": token, "sell": "USD", "buy": "EUR", "amount": "80.00"},
    )
    assert response.context["form"].errors["amount"] == ["You have 50.00 USD available."]
    assert not Journal.objects.filter(kind="conversion").exists()


def test_an_expired_quote_is_not_honoured_and_a_fresh_one_is_shown(
    client, owner, usd_eur_rate, monkeypatch
):
    _deposit(wallet_for_client(client=owner.client, currency="USD"), "100.00", "d1")
    client.force_login(owner)
    token = _quote(client, amount="100").context["token"]
    usd_eur_rate.rate = D("0.9")
    usd_eur_rate.save()
    monkeypatch.setattr(services, "QUOTE_MAX_AGE", -1)
    data = {"confirm": "1", "token": token, "sell": "USD", "buy": "EUR", "amount": "100.00"}
    response = client.post("/portal/wallets/convert/", data)
    body = response.content.decode()
    assert "This quote has expired" in body
    assert "Convert 100.00 USD to 89.55 EUR at 0.9 (fee 0.45 EUR)" in body
    assert not Journal.objects.filter(kind="conversion").exists()


def test_a_forged_or_borrowed_quote_is_refused(client, owner, outsider, usd_eur_rate):
    _deposit(wallet_for_client(client=owner.client, currency="USD"), "100.00", "d1")
    _deposit(wallet_for_client(client=outsider.client, currency="USD"), "100.00", "d2")
    client.force_login(owner)
    token = _quote(client, amount="10").context["token"]
    client.force_login(outsider)
    response = client.post("/portal/wallets/convert/", {"confirm": "1", "token": token})
    assert "This quote is not valid. Start the conversion again." in response.content.decode()
    forged = client.post("/portal/wallets/convert/", {"confirm": "1", "token": token + "x"})
    assert "This quote is not valid." in forged.content.decode()
    assert not Journal.objects.filter(kind="conversion").exists()


# --- back-office: the ledger explorer ----------------------------------------------------------


@pytest.fixture
def finance(client):
    user = make_staff(roles.FINANCE)
    login_staff(client, user)
    return user


def test_the_explorer_finds_a_clients_accounts_and_their_statement(client, finance, owner):
    usd = wallet_for_client(client=owner.client, currency="USD")
    _deposit(usd, "100.00", "d1")
    accounts = client.get(f"/backoffice/ledger/?q={owner.email}")
    assert [a for a, _ in accounts.context["rows"]] == [usd]
    by_kind = client.get("/backoffice/ledger/?kind=psp_clearing&currency=USD")
    [(clearing, balance)] = by_kind.context["rows"]
    assert balance.posted == D("-100.00")
    assert (
        '<span class="money negative">-100.00&nbsp;<span class="ccy">USD</span></span>'
        in by_kind.content.decode()
    )

    detail = client.get(f"/backoffice/ledger/accounts/{usd.pk}/")
    assert [r.balance_after for r in detail.context["rows"]] == [D("100.00")]
    body = detail.content.decode()
    journal = Journal.objects.get(source="test.deposit")
    assert f'href="/backoffice/ledger/journals/{journal.pk}/"' in body
    assert f'href="/backoffice/adjustments/new/?account={usd.pk}"' in body
    export = client.get(f"/backoffice/ledger/accounts/{usd.pk}/?format=csv")
    assert export["Content-Disposition"] == f'attachment; filename="statement-USD-{usd.pk}.csv"'


def test_journals_filter_by_kind_client_and_period(client, finance, owner, outsider):
    _deposit(wallet_for_client(client=owner.client, currency="USD"), "10", "mine")
    _deposit(
        wallet_for_client(client=outsider.client, currency="USD"),
        "20",
        "theirs",
        at=timezone.now() - timedelta(days=40),
    )
    mine = client.get(f"/backoffice/ledger/journals/?client={owner.email}")
    assert [j.idempotency_key for j, _ in mine.context["rows"]] == ["mine"]
    by_id = client.get(f"/backoffice/ledger/journals/?client=%23{outsider.client.pk}")
    assert [j.idempotency_key for j, _ in by_id.context["rows"]] == ["theirs"]
    recent = client.get(
        f"/backoffice/ledger/journals/?start={(timezone.now() - timedelta(days=7)).date()}"
    )
    assert [j.idempotency_key for j, _ in recent.context["rows"]] == ["mine"]
    assert client.get("/backoffice/ledger/journals/?kind=conversion").context["rows"] == []
    [(_, totals)] = mine.context["rows"]
    assert totals == [(D("10.00"), "USD")]


def test_a_journal_shows_its_entries_metadata_and_actor(client, finance, owner, usd_eur_rate):
    _deposit(wallet_for_client(client=owner.client, currency="USD"), "100.00", "d1")
    client.force_login(owner)
    token = _quote(client, amount="100").context["token"]
    client.post("/portal/wallets/convert/", {"confirm": "1", "token": token})
    login_staff(client, finance)
    journal = Journal.objects.get(kind="conversion")
    response = client.get(f"/backoffice/ledger/journals/{journal.pk}/")
    body = response.content.decode()
    assert len(response.context["lines"]) == 5  # two wallets, two FX liquidity, FX revenue
    assert "Converted 100.00 USD to 91.88 EUR at 0.92345" in body
    assert owner.email in body
    assert "<dt>fee</dt><dd>0.46</dd>" in body


def test_the_trial_balance_totals_each_currency_to_zero(client, finance, owner):
    _deposit(wallet_for_client(client=owner.client, currency="USD"), "100.00", "d1")
    response = client.get("/backoffice/ledger/trial-balance/")
    [usd] = response.context["currencies"]
    assert (usd.currency, usd.debits, usd.credits, usd.balance) == (
        "USD",
        D("100.00"),
        D("100.00"),
        D("0.00"),
    )
    assert '<span class="status status-ok">Balanced</span>' in response.content.decode()
    before = client.get("/backoffice/ledger/trial-balance/?end=2000-01-01")
    assert before.context["currencies"] == []


def test_the_trial_balance_says_in_red_when_a_currency_does_not_balance(
    client, finance, monkeypatch
):
    broken = TrialBalanceCurrency(
        currency="EUR",
        rows=[("wallet", "Client wallet", D("0.00"), D("5.00"), D("5.00"))],
        debits=D("0.00"),
        credits=D("5.00"),
    )
    monkeypatch.setattr(
        "wallets.selectors.trial_balance_by_currency", lambda *, as_of=None: [broken]
    )
    body = client.get("/backoffice/ledger/trial-balance/").content.decode()
    assert '<span class="status status-bad">Out of balance by 5.00 EUR</span>' in body


def test_finance_edits_a_rate_and_the_next_quote_uses_it(client, finance, usd_eur_rate):
    response = client.post(
        f"/backoffice/ledger/fx-rates/{usd_eur_rate.pk}/",
        {"base": "GBP", "quote": "JPY", "rate": "0.95", "markup": "0.002"},
        follow=True,
    )
    assert "USD → EUR now converts at 0.95 with a markup of 0.200 %." in response.content.decode()
    usd_eur_rate.refresh_from_db()
    # The pair itself can't be changed by editing it (the fields are disabled).
    assert (usd_eur_rate.base_id, usd_eur_rate.quote_id) == ("USD", "EUR")
    assert (usd_eur_rate.rate, usd_eur_rate.markup, usd_eur_rate.updated_by) == (
        D("0.95"),
        D("0.002"),
        finance,
    )
    bad = client.post(
        "/backoffice/ledger/fx-rates/new/",
        {"base": "EUR", "quote": "EUR", "rate": "0", "markup": "0.5"},
    )
    assert bad.context["form"].errors == {
        "quote": ["A rate is between two different currencies."],
        "rate": ["The rate must be greater than zero."],
        "markup": ["The markup can be at most 0.1, that is 10 percent."],
    }


def test_a_rate_change_is_in_the_audit_trail_with_who_made_it(client, finance, usd_eur_rate):
    from pghistory.models import MiddlewareEvents

    client.post(
        f"/backoffice/ledger/fx-rates/{usd_eur_rate.pk}/", {"rate": "0.95", "markup": "0.002"}
    )
    [event] = MiddlewareEvents.objects.filter(pgh_obj_model="wallets.FxRate", pgh_label="update")
    assert event.pgh_context["user"] == finance.pk
    assert event.pgh_diff["rate"] == [0.92345, 0.95]
