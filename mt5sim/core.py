"""The simulated trade server: groups, symbols, users, deals, positions, a market and traders.

Everything is in memory behind one lock; the HTTP layer (`mt5sim.server`) only parses and
formats. Operations raise `SimError(retcode, text)`, which the server turns into an HTTP 200
reply with that retcode, as MT5 does for business errors.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import tempfile
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from .clock import Clock, SystemClock, utc_datetime_to_server, utc_to_server_msc
from .model import (
    ACTION_BUY,
    ACTION_BUY_CANCELED,
    ACTION_CREDIT,
    ACTION_SELL,
    ACTION_SELL_CANCELED,
    BALANCE_TYPES,
    ENTRY_IN,
    ENTRY_OUT,
    REASON_CLIENT,
    REASON_DEALER,
    REASON_EXPERT,
    USER_TEXT_FIELDS,
    VOLUME_EXT_PER_LOT,
    Deal,
    Group,
    Position,
    Symbol,
    User,
    q,
)

DEFAULT_LOGIN_RANGE = (100_000, 199_999)
DEFAULT_MANAGER_LOGIN = 1000
DEFAULT_MANAGER_PASSWORD = "Manager#2025"  # noqa: S105 - the simulator's documented default
TRADER_PASSWORD = "Trader#2025"  # noqa: S105
MAX_BALANCE_AMOUNT = Decimal("1000000000")
COMMENT_LIMIT = 31
PAGE_LIMIT = 100
STATE_VERSION = 1


class SimError(Exception):
    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"{code} {text}")
        self.code = code
        self.text = text

    @property
    def retcode(self) -> str:
        return f"{self.code} {self.text}"


def invalid(what: str) -> SimError:
    return SimError(3, f"Invalid parameters: {what}")


def default_groups() -> list[Group]:
    return [
        Group("real\\standard", leverage=100),
        Group("real\\pro", leverage=500),
        Group("demo\\standard", leverage=100),
    ]


def _lots(n: str) -> int:
    return int(Decimal(n) * VOLUME_EXT_PER_LOT)


def default_symbols() -> list[Symbol]:
    fx_c, fx_s = Decimal("3.50"), Decimal("-0.70")
    return [
        Symbol("EURUSD", "Forex\\Majors\\EURUSD", "Euro vs US Dollar", 5, Decimal(100000),
               _lots("0.01"), _lots("100"), _lots("0.01"), "USD", True, fx_c, fx_s, 12, 8.0, 108_500),
        Symbol("GBPUSD", "Forex\\Majors\\GBPUSD", "Pound Sterling vs US Dollar", 5, Decimal(100000),
               _lots("0.01"), _lots("100"), _lots("0.01"), "USD", True, fx_c, fx_s, 15, 10.0, 127_000),
        Symbol("USDJPY", "Forex\\Majors\\USDJPY", "US Dollar vs Japanese Yen", 3, Decimal(100000),
               _lots("0.01"), _lots("100"), _lots("0.01"), "JPY", False, fx_c, Decimal("0.40"), 14, 9.0, 151_200),
        Symbol("XAUUSD", "Metals\\XAUUSD", "Gold vs US Dollar", 2, Decimal(100),
               _lots("0.01"), _lots("50"), _lots("0.01"), "USD", True, Decimal("5.00"), Decimal("-3.50"), 25, 40.0, 265_000),
        Symbol("US30", "Indices\\US30", "Dow Jones Industrial Average", 2, Decimal(1),
               _lots("0.1"), _lots("500"), _lots("0.1"), "USD", True, Decimal("0.50"), Decimal("-2.00"), 200, 900.0, 4_450_000),
        Symbol("BTCUSD", "Crypto\\BTCUSD", "Bitcoin vs US Dollar", 2, Decimal(1),
               _lots("0.01"), _lots("20"), _lots("0.01"), "USD", True, Decimal("10.00"), Decimal("-15.00"), 3000, 2500.0, 9_500_000),
    ]  # fmt: skip


def password_ok(password: str) -> bool:
    """8-16 characters with all four classes: lower, upper, digit, other."""
    if not 8 <= len(password) <= 16:
        return False
    classes = [
        any(c.islower() for c in password),
        any(c.isupper() for c in password),
        any(c.isdigit() for c in password),
        any(not c.isalnum() for c in password),
    ]
    return all(classes)


def compile_mask(mask: str) -> Any:
    """MT5 masks: comma-separated, `*` wildcard, `!` excludes: `demo*,!demoforex`."""
    include: list[re.Pattern[str]] = []
    exclude: list[re.Pattern[str]] = []
    for part in (p.strip() for p in mask.split(",")):
        if not part:
            continue
        target = exclude if part.startswith("!") else include
        body = part[1:] if part.startswith("!") else part
        regex = "^" + ".*".join(re.escape(s) for s in body.split("*")) + "$"
        target.append(re.compile(regex, re.IGNORECASE))

    def match(name: str) -> bool:
        if any(p.match(name) for p in exclude):
            return False
        return not include or any(p.match(name) for p in include)

    return match


def parse_int(value: Any, what: str) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise invalid(what) from None


def parse_int_list(value: Any, what: str) -> list[int]:
    items = [s for s in str(value).split(",") if s.strip()]
    if not items:
        raise invalid(what)
    return [parse_int(s, what) for s in items]


@dataclass
class Manager:
    login: int
    password: str


class Simulator:
    """The trade server's state and rules. Thread-safe; every public method takes the lock."""

    def __init__(
        self,
        *,
        seed: int = 1,
        clock: Clock | None = None,
        login_range: tuple[int, int] = DEFAULT_LOGIN_RANGE,
        managers: Iterable[Manager] | None = None,
        traders: int = 0,
        groups: list[Group] | None = None,
        symbols: list[Symbol] | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self.clock: Clock = clock or SystemClock()
        self.rng = random.Random(seed)  # noqa: S311 - a reproducible market, not secrets
        self.login_range = login_range
        self.managers = {
            m.login: m
            for m in (managers or [Manager(DEFAULT_MANAGER_LOGIN, DEFAULT_MANAGER_PASSWORD)])
        }
        self.groups = {g.name: g for g in (groups or default_groups())}
        self.symbols = {s.name: s for s in (symbols or default_symbols())}
        self.users: dict[int, User] = {}
        self.deals: dict[int, Deal] = {}  # insertion = ticket order
        self.deals_by_login: dict[int, list[int]] = {}
        # Per login: deal times (ms) in order, with their tickets, for range queries by
        # bisection; rebuilt on the first query after any deal was stored, moved or deleted.
        self._time_index: dict[int, tuple[list[int], list[int]]] | None = None
        self.positions: dict[int, Position] = {}
        self.traders: list[int] = []
        self.next_deal = 1_000_001
        self.next_order = 5_000_001
        self.trans_id = 0
        now = self.server_msc()
        for s in self.symbols.values():
            s.tick_msc = now
        for _ in range(traders):
            self.add_trader()

    # ---------------------------------------------------------------- clock
    def server_msc(self) -> int:
        return utc_to_server_msc(self.clock.now())

    def server_time(self) -> int:
        return self.server_msc() // 1000

    # ---------------------------------------------------------------- lookups
    def user(self, login: int) -> User:
        try:
            return self.users[login]
        except KeyError:
            raise SimError(13, "Not found") from None

    def group(self, name: str) -> Group:
        try:
            return self.groups[name]
        except KeyError:
            raise SimError(13, "Not found") from None

    def symbol(self, name: str) -> Symbol:
        try:
            return self.symbols[name]
        except KeyError:
            raise SimError(13, "Not found") from None

    def groups_matching(self, mask: str) -> list[Group]:
        m = compile_mask(mask)
        return [g for g in self.groups.values() if m(g.name)]

    def symbols_matching(self, mask: str) -> list[Symbol]:
        m = compile_mask(mask)
        return [s for s in self.symbols.values() if m(s.name)]

    def logins_in_groups(self, mask: str) -> list[int]:
        m = compile_mask(mask)
        return [u.login for u in self.users.values() if m(u.group)]

    # ---------------------------------------------------------------- users
    def user_add(self, fields: dict[str, Any]) -> User:
        with self.lock:
            group = str(fields.get("Group") or fields.get("group") or "")
            name = str(fields.get("Name") or fields.get("name") or "")
            lev_raw = fields.get("Leverage", fields.get("leverage"))
            main = str(fields.get("PassMain") or fields.get("pass_main") or "")
            investor = str(fields.get("PassInvestor") or fields.get("pass_investor") or "")
            if not group or not name or lev_raw in (None, "") or not main or not investor:
                raise invalid("group, name, leverage, PassMain and PassInvestor are required")
            leverage = parse_int(lev_raw, "leverage")
            if not 1 <= leverage <= 500:
                raise invalid("leverage must be 1-500")
            if group not in self.groups:
                raise SimError(8, "No permission")
            if not (password_ok(main) and password_ok(investor)):
                raise SimError(3006, "Invalid password")
            login = parse_int(fields.get("Login", fields.get("login", 0)) or 0, "login")
            if login < 0:
                raise invalid("login")
            if login:
                if login in self.users or login in self.managers:
                    raise SimError(3004, "Login already exists")
            else:
                login = self._free_login()
            now = self.server_time()
            user = User(login, group, leverage, main, investor, now, now)
            self._apply_user_fields(user, fields, creating=True)
            self.users[login] = user
            return user

    def _free_login(self) -> int:
        lo, hi = self.login_range
        for login in range(lo, hi + 1):
            if login not in self.users and login not in self.managers:
                return login
        raise SimError(3002, "No free logins")

    def _apply_user_fields(self, user: User, fields: dict[str, Any], *, creating: bool) -> None:
        for wire_name, attr in USER_TEXT_FIELDS.items():
            if wire_name in fields and fields[wire_name] is not None:
                setattr(user, attr, str(fields[wire_name]))
        if creating:
            return
        # Invalid and read-only fields stay unchanged (Balance, Credit, Login, Registration).
        if "Leverage" in fields:
            try:
                lev = int(str(fields["Leverage"]))
                if 1 <= lev <= 500:
                    user.leverage = lev
            except ValueError:
                pass
        if "Group" in fields and str(fields["Group"]) in self.groups:
            user.group = str(fields["Group"])
        for wire_name, attr in (("Rights", "rights"), ("Agent", "agent")):
            if wire_name in fields:
                with contextlib.suppress(ValueError):
                    setattr(user, attr, int(str(fields[wire_name])))

    def user_update(self, login: int, fields: dict[str, Any]) -> User:
        with self.lock:
            user = self.user(login)
            self._apply_user_fields(user, fields, creating=False)
            return user

    def add_trader(self, deposit: Decimal = Decimal("10000")) -> int:
        """A simulated trader in real\\standard, funded by a balance deal."""
        with self.lock:
            n = len(self.traders) + 1
            user = self.user_add(
                {
                    "Group": "real\\standard",
                    "Name": f"Sim Trader {n}",
                    "FirstName": "Sim",
                    "LastName": f"Trader {n}",
                    "Email": f"trader{n}@sim.invalid",
                    "Leverage": "100",
                    "PassMain": TRADER_PASSWORD,
                    "PassInvestor": TRADER_PASSWORD,
                }
            )
            self.traders.append(user.login)
            self.balance_op(user.login, 2, deposit, "Initial deposit", check_margin=False)
            return user.login

    # ---------------------------------------------------------------- money
    def _quote_to_usd(self, sym: Symbol, amount: Decimal, price: Decimal) -> Decimal:
        # Only USDxxx pairs have a non-USD profit currency here: divide by the pair's price.
        if sym.profit_currency == "USD":
            return amount
        return amount / price

    def position_profit(self, pos: Position) -> tuple[Decimal, Decimal]:
        """(current close price, floating profit in USD)."""
        sym = self.symbols[pos.symbol]
        close = sym.bid if pos.action == ACTION_BUY else sym.ask
        return close, self._trade_profit(sym, pos.action, pos.volume_ext, pos.price_open, close)

    def _trade_profit(
        self, sym: Symbol, action: int, volume_ext: int, open_: Decimal, close: Decimal
    ) -> Decimal:
        sign = 1 if action == ACTION_BUY else -1
        raw = (close - open_) * sign * sym.contract_size * volume_ext / VOLUME_EXT_PER_LOT
        return q(self._quote_to_usd(sym, raw, close), 2)

    def _margin(self, sym: Symbol, volume_ext: int, price: Decimal, leverage: int) -> Decimal:
        base = sym.contract_size * volume_ext / VOLUME_EXT_PER_LOT
        if sym.margin_in_quote:
            base *= price
        return base / leverage

    def margin_for(self, symbol: str, volume_ext: int, price: Decimal, leverage: int) -> Decimal:
        return self._margin(self.symbol(symbol), volume_ext, price, leverage)

    def account(self, login: int) -> dict[str, Decimal | int]:
        with self.lock:
            user = self.user(login)
            profit = storage = margin = Decimal(0)
            for pos in self.positions.values():
                if pos.login != login:
                    continue
                close, p = self.position_profit(pos)
                profit += p
                storage += pos.storage
                margin += self._margin(
                    self.symbols[pos.symbol], pos.volume_ext, close, user.leverage
                )
            margin = q(margin, 2)
            floating = profit + storage
            equity = user.balance + user.credit + floating
            level = q(equity / margin * 100, 2) if margin else Decimal(0)
            return {
                "Login": login,
                "Balance": user.balance,
                "Credit": user.credit,
                "Profit": profit,
                "Storage": storage,
                "Floating": floating,
                "Equity": equity,
                "Margin": margin,
                "MarginFree": equity - margin,
                "MarginLevel": level,
                "MarginLeverage": user.leverage,
            }

    def balance_op(
        self,
        login: int,
        type_: int,
        amount: Decimal | str,
        comment: str = "",
        *,
        check_margin: bool = True,
    ) -> Deal:
        """A balance/credit/charge/correction/bonus deal (spec: trade/balance)."""
        with self.lock:
            if type_ not in BALANCE_TYPES:
                raise invalid("type")
            try:
                value = Decimal(str(amount))
            except InvalidOperation:
                raise invalid("balance") from None
            if not value.is_finite() or value == 0:
                raise invalid("balance")
            if abs(value) > MAX_BALANCE_AMOUNT:
                raise SimError(4005, "Amount too large")
            user = self.user(login)
            value = q(value, self.groups[user.group].currency_digits)
            if type_ == ACTION_CREDIT:
                if value < 0 and user.credit + value < 0:
                    raise SimError(10019, "No money")
            elif value < 0 and check_margin:
                free = self.account(login)["MarginFree"]
                assert isinstance(free, Decimal)
                if user.balance + value < 0 or free + value < 0:
                    raise SimError(10019, "No money")
            deal = Deal(
                deal=self._take_deal(),
                login=login,
                order=0,
                position_id=0,
                action=type_,
                entry=ENTRY_IN,
                reason=REASON_DEALER,
                time_msc=self.server_msc(),
                symbol="",
                digits=0,
                contract_size=Decimal(0),
                price=Decimal(0),
                volume_ext=0,
                volume_closed_ext=0,
                profit=value,
                storage=Decimal(0),
                commission=Decimal(0),
                fee=Decimal(0),
                comment=comment[:COMMENT_LIMIT],
            )
            if type_ == ACTION_CREDIT:
                user.credit += value
            else:
                user.balance += value
            self._store(deal)
            return deal

    def _take_deal(self) -> int:
        t = self.next_deal
        self.next_deal += 1
        return t

    def _take_order(self) -> int:
        t = self.next_order
        self.next_order += 1
        return t

    def _store(self, deal: Deal) -> None:
        self.deals[deal.deal] = deal
        self.deals_by_login.setdefault(deal.login, []).append(deal.deal)
        self._time_index = None
        # Rendered now, as a real server keeps its records ready to send: formatting the
        # fields in Python at request time made the simulator, not the client, the
        # bottleneck of bench/mt5.py. A later change (an edit, a cancel) renders it again.
        deal.wire()

    def _times(self) -> dict[int, tuple[list[int], list[int]]]:
        if self._time_index is None:
            index = {}
            for login, tickets in self.deals_by_login.items():
                pairs = sorted((self.deals[t].time_msc, t) for t in tickets if t in self.deals)
                index[login] = ([m for m, _ in pairs], [t for _, t in pairs])
            self._time_index = index
        return self._time_index

    # ---------------------------------------------------------------- deal queries
    def deals_select(
        self,
        *,
        logins: list[int] | None = None,
        group: str | None = None,
        tickets: list[int] | None = None,
        from_: int | None = None,
        to: int | None = None,
        symbol: str | None = None,
    ) -> list[Deal]:
        """One selector: logins, a group mask or tickets; from/to in server seconds."""
        with self.lock:
            if tickets is not None:
                found = [self.deals[t] for t in tickets if t in self.deals]
            else:
                if from_ is None or to is None:
                    raise invalid("from and to are required")
                if group is not None:
                    logins = self.logins_in_groups(group)
                lo, hi = from_ * 1000, to * 1000 + 999
                found = []
                index = self._times()
                for login in logins or []:
                    times, tickets = index.get(login, ([], []))
                    first, last = bisect_left(times, lo), bisect_right(times, hi)
                    found.extend(self.deals[t] for t in tickets[first:last])
                found.sort(key=lambda d: d.deal)
            if symbol:
                m = compile_mask(symbol)
                found = [d for d in found if m(d.symbol)]
            return found

    def deal(self, ticket: int) -> Deal:
        with self.lock:
            try:
                return self.deals[ticket]
            except KeyError:
                raise SimError(13, "Not found") from None

    # ---------------------------------------------------------------- dealer edits
    def dealer_edit(self, ticket: int, changes: dict[str, Any]) -> Deal:
        """Change Profit, Price, Storage, Commission, Comment or Time(Msc) of a past deal.
        Balance moves by the change in Profit+Storage+Commission, as a dealer edit does."""
        with self.lock:
            d = self.deal(ticket)
            before = d.profit + d.storage + d.commission + d.fee
            for wire_name, attr in (
                ("Profit", "profit"),
                ("Price", "price"),
                ("Storage", "storage"),
                ("Commission", "commission"),
            ):
                if wire_name in changes:
                    setattr(d, attr, Decimal(str(changes[wire_name])))
            if "Comment" in changes:
                d.comment = str(changes["Comment"])[:COMMENT_LIMIT]
            if "TimeMsc" in changes:
                d.time_msc = int(changes["TimeMsc"])
                self._time_index = None
            elif "Time" in changes:
                d.time_msc = int(changes["Time"]) * 1000
                self._time_index = None
            self._rebook(d, d.profit + d.storage + d.commission + d.fee - before)
            d.modification_flags |= 1
            return d

    def dealer_cancel(self, ticket: int) -> Deal:
        """A buy/sell deal (0/1) becomes buy/sell canceled (13/14); its result is reversed."""
        with self.lock:
            d = self.deal(ticket)
            if d.action not in (ACTION_BUY, ACTION_SELL):
                raise invalid("only buy/sell deals can be canceled")
            d.action = ACTION_BUY_CANCELED if d.action == ACTION_BUY else ACTION_SELL_CANCELED
            self._rebook(d, -(d.profit + d.storage + d.commission + d.fee))
            return d

    def dealer_delete(self, ticket: int) -> None:
        with self.lock:
            d = self.deal(ticket)
            if d.action not in (ACTION_BUY_CANCELED, ACTION_SELL_CANCELED):
                self._rebook(d, -(d.profit + d.storage + d.commission + d.fee))
            del self.deals[ticket]
            self.deals_by_login[d.login].remove(ticket)
            self._time_index = None

    def _rebook(self, d: Deal, delta: Decimal) -> None:
        user = self.users.get(d.login)
        if user is None or not delta:
            return
        if d.action == ACTION_CREDIT:
            user.credit += delta
        else:
            user.balance += delta

    # ---------------------------------------------------------------- positions
    def positions_select(
        self,
        *,
        logins: list[int] | None = None,
        group: str | None = None,
        tickets: list[int] | None = None,
        symbol: str | None = None,
    ) -> list[Position]:
        with self.lock:
            if tickets is not None:
                found = [self.positions[t] for t in tickets if t in self.positions]
            else:
                wanted = set(self.logins_in_groups(group) if group is not None else logins or [])
                found = [p for p in self.positions.values() if p.login in wanted]
            if symbol:
                m = compile_mask(symbol)
                found = [p for p in found if m(p.symbol)]
            return found

    def open_position(
        self, login: int, symbol: str, action: int, volume_ext: int, *, reason: int = REASON_CLIENT
    ) -> Position:
        with self.lock:
            user = self.user(login)
            sym = self.symbol(symbol)
            price = sym.ask if action == ACTION_BUY else sym.bid
            now = self.server_msc()
            order = self._take_order()
            commission = -q(sym.commission_per_lot * volume_ext / VOLUME_EXT_PER_LOT, 2)
            deal = self._trade_deal(
                user.login, sym, order, order, action, ENTRY_IN, reason, now, price,
                volume_ext, 0, Decimal(0), Decimal(0), commission, price,
            )  # fmt: skip
            self._store(deal)
            user.balance += commission
            pos = Position(order, login, symbol, action, volume_ext, price, now, now)
            self.positions[order] = pos
            return pos

    def close_position(self, position: int, *, reason: int = REASON_CLIENT) -> Deal:
        with self.lock:
            pos = self.positions.pop(position, None)
            if pos is None:
                raise SimError(13, "Not found")
            sym = self.symbols[pos.symbol]
            close, profit = self.position_profit(pos)
            now = self.server_msc()
            nights = max(0, (now // 86_400_000) - (pos.time_create_msc // 86_400_000))
            storage = q(sym.swap_per_lot_day * pos.volume_ext / VOLUME_EXT_PER_LOT * nights, 2)
            commission = -q(sym.commission_per_lot * pos.volume_ext / VOLUME_EXT_PER_LOT, 2)
            out_action = ACTION_SELL if pos.action == ACTION_BUY else ACTION_BUY
            deal = self._trade_deal(
                pos.login, sym, self._take_order(), pos.position, out_action, ENTRY_OUT, reason,
                now, close, pos.volume_ext, pos.volume_ext, profit, storage, commission, pos.price_open,
            )  # fmt: skip
            self._store(deal)
            self.users[pos.login].balance += profit + storage + commission
            return deal

    def _trade_deal(
        self,
        login: int,
        sym: Symbol,
        order: int,
        position_id: int,
        action: int,
        entry: int,
        reason: int,
        time_msc: int,
        price: Decimal,
        volume_ext: int,
        volume_closed_ext: int,
        profit: Decimal,
        storage: Decimal,
        commission: Decimal,
        price_position: Decimal,
        *,
        ticket: int = 0,
    ) -> Deal:
        rate = Decimal(1) if sym.profit_currency == "USD" else q(1 / price, 8)
        return Deal(
            deal=ticket or self._take_deal(),
            login=login,
            order=order,
            position_id=position_id,
            action=action,
            entry=entry,
            reason=reason,
            time_msc=time_msc,
            symbol=sym.name,
            digits=sym.digits,
            contract_size=sym.contract_size,
            price=price,
            volume_ext=volume_ext,
            volume_closed_ext=volume_closed_ext,
            profit=profit,
            storage=storage,
            commission=commission,
            fee=Decimal(0),
            comment="",
            price_position=price_position,
            rate_profit=rate,
            market_bid=sym.bid,
            market_ask=sym.ask,
        )

    # ---------------------------------------------------------------- market
    def tick(self) -> None:
        """One market step (about one second): every price walks, traders may act."""
        with self.lock:
            now = self.server_msc()
            for sym in self.symbols.values():
                step = round(self.rng.gauss(0.0, sym.volatility_points))
                sym.bid_points = max(sym.spread_points * 10, sym.bid_points + step)
                sym.tick_msc = now
                self.trans_id += 1
                sym.trans_id = self.trans_id
            for login in self.traders:
                self._trader_step(login)

    def _trader_step(self, login: int) -> None:
        mine = [p for p in self.positions.values() if p.login == login]
        for pos in mine:
            if self.rng.random() < 0.02:
                self.close_position(pos.position, reason=REASON_EXPERT)
        if len(mine) < 3 and self.rng.random() < 0.03:
            sym = self.rng.choice(list(self.symbols.values()))
            steps = self.rng.randint(1, 10)
            volume = sym.volume_min * steps
            action = self.rng.choice((ACTION_BUY, ACTION_SELL))
            state = self.account(login)
            margin = self._margin(sym, volume, sym.ask, self.users[login].leverage)
            free = state["MarginFree"]
            assert isinstance(free, Decimal)
            if margin < free / 2:
                self.open_position(login, sym.name, action, volume, reason=REASON_EXPERT)

    def ticks(self, names: list[str], trans_id: int = 0) -> list[Symbol]:
        with self.lock:
            out = []
            for n in names:
                sym = self.symbol(n)
                if sym.trans_id > trans_id or trans_id == 0:
                    out.append(sym)
            return out

    # ---------------------------------------------------------------- bulk history
    def generate_deals(
        self,
        count: int,
        logins: list[int] | None = None,
        start: datetime | int | None = None,
        end: datetime | int | None = None,
    ) -> list[int]:
        """Append `count` closed-trade deals (in/out pairs; an odd count ends with a balance
        deal) for `logins` (default: the simulated traders) between `start` and `end`
        (aware datetimes, or server epoch seconds; default: the last 30 days). Balances move
        by the deals' results, so account state stays consistent. Tickets follow time order
        within the batch. Returns the new deal tickets. 200 000 deals take a few seconds."""
        with self.lock:
            logins = list(logins or self.traders)
            if not logins:
                raise ValueError("no logins: pass some or start traders")
            for login in logins:
                self.user(login)
            end_s = self._as_server(end) if end is not None else self.server_time()
            start_s = self._as_server(start) if start is not None else end_s - 30 * 86400
            if end_s <= start_s:
                raise ValueError("end must be after start")
            rng = self.rng
            syms = list(self.symbols.values())
            span_ms = (end_s - start_s) * 1000
            base_ms = start_s * 1000
            rows: list[tuple[int, int, Any]] = []  # (time_msc, seq, spec)
            for i in range(count // 2):
                sym = rng.choice(syms)
                login = rng.choice(logins)
                t_in = base_ms + rng.randrange(span_ms)
                t_out = min(base_ms + span_ms, t_in + rng.randrange(60_000, 3 * 86_400_000))
                drift = round(rng.gauss(0.0, sym.volatility_points * 30))
                open_pts = max(
                    sym.spread_points * 10,
                    sym.bid_points + round(rng.gauss(0.0, sym.volatility_points * 300)),
                )
                close_pts = max(sym.spread_points * 10, open_pts + drift)
                volume = sym.volume_min * rng.randint(1, 20)
                action = rng.choice((ACTION_BUY, ACTION_SELL))
                pair = (sym, login, action, volume, open_pts, close_pts, t_in)
                rows.append((t_in, 2 * i, ("in", pair)))
                rows.append((t_out, 2 * i + 1, ("out", pair)))
            if count % 2:
                login = rng.choice(logins)
                rows.append((base_ms + rng.randrange(span_ms), count, ("balance", login)))
            rows.sort(key=lambda r: (r[0], r[1]))
            pos_ids: dict[int, int] = {}
            tickets: list[int] = []
            for t_msc, seq, (kind, spec) in rows:
                if kind == "balance":
                    amount = Decimal(rng.randint(1, 50) * 100)
                    d = self.balance_op(spec, 2, amount, "Deposit", check_margin=False)
                    d.time_msc = t_msc
                    self._time_index = None  # moved after it was stored
                    tickets.append(d.deal)
                    continue
                sym, login, action, volume, open_pts, close_pts, t_in = spec
                buy = action == ACTION_BUY
                spread = sym.spread_points
                price_open = Decimal(open_pts + (spread if buy else 0)).scaleb(-sym.digits)
                commission = -q(sym.commission_per_lot * volume / VOLUME_EXT_PER_LOT, 2)
                order = self._take_order()
                if kind == "in":
                    pos_ids[seq] = order
                    deal = self._trade_deal(
                        login, sym, order, order, action, ENTRY_IN, REASON_CLIENT, t_msc,
                        price_open, volume, 0, Decimal(0), Decimal(0), commission, price_open,
                    )  # fmt: skip
                    result = commission
                else:
                    price_close = Decimal(close_pts + (0 if buy else spread)).scaleb(-sym.digits)
                    profit = self._trade_profit(sym, action, volume, price_open, price_close)
                    nights = max(0, t_msc // 86_400_000 - t_in // 86_400_000)
                    storage = q(sym.swap_per_lot_day * volume / VOLUME_EXT_PER_LOT * nights, 2)
                    deal = self._trade_deal(
                        login, sym, order, pos_ids.pop(seq - 1), ACTION_SELL if buy else ACTION_BUY,
                        ENTRY_OUT, REASON_CLIENT, t_msc, price_close, volume, volume, profit, storage,
                        commission, price_open,
                    )  # fmt: skip
                    result = profit + storage + commission
                self._store(deal)
                self.users[login].balance += result
                tickets.append(deal.deal)
            return tickets

    def _as_server(self, when: datetime | int) -> int:
        return utc_datetime_to_server(when) if isinstance(when, datetime) else int(when)

    # ---------------------------------------------------------------- persistence
    def to_state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "version": STATE_VERSION,
                "rng": _rng_state_to_json(self.rng.getstate()),
                "next_deal": self.next_deal,
                "next_order": self.next_order,
                "trans_id": self.trans_id,
                "traders": self.traders,
                "prices": {s.name: s.bid_points for s in self.symbols.values()},
                "users": [u.to_state() for u in self.users.values()],
                "deals": [d.wire() for d in self.deals.values()],
                "positions": [p.to_state() for p in self.positions.values()],
            }

    def load_state(self, data: dict[str, Any]) -> None:
        with self.lock:
            if data.get("version") != STATE_VERSION:
                raise ValueError(f"unknown state version {data.get('version')!r}")
            self.rng.setstate(_rng_state_from_json(data["rng"]))
            self.next_deal = int(data["next_deal"])
            self.next_order = int(data["next_order"])
            self.trans_id = int(data["trans_id"])
            self.traders = [int(x) for x in data["traders"]]
            for name, pts in data["prices"].items():
                if name in self.symbols:
                    self.symbols[name].bid_points = int(pts)
            self.users = {}
            for u in data["users"]:
                user = User.from_state(u)
                self.users[user.login] = user
            self.deals = {}
            self.deals_by_login = {}
            self._time_index = None
            for w in data["deals"]:
                self._store(Deal.from_wire(w))
            self.positions = {}
            for p in data["positions"]:
                pos = Position.from_state(p)
                self.positions[pos.position] = pos

    def save(self, path: str | Path) -> None:
        """Write the state atomically: a temp file in the same directory, then rename."""
        path = Path(path)
        data = self.to_state()
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent or ".")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, separators=(",", ":"))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def load(self, path: str | Path) -> None:
        with open(path, encoding="utf-8") as fh:
            self.load_state(json.load(fh))

    def iter_users(self) -> Iterator[User]:
        with self.lock:
            yield from list(self.users.values())


def _rng_state_to_json(state: Any) -> list[Any]:
    version, internal, gauss = state
    return [version, list(internal), gauss]


def _rng_state_from_json(data: list[Any]) -> Any:
    version, internal, gauss = data
    return (version, tuple(internal), gauss)
