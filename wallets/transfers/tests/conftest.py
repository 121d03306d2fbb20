"""The transfer tests run against the bundled MT5 simulator over real HTTP."""

from __future__ import annotations

from decimal import Decimal

import pytest

from brokerage.secrets_box import seal
from clients.models import TradingProduct, TradingServer
from clients.platforms.webapi import close_all_sessions
from clients.trading_services import trading_account_open
from mt5sim import DEFAULT_MANAGER_LOGIN, DEFAULT_MANAGER_PASSWORD, SimServer, Simulator
from wallets.transfers.tests.factories import fund_wallet, verify


@pytest.fixture
def sim():
    return Simulator(seed=5, traders=0)


@pytest.fixture
def sim_server(sim):
    with SimServer(sim, port=0) as srv:
        yield srv
    close_all_sessions()


@pytest.fixture
def live_server_mt5(sim_server):
    return TradingServer.objects.create(
        name="Sim Live",
        url=sim_server.url,
        manager_login=DEFAULT_MANAGER_LOGIN,
        password_sealed=seal(DEFAULT_MANAGER_PASSWORD),
        is_live=True,
    )


@pytest.fixture
def demo_server_mt5(sim_server):
    return TradingServer.objects.create(
        name="Sim Demo",
        url=sim_server.url,
        manager_login=DEFAULT_MANAGER_LOGIN,
        password_sealed=seal(DEFAULT_MANAGER_PASSWORD),
        is_live=False,
    )


@pytest.fixture
def standard(live_server_mt5):
    return TradingProduct.objects.create(
        name="Standard",
        server=live_server_mt5,
        group="real\\standard",
        currency="USD",
        leverage_choices=[50, 100, 200],
        default_leverage=100,
        min_deposit=Decimal("100"),
    )


@pytest.fixture
def demo_product(demo_server_mt5):
    return TradingProduct.objects.create(
        name="Demo",
        server=demo_server_mt5,
        group="demo\\standard",
        currency="USD",
        leverage_choices=[100],
        default_leverage=100,
        demo_balance=Decimal("10000"),
    )


@pytest.fixture
def trader(owner):
    """A verified trader with 1,000.00 USD in the wallet."""
    client = verify(owner.client)
    fund_wallet(client, "1000.00")
    return client


@pytest.fixture
def live_account(trader, standard):
    return trading_account_open(client=trader, product=standard, leverage=100).account
