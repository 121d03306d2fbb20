"""Opening a trading account from a product in the portal, against the simulator over HTTP:
the KYC gate with its reason, a demo account's virtual balance as a real balance operation,
the passwords shown once and kept nowhere."""

from __future__ import annotations

import html
import logging
from decimal import Decimal

import pytest

from brokerage import roles
from brokerage.secrets_box import seal
from clients.exceptions import ClientError
from clients.models import BalanceOperation, TradingAccount, TradingProduct, TradingServer
from clients.platforms.webapi import close_all_sessions
from clients.trading_services import trading_account_open
from kyc.services import case_for_client
from mt5sim import DEFAULT_MANAGER_LOGIN, DEFAULT_MANAGER_PASSWORD, SimServer, Simulator
from tests.factories import login_staff, make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def sim():
    return Simulator(seed=3, traders=0)


@pytest.fixture
def sim_server(sim):
    with SimServer(sim, port=0) as srv:
        yield srv
    close_all_sessions()


@pytest.fixture
def sim_url(sim_server):
    return sim_server.url


def _server(url: str, *, live: bool) -> TradingServer:
    return TradingServer.objects.create(
        name="Sim Live" if live else "Sim Demo",
        url=url,
        manager_login=DEFAULT_MANAGER_LOGIN,
        password_sealed=seal(DEFAULT_MANAGER_PASSWORD),
        is_live=live,
    )


@pytest.fixture
def standard(sim_url):
    return TradingProduct.objects.create(
        name="Standard",
        server=_server(sim_url, live=True),
        group="real\\standard",
        leverage_choices=[50, 100, 200],
        default_leverage=100,
        min_deposit=Decimal("100"),
        sort_order=1,
    )


@pytest.fixture
def demo(sim_url):
    return TradingProduct.objects.create(
        name="Demo",
        server=_server(sim_url, live=False),
        group="demo\\standard",
        leverage_choices=[100, 500],
        default_leverage=100,
        demo_balance=Decimal("10000"),
        sort_order=2,
    )


def test_a_demo_account_gets_its_virtual_balance_on_the_server(client, owner, sim, demo, caplog):
    caplog.set_level(logging.DEBUG)
    client.force_login(owner)
    response = client.post("/portal/accounts/open/", {"product": demo.pk, "leverage": "500"})
    page = response.content.decode()
    account = TradingAccount.objects.get(client=owner.client)
    assert not account.is_live and account.product == demo and account.leverage == 500
    assert sim.users[account.login].balance == Decimal("10000.00")
    funding = BalanceOperation.objects.get(account=account)
    assert funding.status == BalanceOperation.Status.DONE and funding.amount == Decimal("10000")
    assert f'<code id="mt5-login">{account.login}</code>' in page
    assert "10,000.00" in page and "virtual money is on the account" in page
    # The passwords: in this response only, never cached, never in the session.
    password = html.unescape(page.split('<code id="mt5-password">')[1].split("</code>")[0])
    assert len(password) == 12 and 'data-copy="mt5-password"' in page
    assert "no-store" in response["Cache-Control"]
    assert password not in str(dict(client.session.items()))
    assert password not in caplog.text
    assert password not in client.get("/portal/accounts/").content.decode()


def test_kyc_blocks_a_live_account_and_says_what_to_do(client, owner, standard, demo):
    client.force_login(owner)  # registered only: level 0
    form = client.get("/portal/accounts/open/").content.decode()
    assert "Opening a live account needs identity verified status (level 1)" in form
    page = client.post(
        "/portal/accounts/open/", {"product": standard.pk, "leverage": "100"}
    ).content.decode()
    assert "You can't open a Standard account yet" in page
    assert "you are at level 0, registered." in page
    assert "Upload a passport or national ID card" in page
    assert not TradingAccount.objects.exists()


def test_only_the_products_leverages_can_be_chosen(client, owner, standard, demo):
    case = case_for_client(client=owner.client)
    case.level = 1
    case.save()
    client.force_login(owner)
    partial = client.get(
        "/portal/accounts/open/", {"product": standard.pk}, headers={"HX-Request": "true"}
    ).content.decode()
    assert "1:200" in partial and "1:500" not in partial and "<html" not in partial
    page = client.post(
        "/portal/accounts/open/", {"product": standard.pk, "leverage": "500"}
    ).content.decode()
    assert "Choose one of the leverages this account type offers." in page
    assert not TradingAccount.objects.exists()
    with pytest.raises(ClientError, match="Choose a leverage offered for the Standard account"):
        trading_account_open(client=owner.client, product=standard, leverage=500)
    opened = trading_account_open(client=owner.client, product=standard, leverage=200)
    assert opened.account.is_live and opened.funding is None  # live: no virtual money
    assert opened.password not in repr(opened)


def test_dealing_edits_products_and_others_only_read(client, standard):
    dealer = make_staff(roles.DEALING)
    login_staff(client, dealer)
    response = client.post(
        f"/backoffice/trading/products/{standard.pk}/",
        {
            "name": "Standard",
            "server": standard.server_id,
            "group": "real\\standard",
            "currency": "USD",
            "leverage_text": "1:50, 100, 300",
            "default_leverage": "100",
            "min_deposit": "250",
            "demo_balance": "0",
            "enabled": "on",
            "sort_order": "1",
        },
    )
    assert response.status_code == 302
    standard.refresh_from_db()
    assert standard.leverage_choices == [50, 100, 300] and standard.min_deposit == Decimal("250")
    bad = client.post(
        "/backoffice/trading/products/new/",
        {
            "name": "Broken",
            "server": standard.server_id,
            "group": "real\\pro",
            "currency": "USD",
            "leverage_text": "fifty",
            "default_leverage": "100",
            "min_deposit": "0",
            "demo_balance": "0",
            "sort_order": "2",
        },
    ).content.decode()
    assert "Write the ratios as whole numbers separated by commas" in bad
    auditor = make_staff(roles.AUDITOR)
    login_staff(client, auditor)
    listing = client.get("/backoffice/trading/products/").content.decode()
    assert "Standard" in listing and "1:50, 1:100, 1:300" in listing and "Edit" not in listing


def test_a_lost_reply_to_the_demo_funding_is_looked_up_later_not_paid_twice(
    client, owner, sim, sim_server, demo
):
    from datetime import timedelta

    from django.utils import timezone

    from clients.tasks import resolve_balance_ops

    client.force_login(owner)
    sim_server.configure_faults({"balance_timeout": {"count": 1, "delay_ms": 50}})
    page = client.post("/portal/accounts/open/", {"product": demo.pk, "leverage": "100"})
    assert "virtual money is on its way" in page.content.decode()
    funding = BalanceOperation.objects.get()
    assert funding.status == BalanceOperation.Status.UNKNOWN
    BalanceOperation.objects.filter(pk=funding.pk).update(
        created_at=timezone.now() - timedelta(minutes=2)
    )
    assert resolve_balance_ops() == 1
    funding.refresh_from_db()
    assert funding.status == BalanceOperation.Status.DONE
    login = funding.account.login
    assert sim.users[login].balance == Decimal("10000.00")
    assert [d.action for d in sim.deals.values() if d.login == login] == [2]
