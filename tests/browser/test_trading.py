"""A trader reads their trading account and its history on a phone; the dealing desk reads
the trading servers' sync health. Data synced from the bundled simulator over HTTP."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from brokerage import roles
from brokerage.secrets_box import seal
from clients.models import TradingAccount, TradingServer
from clients.platforms.webapi import close_all_sessions
from clients.sync import deals_sync, state_refresh
from mt5sim import DEFAULT_MANAGER_LOGIN, DEFAULT_MANAGER_PASSWORD, SimServer, Simulator
from tests.factories import PASSWORD, ClientFactory, make_staff

from .conftest import PHONE, Tab
from .test_signup_flow import _log_in, _totp_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_trader_reads_their_account_and_dealing_reads_the_sync_health(tab: Tab):
    sim = Simulator(seed=3, traders=1)
    with SimServer(sim, port=0) as srv:
        login = sim.traders[0]
        end = datetime.now(UTC) - timedelta(minutes=2)
        sim.generate_deals(40, [login], end - timedelta(days=2), end)
        server = TradingServer.objects.create(
            name="Meridian Live", url=srv.url, manager_login=DEFAULT_MANAGER_LOGIN,
            password_sealed=seal(DEFAULT_MANAGER_PASSWORD),
        )  # fmt: skip
        trader = ClientFactory(user__first_name="Ines", user__last_name="Ortega")
        TradingAccount.objects.create(
            client=trader, server=server, login=login, group="real\\standard", leverage=100
        )
        assert deals_sync(server=server, first_days=3).ok
        assert state_refresh(server=server).ok
        close_all_sessions()

    page = tab.page
    _log_in(tab, trader.user.email, PASSWORD)
    page.goto(reverse("clients:portal-accounts"))
    card = page.get_by_role("article", name=f"Account {login}")
    expect(card).to_contain_text("Equity")
    page.set_viewport_size(PHONE)
    assert tab.scroll_width() <= PHONE["width"]
    tab.screenshots("portal-trading-accounts")
    card.get_by_role("link", name="Trade history").click()
    expect(page.get_by_text(re.compile(r"\d+ deals"))).to_be_visible()
    page.set_viewport_size(PHONE)
    assert tab.scroll_width() <= PHONE["width"]
    tab.screenshots("portal-trade-history")

    page.context.clear_cookies()
    dealer = make_staff(roles.DEALING, first_name="Dana", last_name="Dealer")
    _log_in(tab, dealer.email, PASSWORD)
    page.fill("input[name=code]", _totp_code(dealer))
    page.get_by_role("button", name="Sign In").click()
    expect(page).to_have_url(re.compile(re.escape(reverse("brokerage:dashboard")) + "$"))
    page.goto(reverse("clients:trading-health"))
    expect(page.get_by_role("article", name="Meridian Live")).to_contain_text("In sync")
    expect(page.locator("canvas[data-chart]")).to_have_attribute("data-chart-ready", "1")
    page.set_viewport_size(PHONE)
    # Chart.js redraws the canvas for the narrower screen on a later frame.
    for _ in range(40):
        if tab.scroll_width() <= PHONE["width"]:
            break
        page.wait_for_timeout(50)
    tab.screenshots("backoffice-trading-health")
    assert tab.errors == []
