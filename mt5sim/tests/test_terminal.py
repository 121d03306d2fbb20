from __future__ import annotations

from datetime import timedelta

import pytest

from mt5sim import ManualClock, Simulator
from mt5sim.core import TRADER_PASSWORD
from mt5sim.terminal import TRADE_ACTION_DEAL, TRADE_RETCODE_DONE, FakeTerminal

from .conftest import START


@pytest.fixture
def mt5(sim: Simulator) -> FakeTerminal:
    t = FakeTerminal(sim)
    assert t.initialize(login=sim.traders[0], password=TRADER_PASSWORD, server="MT5Sim")
    return t


def test_login_is_checked(sim: Simulator):
    t = FakeTerminal(sim)
    assert not t.login(sim.traders[0], password="nope")
    assert t.last_error()[0] < 0
    assert t.account_info() is None


def test_trading_and_history_through_the_terminal_api(
    mt5: FakeTerminal, sim: Simulator, clock: ManualClock
):
    login = sim.traders[0]
    info = mt5.account_info()
    assert info is not None and info.login == login and info.balance == 10000.0
    opened = mt5.order_send(
        {"action": TRADE_ACTION_DEAL, "symbol": "EURUSD", "type": 0, "volume": 0.1}
    )
    assert opened is not None and opened.retcode == TRADE_RETCODE_DONE
    (pos,) = mt5.positions_get()
    assert pos.symbol == "EURUSD" and pos.volume == 0.1 and pos.identifier == opened.order
    clock.advance(60)
    sim.symbols["EURUSD"].bid_points += 100
    closed = mt5.order_send(
        {"action": TRADE_ACTION_DEAL, "symbol": "EURUSD", "type": 1, "volume": 0.1,
         "position": pos.ticket}
    )  # fmt: skip
    assert closed is not None and closed.retcode == TRADE_RETCODE_DONE
    assert mt5.positions_get() == ()
    deals = mt5.history_deals_get(START - timedelta(days=1), START + timedelta(days=1))
    assert deals is not None
    assert [(d.type, d.entry) for d in deals] == [(2, 0), (0, 0), (1, 1)]
    assert deals[2].profit == 8.8 and deals[2].position_id == pos.ticket  # 88 points, 0.1 lot
    # Times are server time, like the Web API.
    assert deals[0].time == sim.deals[deals[0].ticket].time_msc // 1000
    assert mt5.history_deals_get(position=pos.ticket) == deals[1:]
    assert mt5.history_deals_get(START - timedelta(days=1), START, group="XAU*") == ()
    tick = mt5.symbol_info_tick("EURUSD")
    assert tick is not None and tick.ask > tick.bid


def test_an_order_over_free_margin_gets_no_money(mt5: FakeTerminal):
    r = mt5.order_send({"action": TRADE_ACTION_DEAL, "symbol": "BTCUSD", "type": 0, "volume": 20})
    assert r is not None and r.retcode == 10019
