"""A stand-in for the Windows-only ``MetaTrader5`` package: same function names and
named tuples (specs/mt5-webapi.md §3), floats where the package has floats, and times on
the trade server's clock. State is module-level, like the real package; ``reset()`` it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

# The package's named tuples, as the simulator's own fake of the package defines them.
from mt5sim.terminal import AccountInfo, Tick, TradeDeal, TradePosition  # noqa: E402

__all__ = ["AccountInfo", "Tick", "TradeDeal", "TradePosition"]

account: AccountInfo | None = None
deals: list[TradeDeal] = []
positions: list[TradePosition] = []
ticks: dict[str, Tick] = {}
calls: list[tuple[str, Any]] = []
initialized = False
fail_initialize = False
error: tuple[int, str] = (1, "Success")


def reset() -> None:
    global account, initialized, fail_initialize, error
    account = make_account()
    deals.clear()
    positions.clear()
    ticks.clear()
    calls.clear()
    initialized = False
    fail_initialize = False
    error = (1, "Success")


def make_account(**fields: Any) -> AccountInfo:
    values: dict[str, Any] = {
        "login": 5001234,
        "trade_mode": 0,
        "leverage": 100,
        "limit_orders": 200,
        "margin_so_mode": 0,
        "trade_allowed": True,
        "trade_expert": True,
        "margin_mode": 2,
        "currency_digits": 2,
        "fifo_close": False,
        "balance": 10000.1,
        "credit": 0.0,
        "profit": -52.7,
        "equity": 9947.4,
        "margin": 108.51,
        "margin_free": 9838.89,
        "margin_level": 9167.26,
        "margin_so_call": 100.0,
        "margin_so_so": 50.0,
        "margin_initial": 0.0,
        "margin_maintenance": 0.0,
        "assets": 0.0,
        "liabilities": 0.0,
        "commission_blocked": 0.0,
        "name": "Jane Doe",
        "server": "Broker-Demo",
        "currency": "USD",
        "company": "Broker Ltd",
    }
    values.update(fields)
    return AccountInfo(**values)


def initialize(path: str | None = None, **kwargs: Any) -> bool:
    global initialized, error
    calls.append(("initialize", kwargs))
    if fail_initialize:
        error = (-6, "Terminal: Authorization failed")
        return False
    initialized = True
    return True


def login(login: int, password: str = "", server: str = "", timeout: int = 60000) -> bool:
    calls.append(("login", login))
    return True


def shutdown() -> None:
    global initialized
    calls.append(("shutdown", None))
    initialized = False


def last_error() -> tuple[int, str]:
    return error


def account_info() -> AccountInfo | None:
    calls.append(("account_info", None))
    return account if initialized else None


def history_deals_get(
    date_from: datetime | None = None, date_to: datetime | None = None, **kwargs: Any
) -> tuple[TradeDeal, ...] | None:
    calls.append(("history_deals_get", (date_from, date_to)))
    if not initialized:
        return None
    return tuple(deals)


def positions_get(**kwargs: Any) -> tuple[TradePosition, ...] | None:
    calls.append(("positions_get", kwargs))
    return tuple(positions) if initialized else None


def symbol_info_tick(symbol: str) -> Tick | None:
    calls.append(("symbol_info_tick", symbol))
    return ticks.get(symbol)


def order_send(request: dict[str, Any]) -> None:
    raise NotImplementedError("not used by the adapter")
