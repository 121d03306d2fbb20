"""The one interface every trading platform implements, its value types and errors.

Units (see ../specs/mt5-webapi.md §2 and §4):
- money is ``Decimal``, parsed straight from the wire string (never through float);
- volume is an ``int`` in 1e-8 lots (MT5's ``VolumeExt``);
- times are UTC ``datetime``s, next to the raw ``*_msc`` value on the trade server's
  clock (not UTC; see ``clock.ServerClock``), kept so a clock mistake can be repaired.
"""

from __future__ import annotations

import enum
import re
import secrets
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol, runtime_checkable

# ---------------------------------------------------------------------------
# Errors


class PlatformError(Exception):
    """A trading platform refused or failed a call. ``retcode`` is MT5's code when known."""

    def __init__(self, message: str, *, retcode: int | None = None, raw: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.retcode = retcode
        self.raw = raw


class NotFound(PlatformError):
    """13: no such login, deal, group or symbol."""


class AlreadyExists(PlatformError):
    """3004 (login exists) or 17 (duplicate)."""


class InsufficientFunds(PlatformError):
    """10019: over free margin, balance or issued credit."""


class PermissionDenied(PlatformError):
    """8: the manager account lacks the right (or the group is unknown to it)."""


class Transient(PlatformError):
    """9/10/12, a 5xx, or a connection that failed before anything was sent: try later."""


class AuthFailed(PlatformError):
    """1000-1010, or the server could not prove it knows the password (cli_rand_answer)."""


class InvalidRequest(PlatformError):
    """3/4 (bad parameters or data), 3006 (bad password), 4005 (amount too large)."""


class UnknownRetcode(PlatformError):
    """A retcode we have no mapping for; ``raw`` holds the whole reply body."""


class ProtocolError(PlatformError):
    """The reply was not what the protocol promises (not JSON, no retcode...); ``raw`` is the text."""


class NotSupported(PlatformError):
    """This platform implementation cannot do that (see its ``capabilities``)."""


class OutcomeUnknown(PlatformError):
    """A write was sent but its reply was lost (timeout, dropped connection).

    It may or may not have been applied. Never resend blind: look it up first
    (``find_balance_op``) and only then decide.
    """


# ---------------------------------------------------------------------------
# Capabilities


class Capability(enum.StrEnum):
    PING = "ping"
    CREATE_ACCOUNT = "create_account"
    GET_ACCOUNT = "get_account"
    UPDATE_ACCOUNT = "update_account"
    ACCOUNT_STATE = "get_account_state"
    BALANCE_OPS = "apply_balance_op"
    FIND_BALANCE_OP = "find_balance_op"
    FETCH_DEALS = "fetch_deals"
    LIST_POSITIONS = "list_positions"
    GET_GROUP = "get_group"
    GET_SYMBOL = "get_symbol"
    LAST_TICKS = "last_ticks"
    SERVER_TIME = "server_time"


# ---------------------------------------------------------------------------
# Codes


class BalanceKind(enum.IntEnum):
    """``type`` of /api/trade/balance; equal to the Action of the deal it creates."""

    BALANCE = 2
    CREDIT = 3
    CHARGE = 4
    CORRECTION = 5
    BONUS = 6


class DealAction(enum.IntEnum):
    BUY = 0
    SELL = 1
    BALANCE = 2
    CREDIT = 3
    CHARGE = 4
    CORRECTION = 5
    BONUS = 6
    COMMISSION = 7
    COMMISSION_DAILY = 8
    COMMISSION_MONTHLY = 9
    AGENT_DAILY = 10
    AGENT_MONTHLY = 11
    INTEREST = 12
    BUY_CANCELED = 13
    SELL_CANCELED = 14
    DIVIDEND = 15
    DIVIDEND_FRANKED = 16
    TAX = 17
    AGENT = 18
    SO_COMPENSATION = 19
    SO_COMPENSATION_CREDIT = 20


KNOWN_DEAL_ACTIONS = frozenset(int(a) for a in DealAction)


class DealEntry(enum.IntEnum):
    IN = 0
    OUT = 1
    INOUT = 2
    OUT_BY = 3
    STATE = 255


# ---------------------------------------------------------------------------
# Values


@dataclass(frozen=True)
class Selector:
    """Whose deals or positions: a list of logins, or a group mask (``demo*,!demoforex``)."""

    logins: tuple[int, ...] = ()
    group: str | None = None

    def __post_init__(self) -> None:
        if bool(self.logins) == bool(self.group):
            raise ValueError("a selector takes either logins or a group mask, not both or neither")

    @classmethod
    def for_logins(cls, logins: Iterable[int]) -> Selector:
        return cls(logins=tuple(int(x) for x in logins))

    @classmethod
    def for_group(cls, mask: str) -> Selector:
        return cls(group=mask)

    @classmethod
    def coerce(cls, value: Selector | Iterable[int] | int | str) -> Selector:
        """Accept a Selector, one login, a list of logins, or a group mask string."""
        if isinstance(value, Selector):
            return value
        if isinstance(value, str):
            return cls.for_group(value)
        if isinstance(value, int):
            return cls.for_logins([value])
        return cls.for_logins(value)


@dataclass(frozen=True)
class NewAccount:
    group: str
    name: str
    leverage: int
    password_main: str = field(repr=False)
    password_investor: str = field(repr=False)
    login: int = 0  # 0: the server picks one
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    phone: str = ""
    country: str = ""
    city: str = ""
    comment: str = ""
    lead_source: str = ""
    lead_campaign: str = ""


@dataclass(frozen=True)
class AccountPatch:
    """Fields to change; ``None`` leaves a field as it is. Balance is not here: use a balance op."""

    group: str | None = None
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    country: str | None = None
    city: str | None = None
    comment: str | None = None
    leverage: int | None = None
    rights: int | None = None
    status: str | None = None
    lead_source: str | None = None
    lead_campaign: str | None = None


@dataclass(frozen=True)
class AccountRecord:
    login: int
    group: str
    leverage: int
    name: str
    first_name: str
    last_name: str
    email: str
    rights: int
    balance: Decimal
    credit: Decimal
    country: str = ""
    phone: str = ""
    comment: str = ""
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class AccountState:
    login: int
    balance: Decimal
    credit: Decimal
    equity: Decimal
    margin: Decimal
    margin_free: Decimal
    margin_level: Decimal  # percent
    profit: Decimal
    currency_digits: int


@dataclass(frozen=True)
class BalanceOp:
    login: int
    kind: int  # BalanceKind, 2-6
    amount: Decimal  # signed: negative withdraws
    op_ref: str  # our idempotency reference, written into the deal comment
    comment: str = ""
    check_margin: bool = True


@dataclass(frozen=True)
class BalanceResult:
    deal_ticket: int
    applied_now: bool  # False: an earlier attempt had already applied it (found by lookup)


@dataclass(frozen=True)
class Deal:
    ticket: int
    login: int
    order: int
    position_id: int
    action: int  # DealAction value, or a code we do not know (then action_known is False)
    action_known: bool
    entry: int
    reason: int
    time: datetime  # UTC
    time_msc: int  # raw, trade-server clock
    symbol: str
    price: Decimal
    volume_ext: int  # 1e-8 lots
    profit: Decimal
    swap: Decimal
    commission: Decimal
    fee: Decimal
    comment: str
    external_id: str
    magic: int = 0
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class Position:
    ticket: int
    login: int
    symbol: str
    action: int  # 0 buy, 1 sell
    volume_ext: int
    price_open: Decimal
    price_current: Decimal
    sl: Decimal
    tp: Decimal
    profit: Decimal
    swap: Decimal
    time_create: datetime  # UTC
    time_create_msc: int  # raw, trade-server clock
    time_update: datetime
    time_update_msc: int
    comment: str = ""
    magic: int = 0


@dataclass(frozen=True)
class GroupInfo:
    name: str
    server: int
    currency: str
    currency_digits: int
    margin_call: Decimal
    margin_stop_out: Decimal
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class SymbolInfo:
    name: str
    path: str
    description: str
    digits: int
    contract_size: Decimal
    volume_min_ext: int
    volume_max_ext: int
    volume_step_ext: int
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class Tick:
    symbol: str
    bid: Decimal
    ask: Decimal
    last: Decimal
    time: datetime  # UTC
    time_msc: int  # raw, trade-server clock
    digits: int = 0


@dataclass(frozen=True)
class ServerTime:
    server_seconds: int  # raw, trade-server clock
    utc: datetime  # what our ServerClock makes of it


# ---------------------------------------------------------------------------
# The interface


@runtime_checkable
class TradingPlatform(Protocol):
    capabilities: frozenset[Capability]

    def ping(self) -> None: ...

    def create_account(self, new: NewAccount) -> AccountRecord: ...

    def get_account(self, login: int) -> AccountRecord: ...

    def update_account(self, login: int, patch: AccountPatch) -> AccountRecord: ...

    def get_account_state(self, login: int) -> AccountState: ...

    def apply_balance_op(self, op: BalanceOp) -> BalanceResult: ...

    def find_balance_op(
        self, login: int, op_ref: str, since: datetime, *, kind: int | None = None
    ) -> Deal | None: ...

    def fetch_deals(
        self, selector: Selector | Sequence[int] | str, since: datetime, until: datetime
    ) -> list[Deal]: ...

    def list_positions(self, selector: Selector | Sequence[int] | str) -> list[Position]: ...

    def get_group(self, name: str) -> GroupInfo: ...

    def get_symbol(self, name: str) -> SymbolInfo: ...

    def last_ticks(self, symbols: Sequence[str]) -> list[Tick]: ...

    def server_time(self) -> ServerTime: ...

    def close(self) -> None: ...


def balance_op_ensure(
    platform: TradingPlatform, op: BalanceOp, *, since: datetime
) -> BalanceResult:
    """Apply ``op`` unless a deal carrying its ``op_ref`` already exists on the server.

    Call it for the first send and again for a retry after ``OutcomeUnknown``; ``since``
    is when the CRM row was created. The caller holds the row lock (the lookup and the
    send are not atomic on the server: two callers without a lock could both send).
    """
    found = platform.find_balance_op(op.login, op.op_ref, since, kind=op.kind)
    if found is not None:
        return BalanceResult(deal_ticket=found.ticket, applied_now=False)
    return platform.apply_balance_op(op)


# ---------------------------------------------------------------------------
# Helpers shared by the implementations

COMMENT_MAX = 31  # MT5 keeps 31 usable characters of a deal comment
_OP_REF_RE = re.compile(r"^[0-9A-Za-z_-]{1,27}$")


def balance_comment(op_ref: str, comment: str = "") -> str:
    """``CRM#<op_ref>`` first (it must survive the 31-char cut), then free text if room."""
    if not _OP_REF_RE.match(op_ref):
        raise InvalidRequest(f"op_ref must be 1-27 characters of [0-9A-Za-z_-], got {op_ref!r}")
    text = f"CRM#{op_ref}"
    if comment:
        text = f"{text} {comment}"
    return text[:COMMENT_MAX]


def comment_has_op_ref(comment: str, op_ref: str) -> bool:
    """True if ``#<op_ref>`` is in the comment as a whole token (``#12`` is not in ``#123``)."""
    return re.search(rf"#{re.escape(op_ref)}(?![0-9A-Za-z_-])", comment) is not None


def to_decimal(value: Any) -> Decimal:
    """Money and prices: wire strings straight to Decimal; floats via their repr."""
    if value is None or value == "":
        return Decimal(0)
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(str(value))
    try:
        return Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ProtocolError(f"not a decimal: {value!r}", raw=value) from exc


def to_int(value: Any) -> int:
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    text = str(value).strip()
    try:
        return int(text)
    except ValueError:
        try:
            return int(Decimal(text))
        except InvalidOperation as exc:
            raise ProtocolError(f"not an integer: {value!r}", raw=value) from exc


def to_str(value: Any) -> str:
    return "" if value is None else str(value)


PASSWORD_SPECIALS = "#@!$%&*-_=+?"  # noqa: S105 - an alphabet, not a password


def generate_password(length: int = 12) -> str:
    """A password MT5 accepts: 8-16 characters with lower, upper, digit and special."""
    if not 8 <= length <= 16:
        raise ValueError("MT5 passwords are 8 to 16 characters long")
    classes = [string.ascii_lowercase, string.ascii_uppercase, string.digits, PASSWORD_SPECIALS]
    chars = [secrets.choice(c) for c in classes]
    alphabet = "".join(classes)
    chars += [secrets.choice(alphabet) for _ in range(length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)
