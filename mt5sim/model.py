"""The simulator's records and their wire form (PascalCase, every scalar a JSON string)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

VOLUME_EXT_PER_LOT = 100_000_000  # VolumeExt: 1e-8 lot
VOLUME_PER_VOLUME_EXT = 10_000  # Volume (1e-4 lot) = VolumeExt // 10 000

ACTION_BUY, ACTION_SELL = 0, 1
ACTION_BALANCE, ACTION_CREDIT, ACTION_CHARGE, ACTION_CORRECTION, ACTION_BONUS = 2, 3, 4, 5, 6
ACTION_BUY_CANCELED, ACTION_SELL_CANCELED = 13, 14
BALANCE_TYPES = {ACTION_BALANCE, ACTION_CREDIT, ACTION_CHARGE, ACTION_CORRECTION, ACTION_BONUS}
ENTRY_IN, ENTRY_OUT = 0, 1
REASON_CLIENT, REASON_EXPERT, REASON_DEALER = 0, 1, 2

# EnUserRights bits; USER_RIGHT_ENABLED must be set for the account to work.
USER_RIGHT_ENABLED = 0x1
USER_RIGHT_PASSWORD = 0x2
USER_RIGHT_EXPERT = 0x40
USER_RIGHT_REPORTS = 0x100
DEFAULT_RIGHTS = USER_RIGHT_ENABLED | USER_RIGHT_PASSWORD | USER_RIGHT_EXPERT | USER_RIGHT_REPORTS


_QUANTA = tuple(Decimal(1).scaleb(-d) for d in range(19))  # 1, 0.1, ... 1E-18


def q(amount: Decimal, digits: int) -> Decimal:
    quantum = _QUANTA[digits] if 0 <= digits < len(_QUANTA) else Decimal(1).scaleb(-digits)
    return amount.quantize(quantum, rounding=ROUND_HALF_UP)


def money(amount: Decimal, digits: int = 2) -> str:
    return f"{q(amount, digits):f}"


def points_to_price(points: int, digits: int) -> Decimal:
    return Decimal(points).scaleb(-digits)


@dataclass
class Group:
    name: str
    currency: str = "USD"
    currency_digits: int = 2
    leverage: int = 100
    margin_call: Decimal = Decimal("100")
    margin_stopout: Decimal = Decimal("50")
    server: int = 1

    def wire(self) -> dict[str, Any]:
        return {
            "Group": self.name,
            "Server": str(self.server),
            "PermissionsFlags": "0",
            "AuthMode": "0",
            "Company": "MT5 Simulator",
            "Currency": self.currency,
            "CurrencyDigits": str(self.currency_digits),
            "MarginCall": money(self.margin_call),
            "MarginStopOut": money(self.margin_stopout),
            "MarginMode": "0",
            "MarginSOMode": "0",
            "DefaultLeverage": str(self.leverage),
        }


@dataclass
class Symbol:
    name: str
    path: str
    description: str
    digits: int
    contract_size: Decimal
    volume_min: int  # VolumeExt units
    volume_max: int
    volume_step: int
    profit_currency: str  # "USD" or the quote currency needing conversion (USDJPY: JPY)
    margin_in_quote: bool  # margin = lots * contract * price (True) or lots * contract (USDxxx)
    commission_per_lot: Decimal  # charged per side
    swap_per_lot_day: Decimal  # signed, per lot per night held
    spread_points: int
    volatility_points: float  # std-dev of a 1 s tick, in points
    bid_points: int
    tick_msc: int = 0
    trans_id: int = 0

    @property
    def point(self) -> Decimal:
        return Decimal(1).scaleb(-self.digits)

    @property
    def bid(self) -> Decimal:
        return points_to_price(self.bid_points, self.digits)

    @property
    def ask(self) -> Decimal:
        return points_to_price(self.bid_points + self.spread_points, self.digits)

    def wire(self) -> dict[str, Any]:
        return {
            "Symbol": self.name,
            "Path": self.path,
            "ISIN": "",
            "Description": self.description,
            "CurrencyBase": self.name[:3],
            "CurrencyProfit": self.profit_currency,
            "CurrencyMargin": "USD" if not self.margin_in_quote else self.name[:3],
            "Digits": str(self.digits),
            "Point": f"{self.point:f}",
            "ContractSize": f"{self.contract_size:f}",
            "VolumeMin": str(self.volume_min // VOLUME_PER_VOLUME_EXT),
            "VolumeMax": str(self.volume_max // VOLUME_PER_VOLUME_EXT),
            "VolumeStep": str(self.volume_step // VOLUME_PER_VOLUME_EXT),
            "VolumeMinExt": str(self.volume_min),
            "VolumeMaxExt": str(self.volume_max),
            "VolumeStepExt": str(self.volume_step),
            "TickSize": f"{self.point:f}",
            "Spread": str(self.spread_points),
        }

    def tick_wire(self) -> dict[str, Any]:
        return {
            "Symbol": self.name,
            "Digits": str(self.digits),
            "Bid": f"{self.bid:f}",
            "Ask": f"{self.ask:f}",
            "Last": "0",
            "Volume": "0",
            "VolumeReal": "0",
            "Datetime": str(self.tick_msc // 1000),
            "DatetimeMsc": str(self.tick_msc),
        }


USER_TEXT_FIELDS = {
    # wire name -> attribute; all updatable
    "Name": "name",
    "FirstName": "first_name",
    "LastName": "last_name",
    "MiddleName": "middle_name",
    "Company": "company",
    "Email": "email",
    "Phone": "phone",
    "Country": "country",
    "City": "city",
    "State": "state",
    "ZipCode": "zip_code",
    "Address": "address",
    "ID": "id_number",
    "Status": "status",
    "Comment": "comment",
    "LeadSource": "lead_source",
    "LeadCampaign": "lead_campaign",
    "MQID": "mqid",
    "Language": "language",
}


@dataclass
class User:
    login: int
    group: str
    leverage: int
    pass_main: str
    pass_investor: str
    registration: int  # server seconds
    last_access: int
    rights: int = DEFAULT_RIGHTS
    agent: int = 0
    balance: Decimal = Decimal("0")
    credit: Decimal = Decimal("0")
    name: str = ""
    first_name: str = ""
    last_name: str = ""
    middle_name: str = ""
    company: str = ""
    email: str = ""
    phone: str = ""
    country: str = ""
    city: str = ""
    state: str = ""
    zip_code: str = ""
    address: str = ""
    id_number: str = ""
    status: str = ""
    comment: str = ""
    lead_source: str = ""
    lead_campaign: str = ""
    mqid: str = ""
    language: str = ""
    api_data: list[dict[str, str]] = field(default_factory=list)

    def wire(self, currency_digits: int = 2) -> dict[str, Any]:
        out: dict[str, Any] = {
            "Login": str(self.login),
            "Group": self.group,
            "CertSerialNumber": "0",
            "Rights": str(self.rights),
            "Registration": str(self.registration),
            "LastAccess": str(self.last_access),
            "LastPassChange": str(self.registration),
            "LastIP": "",
        }
        for wire_name, attr in USER_TEXT_FIELDS.items():
            out[wire_name] = getattr(self, attr)
        out.update(
            {
                "Leverage": str(self.leverage),
                "Agent": str(self.agent),
                "Balance": money(self.balance, currency_digits),
                "Credit": money(self.credit, currency_digits),
                "ApiData": list(self.api_data),
            }
        )
        return out

    def to_state(self) -> dict[str, Any]:
        """Everything, for the state file (passwords included: it is a simulator)."""
        data = self.wire()
        data["PassMain"] = self.pass_main
        data["PassInvestor"] = self.pass_investor
        return data

    @classmethod
    def from_state(cls, d: dict[str, Any]) -> User:
        user = cls(
            login=int(d["Login"]),
            group=d["Group"],
            leverage=int(d["Leverage"]),
            pass_main=d["PassMain"],
            pass_investor=d["PassInvestor"],
            registration=int(d["Registration"]),
            last_access=int(d["LastAccess"]),
            rights=int(d["Rights"]),
            agent=int(d["Agent"]),
            balance=Decimal(d["Balance"]),
            credit=Decimal(d["Credit"]),
            api_data=list(d.get("ApiData", [])),
        )
        for wire_name, attr in USER_TEXT_FIELDS.items():
            setattr(user, attr, d.get(wire_name, ""))
        return user


@dataclass(slots=True)
class Deal:
    deal: int
    login: int
    order: int
    position_id: int
    action: int
    entry: int
    reason: int
    time_msc: int  # server clock
    symbol: str
    digits: int
    contract_size: Decimal
    price: Decimal
    volume_ext: int
    volume_closed_ext: int
    profit: Decimal
    storage: Decimal
    commission: Decimal
    fee: Decimal
    comment: str
    price_position: Decimal = Decimal(0)
    rate_profit: Decimal = Decimal(1)
    rate_margin: Decimal = Decimal(1)
    expert_id: int = 0
    dealer: int = 0
    external_id: str = ""
    market_bid: Decimal = Decimal(0)
    market_ask: Decimal = Decimal(0)
    digits_currency: int = 2
    modification_flags: int = 0
    # The wire form, rendered once: formatting 37 fields per deal per request made the
    # simulator, not the client, the bottleneck of the ingest benchmark. Any change to the
    # deal (a dealer's edit, a cancel) drops it (__setattr__ below).
    _wire: dict[str, Any] | None = field(default=None, init=False, repr=False, compare=False)

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        if name != "_wire":
            object.__setattr__(self, "_wire", None)

    def wire(self) -> dict[str, Any]:
        """The deal as the Web API writes it. Shared: callers must not change it."""
        if self._wire is None:
            object.__setattr__(self, "_wire", self._render())
        assert self._wire is not None
        return self._wire

    def _render(self) -> dict[str, Any]:
        d = self.digits
        cd = self.digits_currency
        value = q(self.contract_size * self.price * self.volume_ext / VOLUME_EXT_PER_LOT, cd)
        return {
            "Deal": str(self.deal),
            "ExternalID": self.external_id,
            "Login": str(self.login),
            "Dealer": str(self.dealer),
            "Order": str(self.order),
            "PositionID": str(self.position_id),
            "ExpertID": str(self.expert_id),
            "Action": str(self.action),
            "Entry": str(self.entry),
            "Reason": str(self.reason),
            "Time": str(self.time_msc // 1000),
            "TimeMsc": str(self.time_msc),
            "Symbol": self.symbol,
            "Digits": str(d),
            "DigitsCurrency": str(cd),
            "ContractSize": f"{self.contract_size:f}",
            "Price": money(self.price, d),
            "PriceSL": money(Decimal(0), d),
            "PriceTP": money(Decimal(0), d),
            "PricePosition": money(self.price_position, d),
            "Volume": str(self.volume_ext // VOLUME_PER_VOLUME_EXT),
            "VolumeExt": str(self.volume_ext),
            "VolumeClosed": str(self.volume_closed_ext // VOLUME_PER_VOLUME_EXT),
            "VolumeClosedExt": str(self.volume_closed_ext),
            "Profit": money(self.profit, cd),
            "ProfitRaw": money(self.profit, cd),
            "Value": money(value, cd) if self.symbol else money(Decimal(0), cd),
            "Storage": money(self.storage, cd),
            "Commission": money(self.commission, cd),
            "Fee": money(self.fee, cd),
            "RateProfit": f"{self.rate_profit:f}",
            "RateMargin": f"{self.rate_margin:f}",
            "Comment": self.comment,
            "Gateway": "",
            "MarketBid": money(self.market_bid, d),
            "MarketAsk": money(self.market_ask, d),
            "MarketLast": money(Decimal(0), d),
            "TickValue": "0",
            "TickSize": "0",
            "ModificationFlags": str(self.modification_flags),
        }

    @classmethod
    def from_wire(cls, w: dict[str, Any]) -> Deal:
        return cls(
            deal=int(w["Deal"]),
            login=int(w["Login"]),
            order=int(w["Order"]),
            position_id=int(w["PositionID"]),
            action=int(w["Action"]),
            entry=int(w["Entry"]),
            reason=int(w["Reason"]),
            time_msc=int(w["TimeMsc"]),
            symbol=w["Symbol"],
            digits=int(w["Digits"]),
            contract_size=Decimal(w["ContractSize"]),
            price=Decimal(w["Price"]),
            volume_ext=int(w["VolumeExt"]),
            volume_closed_ext=int(w["VolumeClosedExt"]),
            profit=Decimal(w["Profit"]),
            storage=Decimal(w["Storage"]),
            commission=Decimal(w["Commission"]),
            fee=Decimal(w["Fee"]),
            comment=w["Comment"],
            price_position=Decimal(w["PricePosition"]),
            rate_profit=Decimal(w["RateProfit"]),
            rate_margin=Decimal(w["RateMargin"]),
            expert_id=int(w["ExpertID"]),
            dealer=int(w["Dealer"]),
            external_id=w["ExternalID"],
            market_bid=Decimal(w["MarketBid"]),
            market_ask=Decimal(w["MarketAsk"]),
            digits_currency=int(w["DigitsCurrency"]),
            modification_flags=int(w["ModificationFlags"]),
        )


@dataclass
class Position:
    position: int
    login: int
    symbol: str
    action: int  # 0 buy, 1 sell
    volume_ext: int
    price_open: Decimal
    time_create_msc: int
    time_update_msc: int
    storage: Decimal = Decimal(0)
    expert_id: int = 0
    comment: str = ""

    def wire(self, price_current: Decimal, profit: Decimal, digits: int) -> dict[str, Any]:
        return {
            "Position": str(self.position),
            "ExternalID": "",
            "Login": str(self.login),
            "Symbol": self.symbol,
            "Action": str(self.action),
            "Digits": str(digits),
            "DigitsCurrency": "2",
            "TimeCreate": str(self.time_create_msc // 1000),
            "TimeCreateMsc": str(self.time_create_msc),
            "TimeUpdate": str(self.time_update_msc // 1000),
            "TimeUpdateMsc": str(self.time_update_msc),
            "PriceOpen": money(self.price_open, digits),
            "PriceCurrent": money(price_current, digits),
            "PriceSL": money(Decimal(0), digits),
            "PriceTP": money(Decimal(0), digits),
            "Volume": str(self.volume_ext // VOLUME_PER_VOLUME_EXT),
            "VolumeExt": str(self.volume_ext),
            "Profit": money(profit),
            "Storage": money(self.storage),
            "ExpertID": str(self.expert_id),
            "Comment": self.comment,
        }

    def to_state(self) -> dict[str, Any]:
        return {
            "Position": str(self.position),
            "Login": str(self.login),
            "Symbol": self.symbol,
            "Action": str(self.action),
            "VolumeExt": str(self.volume_ext),
            "PriceOpen": f"{self.price_open:f}",
            "TimeCreateMsc": str(self.time_create_msc),
            "TimeUpdateMsc": str(self.time_update_msc),
            "Storage": f"{self.storage:f}",
            "ExpertID": str(self.expert_id),
            "Comment": self.comment,
        }

    @classmethod
    def from_state(cls, d: dict[str, Any]) -> Position:
        return cls(
            position=int(d["Position"]),
            login=int(d["Login"]),
            symbol=d["Symbol"],
            action=int(d["Action"]),
            volume_ext=int(d["VolumeExt"]),
            price_open=Decimal(d["PriceOpen"]),
            time_create_msc=int(d["TimeCreateMsc"]),
            time_update_msc=int(d["TimeUpdateMsc"]),
            storage=Decimal(d["Storage"]),
            expert_id=int(d["ExpertID"]),
            comment=d["Comment"],
        )
