"""A fake of the `MetaTrader5` PyPI package (spec section 3) backed by a `Simulator`.

Same function names and named-tuple fields as the real package, so a terminal adapter can be
tested off Windows. Like the real package it speaks floats (lots, prices, money) and server-
clock epoch seconds: that lossy surface is the point of the fake, so keep converting to
Decimal in the adapter. One fake "terminal" is logged into one account at a time.

    from mt5sim import terminal
    mt5 = terminal.FakeTerminal(sim)
    mt5.initialize(login=100000, password="Trader#2025", server="MT5Sim")
    mt5.history_deals_get(datetime(...), datetime(...))
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from .clock import utc_datetime_to_server
from .core import SimError, Simulator, compile_mask
from .model import ACTION_BUY, ACTION_SELL, VOLUME_EXT_PER_LOT, Deal, Position

TRADE_ACTION_DEAL = 1
TRADE_RETCODE_DONE = 10009
TRADE_RETCODE_INVALID = 10013
TRADE_RETCODE_NO_MONEY = 10019
RES_S_OK = 1
RES_E_FAIL = -1
RES_E_INVALID_PARAMS = -2
RES_E_AUTH_FAILED = -6
RES_E_NOT_FOUND = -4


class AccountInfo(NamedTuple):
    login: int
    trade_mode: int
    leverage: int
    limit_orders: int
    margin_so_mode: int
    trade_allowed: bool
    trade_expert: bool
    margin_mode: int
    currency_digits: int
    fifo_close: bool
    balance: float
    credit: float
    profit: float
    equity: float
    margin: float
    margin_free: float
    margin_level: float
    margin_so_call: float
    margin_so_so: float
    margin_initial: float
    margin_maintenance: float
    assets: float
    liabilities: float
    commission_blocked: float
    name: str
    server: str
    currency: str
    company: str


class TradeDeal(NamedTuple):
    ticket: int
    order: int
    time: int
    time_msc: int
    type: int
    entry: int
    magic: int
    position_id: int
    reason: int
    volume: float
    price: float
    commission: float
    swap: float
    profit: float
    fee: float
    symbol: str
    comment: str
    external_id: str


class TradePosition(NamedTuple):
    ticket: int
    time: int
    time_msc: int
    time_update: int
    time_update_msc: int
    type: int
    magic: int
    identifier: int
    reason: int
    volume: float
    price_open: float
    sl: float
    tp: float
    price_current: float
    swap: float
    profit: float
    symbol: str
    comment: str
    external_id: str


class Tick(NamedTuple):
    time: int
    bid: float
    ask: float
    last: float
    volume: int
    time_msc: int
    flags: int
    volume_real: float


class OrderSendResult(NamedTuple):
    retcode: int
    deal: int
    order: int
    volume: float
    price: float
    bid: float
    ask: float
    comment: str
    request_id: int
    retcode_external: int
    request: Any


def _server_seconds(when: datetime | int | float) -> int:
    if isinstance(when, datetime):
        if when.tzinfo is None:  # naive: taken as the server's wall clock
            return int((when - datetime(1970, 1, 1)).total_seconds())
        return utc_datetime_to_server(when)
    return int(when)


def _deal(d: Deal) -> TradeDeal:
    return TradeDeal(
        d.deal, d.order, d.time_msc // 1000, d.time_msc, d.action, d.entry, d.expert_id,
        d.position_id, d.reason, d.volume_ext / VOLUME_EXT_PER_LOT, float(d.price),
        float(d.commission), float(d.storage), float(d.profit), float(d.fee), d.symbol,
        d.comment, d.external_id,
    )  # fmt: skip


class FakeTerminal:
    """The MetaTrader5 module's functions, as methods; serialised like the real IPC."""

    def __init__(self, sim: Simulator, server_name: str = "MT5Sim-Server") -> None:
        self.sim = sim
        self.server_name = server_name
        self.login_: int | None = None
        self._error: tuple[int, str] = (RES_S_OK, "Success")
        self._lock = threading.Lock()

    def _fail(self, code: int, text: str) -> None:
        self._error = (code, text)

    def last_error(self) -> tuple[int, str]:
        return self._error

    def initialize(self, path: str | None = None, **kw: Any) -> bool:
        if "login" in kw:
            return self.login(kw["login"], password=kw.get("password", ""), server=kw.get("server"))
        self._error = (RES_S_OK, "Success")
        return True

    def login(self, login: int, password: str = "", server: str | None = None, timeout: int = 60000) -> bool:  # fmt: skip
        user = self.sim.users.get(int(login))
        if user is None or password not in (user.pass_main, user.pass_investor):
            self._fail(RES_E_AUTH_FAILED, "Authorization failed")
            return False
        self.login_ = user.login
        self._error = (RES_S_OK, "Success")
        return True

    def shutdown(self) -> None:
        self.login_ = None

    def _me(self) -> int | None:
        if self.login_ is None:
            self._fail(RES_E_FAIL, "Terminal: not logged in")
        return self.login_

    def account_info(self) -> AccountInfo | None:
        login = self._me()
        if login is None:
            return None
        with self.sim.lock:
            user = self.sim.users[login]
            group = self.sim.groups[user.group]
            st = self.sim.account(login)
            f = {k: float(v) for k, v in st.items()}
            return AccountInfo(
                login, 2 if user.group.startswith("real") else 0, user.leverage, 200, 0,
                True, True, 2, group.currency_digits, False, f["Balance"], f["Credit"],
                f["Profit"], f["Equity"], f["Margin"], f["MarginFree"], f["MarginLevel"],
                float(group.margin_call), float(group.margin_stopout), 0.0, 0.0, 0.0, 0.0, 0.0,
                user.name, self.server_name, group.currency, "MT5 Simulator",
            )  # fmt: skip

    def history_deals_get(
        self,
        date_from: datetime | int | None = None,
        date_to: datetime | int | None = None,
        *,
        group: str | None = None,
        ticket: int | None = None,
        position: int | None = None,
    ) -> tuple[TradeDeal, ...] | None:
        login = self._me()
        if login is None:
            return None
        with self.sim.lock:
            mine = [self.sim.deals[t] for t in self.sim.deals_by_login.get(login, [])]
            if ticket is not None:
                found = [d for d in mine if d.deal == ticket]
            elif position is not None:
                found = [d for d in mine if d.position_id == position]
            else:
                if date_from is None or date_to is None:
                    self._fail(RES_E_INVALID_PARAMS, "Invalid arguments")
                    return None
                lo = _server_seconds(date_from) * 1000
                hi = _server_seconds(date_to) * 1000 + 999
                found = [d for d in mine if lo <= d.time_msc <= hi]
                if group:
                    m = compile_mask(group)
                    found = [d for d in found if m(d.symbol)]
            return tuple(_deal(d) for d in found)

    def _position(self, p: Position) -> TradePosition:
        price, profit = self.sim.position_profit(p)
        return TradePosition(
            p.position, p.time_create_msc // 1000, p.time_create_msc, p.time_update_msc // 1000,
            p.time_update_msc, p.action, p.expert_id, p.position, 0,
            p.volume_ext / VOLUME_EXT_PER_LOT, float(p.price_open), 0.0, 0.0, float(price),
            float(p.storage), float(profit), p.symbol, p.comment, "",
        )  # fmt: skip

    def positions_get(
        self, symbol: str | None = None, group: str | None = None, ticket: int | None = None
    ) -> tuple[TradePosition, ...] | None:
        login = self._me()
        if login is None:
            return None
        with self.sim.lock:
            found = [p for p in self.sim.positions.values() if p.login == login]
            if ticket is not None:
                found = [p for p in found if p.position == ticket]
            if symbol:
                found = [p for p in found if p.symbol == symbol]
            if group:
                m = compile_mask(group)
                found = [p for p in found if m(p.symbol)]
            return tuple(self._position(p) for p in found)

    def positions_total(self) -> int:
        return len(self.positions_get() or ())

    def symbol_info_tick(self, symbol: str) -> Tick | None:
        sym = self.sim.symbols.get(symbol)
        if sym is None:
            self._fail(RES_E_NOT_FOUND, "Symbol not found")
            return None
        return Tick(
            sym.tick_msc // 1000, float(sym.bid), float(sym.ask), 0.0, 0, sym.tick_msc, 6, 0.0
        )

    def order_send(self, request: dict[str, Any]) -> OrderSendResult | None:
        login = self._me()
        if login is None:
            return None

        def result(code: int, deal: int = 0, order: int = 0, volume: float = 0.0, price: float = 0.0, comment: str = "") -> OrderSendResult:  # fmt: skip
            sym = self.sim.symbols.get(str(request.get("symbol", "")))
            bid = float(sym.bid) if sym else 0.0
            ask = float(sym.ask) if sym else 0.0
            return OrderSendResult(
                code, deal, order, volume, price, bid, ask, comment, 1, 0, request
            )

        with self._lock, self.sim.lock:
            if request.get("action") != TRADE_ACTION_DEAL or request.get("type") not in (
                ACTION_BUY,
                ACTION_SELL,
            ):
                return result(TRADE_RETCODE_INVALID, comment="Invalid request")  # fmt: skip
            volume_ext = round(float(request.get("volume", 0)) * VOLUME_EXT_PER_LOT)
            try:
                if request.get("position"):
                    pos = self.sim.positions.get(int(request["position"]))
                    if pos is None or pos.login != login:
                        raise SimError(13, "Not found")
                    out = self.sim.close_position(pos.position)
                    return result(TRADE_RETCODE_DONE, out.deal, out.order, out.volume_ext / VOLUME_EXT_PER_LOT, float(out.price), "Request executed")  # fmt: skip
                sym = self.sim.symbol(str(request.get("symbol", "")))
                if volume_ext < sym.volume_min or volume_ext % sym.volume_step:
                    return result(TRADE_RETCODE_INVALID, comment="Invalid volume")
                price = sym.ask if request["type"] == ACTION_BUY else sym.bid
                leverage = self.sim.users[login].leverage
                free = self.sim.account(login)["MarginFree"]
                if self.sim.margin_for(sym.name, volume_ext, price, leverage) > free:
                    return result(TRADE_RETCODE_NO_MONEY, comment="No money")
                opened = self.sim.open_position(login, sym.name, int(request["type"]), volume_ext)
            except SimError as e:
                return result(TRADE_RETCODE_INVALID, comment=e.text)
            deal = self.sim.deals[self.sim.deals_by_login[login][-1]]
            return result(TRADE_RETCODE_DONE, deal.deal, opened.position, volume_ext / VOLUME_EXT_PER_LOT, float(opened.price_open), "Request executed")  # fmt: skip


__all__: Sequence[str] = [
    "AccountInfo",
    "FakeTerminal",
    "OrderSendResult",
    "Tick",
    "TradeDeal",
    "TradePosition",
]
