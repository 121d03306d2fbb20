"""The CRM against the bundled MT5 simulator over real HTTP: our client, our sync, its server.
The simulator runs on a broker clock (New York + 7 h), so a UTC mix-up fails here."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from brokerage.secrets_box import seal
from clients.models import BalanceOperation, Deal, TradingAccount, TradingServer
from clients.platforms.webapi import close_all_sessions
from clients.sync import deals_rescan, deals_sync, state_refresh
from clients.trading_services import (
    balance_operation_request,
    balance_operation_send,
    trading_account_open,
)
from kyc.services import case_for_client
from mt5sim import DEFAULT_MANAGER_LOGIN, DEFAULT_MANAGER_PASSWORD, SimServer, Simulator
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sim():
    return Simulator(seed=11, traders=3)


@pytest.fixture
def server(sim):
    with SimServer(sim, port=0) as srv:
        yield srv
    close_all_sessions()


@pytest.fixture
def mt5(server):
    return TradingServer.objects.create(
        name="Simulated Live",
        url=server.url,
        manager_login=DEFAULT_MANAGER_LOGIN,
        password_sealed=seal(DEFAULT_MANAGER_PASSWORD),
    )


def test_deals_arrive_with_utc_times_and_a_resync_writes_nothing(sim, mt5):
    logins = sorted(sim.users)[:3]
    end = datetime.now(UTC) - timedelta(minutes=5)
    sim.generate_deals(400, logins, end - timedelta(days=3), end)
    run = deals_sync(server=mt5, first_days=7)
    assert run.ok, run.error
    total = len(sim.deals)
    assert Deal.objects.filter(server=mt5).count() == total
    newest = Deal.objects.filter(server=mt5, action__in=[0, 1]).order_by("-time_msc").first()
    # Server clock ahead of UTC by 2 or 3 hours; our UTC time is within a minute of `end`.
    offset = newest.time_msc / 1000 - newest.time.timestamp()
    assert offset in (7200, 10800)
    assert abs(newest.time - end) < timedelta(minutes=2)
    again = deals_sync(server=mt5)
    assert again.ok and again.deals_written == 0


def test_a_dealer_edit_and_a_cancel_reach_us_through_the_rescan(sim, mt5):
    login = sorted(sim.users)[0]
    end = datetime.now(UTC) - timedelta(minutes=1)
    sim.generate_deals(10, [login], end - timedelta(hours=2), end)
    deals_sync(server=mt5, first_days=1)
    trade = Deal.objects.filter(server=mt5, action__in=[0, 1], entry=1).order_by("ticket").first()
    sim.dealer_edit(trade.ticket, {"Profit": "1.23"})
    sim.dealer_cancel(trade.ticket)
    run = deals_rescan(server=mt5, since=end - timedelta(hours=3), until=end + timedelta(minutes=5))
    assert run.ok and run.deals_written == 1
    trade.refresh_from_db()
    assert trade.profit == Decimal("1.23") and trade.action in (13, 14)


def test_a_lost_reply_after_a_deposit_is_looked_up_not_sent_again(sim, server, mt5):
    client = ClientFactory()
    case = case_for_client(client=client)
    case.level = 1
    case.save()
    opened = trading_account_open(client=client, server=mt5, group="real\\standard", leverage=100)
    assert len(opened.password) == 12 and opened.account.login >= 100000
    op = balance_operation_request(account=opened.account, amount=Decimal("500.00"))
    server.configure_faults({"balance_timeout": {"count": 1, "delay_ms": 50}})
    first = balance_operation_send(op=op)
    assert first.status == BalanceOperation.Status.UNKNOWN
    done = balance_operation_send(op=first)
    assert done.status == BalanceOperation.Status.DONE
    balance_deals = [
        d for d in sim.deals.values() if d.login == opened.account.login and d.action == 2
    ]
    assert len(balance_deals) == 1 and balance_deals[0].deal == done.deal_ticket
    state_refresh(server=mt5)
    snapshot = TradingAccount.objects.get(pk=opened.account.pk).snapshots.get()
    assert snapshot.balance == Decimal("500.00")


def test_a_registered_client_cannot_open_a_live_account(mt5):
    from clients.exceptions import ClientError

    with pytest.raises(ClientError, match="level 1"):
        trading_account_open(
            client=ClientFactory(), server=mt5, group="real\\standard", leverage=100
        )
