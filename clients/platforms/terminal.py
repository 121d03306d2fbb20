"""Adapter over the ``MetaTrader5`` package (Windows only; specs/mt5-webapi.md §3).

The package drives a running terminal logged into one trading account, so this adapter
reads that account only: its state, deals, positions and ticks. Everything else raises
``NotSupported``. The package is imported when first needed, never at module import,
and every call goes through one lock (the package's IPC is not safe to share).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from types import ModuleType
from typing import Any, NoReturn

from .base import (
    KNOWN_DEAL_ACTIONS,
    AccountPatch,
    AccountRecord,
    AccountState,
    AuthFailed,
    BalanceOp,
    BalanceResult,
    Capability,
    Deal,
    GroupInfo,
    NewAccount,
    NotSupported,
    Position,
    Selector,
    ServerTime,
    SymbolInfo,
    Tick,
    Transient,
    to_decimal,
    to_int,
    to_str,
)
from .clock import ServerClock

LOTS_TO_EXT = Decimal(100_000_000)
# The package's date arguments are documented as UTC but behave as server time on
# some builds; query a day wider on both sides and filter on our own UTC conversion.
QUERY_MARGIN = timedelta(days=1)


def _volume_ext(lots: Any) -> int:
    return int(to_decimal(lots) * LOTS_TO_EXT)


class TerminalPlatform:
    capabilities = frozenset(
        {
            Capability.PING,
            Capability.ACCOUNT_STATE,
            Capability.FETCH_DEALS,
            Capability.LIST_POSITIONS,
            Capability.LAST_TICKS,
        }
    )

    def __init__(
        self,
        *,
        login: int | None = None,
        password: str | None = None,
        server: str | None = None,
        path: str | None = None,
        timeout_ms: int = 60_000,
        clock: ServerClock | None = None,
        module: ModuleType | Any | None = None,
    ) -> None:
        """``module``: an object with the MetaTrader5 functions (tests pass a fake)."""
        self._login = login
        self._password = password
        self._server = server
        self._path = path
        self._timeout_ms = timeout_ms
        self.clock = clock or ServerClock()
        self._module = module
        self._initialized = False
        self._lock = threading.Lock()

    # -- plumbing

    def _mt5(self) -> Any:
        """The package, initialised; call with the lock held."""
        if self._module is None:
            try:
                self._module = importlib.import_module("MetaTrader5")
            except ImportError as exc:
                raise NotSupported(
                    "the MetaTrader5 package is not installed (Windows only: pip install '.[mt5]')"
                ) from exc
        mt5 = self._module
        if not self._initialized:
            kwargs: dict[str, Any] = {"timeout": self._timeout_ms}
            if self._path:
                kwargs["path"] = self._path
            if self._login is not None:
                kwargs.update(login=int(self._login), password=self._password, server=self._server)
            if not mt5.initialize(**kwargs):
                code, message = mt5.last_error()
                error = AuthFailed if self._login is not None and code == -6 else Transient
                raise error(f"MetaTrader5.initialize failed: {code} {message}", retcode=code)
            self._initialized = True
        return mt5

    def _failure(self, mt5: Any, what: str) -> NoReturn:
        code, message = mt5.last_error()
        self._initialized = False  # the terminal may have gone; initialise again next time
        raise Transient(f"MetaTrader5.{what} failed: {code} {message}", retcode=code)

    def _account_info(self, mt5: Any) -> Any:
        info = mt5.account_info()
        if info is None:
            self._failure(mt5, "account_info")
        return info

    def _unsupported(self, what: str) -> NoReturn:
        raise NotSupported(f"the MetaTrader5 terminal adapter cannot {what}")

    def close(self) -> None:
        with self._lock:
            if self._initialized and self._module is not None:
                self._module.shutdown()
            self._initialized = False

    # -- reads of the logged-in account

    def ping(self) -> None:
        with self._lock:
            self._account_info(self._mt5())

    def get_account_state(self, login: int) -> AccountState:
        with self._lock:
            mt5 = self._mt5()
            info = self._account_info(mt5)
            if int(info.login) != int(login):
                raise NotSupported(
                    f"the terminal is logged into {info.login}; it cannot read account {login}"
                )
        return AccountState(
            login=int(info.login),
            balance=to_decimal(info.balance),
            credit=to_decimal(info.credit),
            equity=to_decimal(info.equity),
            margin=to_decimal(info.margin),
            margin_free=to_decimal(info.margin_free),
            margin_level=to_decimal(info.margin_level),
            profit=to_decimal(info.profit),
            currency_digits=int(info.currency_digits),
        )

    def _deal(self, login: int, d: Any) -> Deal:
        time_msc = to_int(d.time_msc) or to_int(d.time) * 1000
        action = int(d.type)
        return Deal(
            ticket=int(d.ticket),
            login=login,
            order=int(d.order),
            position_id=int(d.position_id),
            action=action,
            action_known=action in KNOWN_DEAL_ACTIONS,
            entry=int(d.entry),
            reason=int(d.reason),
            time=self.clock.to_utc_ms(time_msc),
            time_msc=time_msc,
            symbol=to_str(d.symbol),
            price=to_decimal(d.price),
            volume_ext=_volume_ext(d.volume),
            profit=to_decimal(d.profit),
            swap=to_decimal(d.swap),
            commission=to_decimal(d.commission),
            fee=to_decimal(getattr(d, "fee", 0)),
            comment=to_str(d.comment),
            external_id=to_str(d.external_id),
            magic=int(d.magic),
            raw=dict(d._asdict()),
        )

    def fetch_deals(
        self, selector: Selector | Sequence[int] | str, since: datetime, until: datetime
    ) -> list[Deal]:
        selector = Selector.coerce(selector)
        if selector.group:
            self._unsupported("select deals by group")
        with self._lock:
            mt5 = self._mt5()
            login = int(self._account_info(mt5).login)
            if set(selector.logins) != {login}:
                raise NotSupported(f"the terminal can only read its own account {login}")
            rows = mt5.history_deals_get(since - QUERY_MARGIN, until + QUERY_MARGIN)
            if rows is None:
                self._failure(mt5, "history_deals_get")
        deals = [self._deal(login, row) for row in rows]
        deals = [d for d in deals if since <= d.time <= until]
        return sorted(deals, key=lambda d: (d.time_msc, d.ticket))

    def list_positions(self, selector: Selector | Sequence[int] | str) -> list[Position]:
        selector = Selector.coerce(selector)
        if selector.group:
            self._unsupported("select positions by group")
        with self._lock:
            mt5 = self._mt5()
            login = int(self._account_info(mt5).login)
            if set(selector.logins) != {login}:
                raise NotSupported(f"the terminal can only read its own account {login}")
            rows = mt5.positions_get()
            if rows is None:
                self._failure(mt5, "positions_get")
        positions = []
        for p in rows:
            create_msc = to_int(p.time_msc) or to_int(p.time) * 1000
            update_msc = to_int(p.time_update_msc) or to_int(p.time_update) * 1000
            positions.append(
                Position(
                    ticket=int(p.identifier) or int(p.ticket),
                    login=login,
                    symbol=to_str(p.symbol),
                    action=int(p.type),
                    volume_ext=_volume_ext(p.volume),
                    price_open=to_decimal(p.price_open),
                    price_current=to_decimal(p.price_current),
                    sl=to_decimal(p.sl),
                    tp=to_decimal(p.tp),
                    profit=to_decimal(p.profit),
                    swap=to_decimal(p.swap),
                    time_create=self.clock.to_utc_ms(create_msc),
                    time_create_msc=create_msc,
                    time_update=self.clock.to_utc_ms(update_msc),
                    time_update_msc=update_msc,
                    comment=to_str(p.comment),
                    magic=int(p.magic),
                )
            )
        return positions

    def last_ticks(self, symbols: Sequence[str]) -> list[Tick]:
        """Ticks of the symbols the terminal knows; unknown symbols are left out."""
        ticks = []
        with self._lock:
            mt5 = self._mt5()
            for symbol in symbols:
                t = mt5.symbol_info_tick(symbol)
                if t is None:
                    continue
                time_msc = to_int(t.time_msc) or to_int(t.time) * 1000
                ticks.append(
                    Tick(
                        symbol=symbol,
                        bid=to_decimal(t.bid),
                        ask=to_decimal(t.ask),
                        last=to_decimal(t.last),
                        time=self.clock.to_utc_ms(time_msc),
                        time_msc=time_msc,
                    )
                )
        return ticks

    # -- not possible through a terminal

    def create_account(self, new: NewAccount) -> AccountRecord:
        self._unsupported("create accounts")

    def get_account(self, login: int) -> AccountRecord:
        self._unsupported("read user records")

    def update_account(self, login: int, patch: AccountPatch) -> AccountRecord:
        self._unsupported("update accounts")

    def apply_balance_op(self, op: BalanceOp) -> BalanceResult:
        self._unsupported("apply balance operations")

    def find_balance_op(
        self, login: int, op_ref: str, since: datetime, *, kind: int | None = None
    ) -> Deal | None:
        self._unsupported("look up balance operations")

    def get_group(self, name: str) -> GroupInfo:
        self._unsupported("read groups")

    def get_symbol(self, name: str) -> SymbolInfo:
        self._unsupported("read symbol settings")

    def server_time(self) -> ServerTime:
        self._unsupported("read the server time")


def build(**config: Any) -> TerminalPlatform:
    zone = config.pop("zone", None)
    shift = config.pop("shift_hours", None)
    if "clock" not in config and (zone is not None or shift is not None):
        config["clock"] = ServerClock(
            zone=zone or "America/New_York", shift_hours=7 if shift is None else shift
        )
    return TerminalPlatform(**config)
