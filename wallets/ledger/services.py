"""The ledger's one door: every movement of money goes through these functions.

Amounts are `Decimal` in the currency's major unit (10.50 USD); the database stores integer
minor units. Each call is atomic and idempotent under (source, key): repeating it returns
the first result and changes nothing, and reusing a key for a different request raises
IdempotencyConflict. The posting itself is one call of the SQL function `ledger_post`.
"""

from __future__ import annotations

import gc
import hashlib
import json
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from functools import lru_cache
from typing import Any, Literal

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from brokerage.models import User
from clients.models import Client, TradingAccount
from wallets.ledger import exceptions as errors
from wallets.models import Currency, Entry, Journal, LedgerAccount

Direction = Literal["D", "C"]
Kind = LedgerAccount.Kind


@dataclass(frozen=True)
class Leg:
    account: LedgerAccount
    direction: Direction
    amount: Decimal


@dataclass(frozen=True)
class Posting:
    journal_id: int
    created: bool  # False: an earlier call with the same key already did it


@dataclass(frozen=True)
class TransferRequest:
    source: str
    key: str
    legs: Sequence[Leg]
    kind: str = Journal.Kind.TRANSFER
    memo: str = ""
    external_ref: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


# --- amounts ----------------------------------------------------------------------------------


@lru_cache(maxsize=64)
def currency_exponent(code: str) -> int:
    try:
        return Currency.objects.get(code=code).exponent
    except Currency.DoesNotExist:
        raise errors.InvalidAmount(f"Unknown currency {code}.") from None


def to_minor(amount: Decimal, currency: str) -> int:
    """Exact conversion to minor units; refuses what the currency can't hold."""
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise errors.InvalidAmount(f"Amount must be a decimal number, not {amount!r}.")
    if amount <= 0:
        raise errors.InvalidAmount(f"Amount must be greater than zero (got {amount} {currency}).")
    exponent = currency_exponent(currency)
    minor = amount.scaleb(exponent)
    if minor != minor.to_integral_value():
        raise errors.InvalidAmount(
            f"{amount} has more decimals than {currency} allows ({exponent})."
        )
    return int(minor)


def from_minor(minor: int, currency: str) -> Decimal:
    exponent = currency_exponent(currency)
    return Decimal(minor).scaleb(-exponent).quantize(Decimal(1).scaleb(-exponent))


@lru_cache(maxsize=64)
def _quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-currency_exponent(currency))


def _amount_text(amount: Decimal, currency: str) -> str:
    if (
        type(amount) is Decimal
        and amount.is_finite()
        and amount > 0
        and amount.as_tuple().exponent >= -currency_exponent(currency)  # type: ignore[operator]
    ):
        # The common case, without to_minor's arithmetic: no more decimals than allowed.
        return str(amount.quantize(_quantum(currency)))
    to_minor(amount, currency)  # validates (trailing zeros beyond the exponent are fine)
    return str(amount.quantize(_quantum(currency)))


# --- accounts --------------------------------------------------------------------------------


def _account(code: str, **fields: Any) -> LedgerAccount:
    account = LedgerAccount.objects.filter(code=code).first()
    if account is not None:
        return account
    try:
        with transaction.atomic():
            return LedgerAccount.objects.create(code=code, **fields)
    except IntegrityError:  # created concurrently
        return LedgerAccount.objects.get(code=code)


def wallet_for_client(*, client: Client, currency: str) -> LedgerAccount:
    return _account(
        f"client:{client.pk}:wallet:{currency}",
        name=f"{client.name} · {currency} wallet",
        owner_type=LedgerAccount.Owner.CLIENT,
        client=client,
        kind=Kind.WALLET,
        currency_id=currency,
        no_overdraft=True,
    )


def wallet_for_ib(*, ib_id: int, name: str, currency: str) -> LedgerAccount:
    return _account(
        f"ib:{ib_id}:wallet:{currency}",
        name=f"{name} · {currency} IB wallet",
        owner_type=LedgerAccount.Owner.IB,
        ib_id=ib_id,
        kind=Kind.IB_WALLET,
        currency_id=currency,
        no_overdraft=True,
    )


def trading_mirror_for_account(*, account: TradingAccount) -> LedgerAccount:
    """The ledger's copy of what the CRM moved into a live trading account: wallet -> account
    transfers credit it, account -> wallet transfers debit it. Trading profit and loss happen
    on the server, so it may go below zero (a trader who withdraws their winnings): no
    overdraft guard. Reconciliation compares it with the server's balance operations."""
    return _account(
        f"client:{account.client_id}:trading:{account.server_id}:{account.login}",
        name=f"MT5 #{account.login} ({account.server.name}) · {account.currency}",
        owner_type=LedgerAccount.Owner.CLIENT,
        client_id=account.client_id,
        kind=Kind.TRADING,
        currency_id=account.currency,
    )


def house_account(*, kind: str, currency: str, label: str = "") -> LedgerAccount:
    """A house account (PSP clearing, fee income, FX liquidity...). House accounts are
    entry-only: every deposit or commission touches them, so they take no row lock."""
    suffix = f":{label}" if label else ""
    return _account(
        f"house:{kind}{suffix}:{currency}",
        name=f"{LedgerAccount.Kind(kind).label}{' ' + label if label else ''} · {currency}",
        owner_type=LedgerAccount.Owner.HOUSE,
        kind=kind,
        currency_id=currency,
        entry_only=True,
    )


# --- posting ---------------------------------------------------------------------------------


# json.dumps(material, sort_keys=True, default=str), without making an encoder per call.
_HASH_ENCODER = json.JSONEncoder(sort_keys=True, default=str)
# What the SQL functions assume when a key is absent: left out of what is sent, which
# PostgreSQL then parses faster (the hash still covers them).
_WIRE_DEFAULTS: dict[str, Any] = {
    "phase": "posted",
    "releases": [],
    "actor": None,
    "memo": "",
    "external_ref": "",
    "metadata": {},
    "pending_id": None,
    "reverses_id": None,
    "expires_at": None,
}


def _request_hash(payload: dict[str, Any]) -> str:
    material = {k: v for k, v in payload.items() if k not in ("source", "key", "actor")}
    return hashlib.sha256(_HASH_ENCODER.encode(material).encode()).hexdigest()


def _payload(
    *,
    source: str,
    key: str,
    kind: str,
    legs: Sequence[Leg],
    phase: str = "posted",
    actor: User | None = None,
    memo: str = "",
    external_ref: str = "",
    metadata: dict[str, Any] | None = None,
    effective_at: datetime | None = None,
    pending_id: int | None = None,
    reverses_id: int | None = None,
    expires_at: datetime | None = None,
    releases: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    if not source or not key:
        raise errors.LedgerError("A posting needs a source and an idempotency key.")
    if len(legs) < 2 and not releases:
        raise errors.UnbalancedJournal("A posting needs at least two legs.")
    payload: dict[str, Any] = {
        "source": source,
        "key": key,
        "kind": kind,
        "phase": phase,
        "legs": [
            {
                "account": leg.account.pk,
                "direction": leg.direction,
                "amount": _amount_text(leg.amount, leg.account.currency_id),
            }
            for leg in legs
        ],
        "releases": list(releases),
        "actor": actor.pk if actor else None,
        "memo": memo,
        "external_ref": external_ref,
        "metadata": metadata or {},
        "pending_id": pending_id,
        "reverses_id": reverses_id,
        "expires_at": expires_at.isoformat() if expires_at else None,
    }
    if effective_at is not None:
        payload["effective_at"] = effective_at.isoformat()
    for leg in legs:
        if leg.direction not in ("D", "C"):
            raise errors.LedgerError(f"Direction must be D or C, not {leg.direction!r}.")
    wire = {k: v for k, v in payload.items() if k not in _WIRE_DEFAULTS or v != _WIRE_DEFAULTS[k]}
    wire["hash"] = _request_hash(payload)
    return wire


def _translate(exc: DatabaseError) -> errors.LedgerError | DatabaseError:
    cause = exc.__cause__
    state = getattr(cause, "sqlstate", None) or ""
    diag = getattr(cause, "diag", None)
    message = (getattr(diag, "message_primary", None) or str(exc)).strip()
    constraint = getattr(diag, "constraint_name", None) or ""
    if state in errors.SQLSTATE_ERRORS:
        return errors.SQLSTATE_ERRORS[state](message)
    if state == "23505" and "pending_id" in constraint:
        return errors.HoldAlreadyResolved("This hold was already posted, voided or expired.")
    if state == "23505" and "reverses_id" in constraint:
        return errors.AlreadyReversed("This journal was already reversed.")
    if state == "23514" and constraint == "ledger_account_no_overdraft":
        # The CHECK on the counters refused the update; name the account and what it has.
        detail = getattr(diag, "message_detail", "") or ""
        match = re.search(r"Failing row contains \((\d+),", detail)
        account = LedgerAccount.objects.filter(pk=int(match.group(1))).first() if match else None
        if account is None:
            return errors.InsufficientFunds("Insufficient funds.")
        available = account.credits_posted - account.debits_posted - account.debits_pending
        return errors.InsufficientFunds(
            f"Insufficient funds in {account.name}: "
            f"{from_minor(max(available, 0), account.currency_id)} {account.currency_id} available."
        )
    return exc


def _execute(sql: str, payload: Any) -> list[tuple[int, bool]]:
    return _execute_json(sql, json.dumps(payload))


def _execute_json(sql: str, payload: str) -> list[tuple[int, bool]]:
    try:
        if not connection.in_atomic_block:
            # In autocommit the one statement is its own transaction (deferred triggers fire
            # at its end), so BEGIN/COMMIT round trips would only add latency (bench/README).
            with connection.cursor() as cursor:
                cursor.execute(sql, [payload])
                return list(cursor.fetchall())
        # Inside the caller's transaction: a savepoint, so a refusal leaves it usable.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [payload])
            return list(cursor.fetchall())
    except DatabaseError as exc:
        raise _translate(exc) from exc


def _post(payload: dict[str, Any]) -> Posting:
    try:
        [(journal_id, created)] = _execute(
            "SELECT journal_id, created FROM ledger_post(%s::jsonb)", payload
        )
    except (errors.HoldAlreadyResolved, errors.AlreadyReversed):
        # Two concurrent calls with one key (a client's retry racing its first attempt): the
        # second INSERT can hit the first's UNIQUE pending_id / reverses_id before ON CONFLICT
        # sees the key, since PostgreSQL checks only the arbiter index speculatively. The
        # first call has committed by then; if it made this request, return its result.
        # (wallets/tests/test_ledger_concurrency.py, "one key ... resolves a hold once")
        earlier = (
            Journal.objects.filter(source=payload["source"], idempotency_key=payload["key"])
            .values_list("pk", "request_hash")
            .first()
        )
        if earlier is None:
            raise
        if earlier[1] != payload["hash"]:
            raise errors.IdempotencyConflict(
                f"idempotency key {payload['source']}:{payload['key']} was used for a "
                "different request"
            ) from None
        return Posting(journal_id=earlier[0], created=False)
    return Posting(journal_id=journal_id, created=created)


def ledger_transfer(
    *,
    source: str,
    key: str,
    legs: Sequence[Leg],
    kind: str = Journal.Kind.TRANSFER,
    actor: User | None = None,
    memo: str = "",
    external_ref: str = "",
    metadata: dict[str, Any] | None = None,
    effective_at: datetime | None = None,
) -> Posting:
    """Post two or more legs atomically; debits equal credits per currency."""
    return _post(
        _payload(
            source=source,
            key=key,
            kind=kind,
            legs=legs,
            actor=actor,
            memo=memo,
            external_ref=external_ref,
            metadata=metadata,
            effective_at=effective_at,
        )
    )


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Encoding a batch makes many small objects and no cycles; without this pause the
    cyclic collector walks the caller's whole heap every few thousand of them (about a fifth
    of the encoding time in bench/ledger.py, whose caller holds 100,000 accounts)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


_json_str = json.encoder.encode_basestring_ascii  # how json.dumps writes a str


def _transfer_json(r: TransferRequest) -> str:
    """A plain posted transfer as `_payload` would send it, written straight to JSON text.

    Its hash covers exactly the bytes `_request_hash` would have encoded (sorted keys,
    json.dumps' separators, defaults included), so replays match whichever way a request
    was first posted; test_services checks the two agree over generated requests. It costs
    about a third of building the dict and encoding it twice, which is most of what a big
    batch spends in Python."""
    if not r.source or not r.key:
        raise errors.LedgerError("A posting needs a source and an idempotency key.")
    if len(r.legs) < 2:
        raise errors.UnbalancedJournal("A posting needs at least two legs.")
    legs = []
    for leg in r.legs:
        if leg.direction not in ("D", "C"):
            raise errors.LedgerError(f"Direction must be D or C, not {leg.direction!r}.")
        amount = _json_str(_amount_text(leg.amount, leg.account.currency_id))
        legs.append(
            f'{{"account": {int(leg.account.pk)}, "amount": {amount}, '
            f'"direction": "{leg.direction}"}}'
        )
    legs_json = ", ".join(legs)
    kind, memo, ref = _json_str(r.kind), _json_str(r.memo), _json_str(r.external_ref)
    metadata = _HASH_ENCODER.encode(r.metadata or {})
    material = (
        f'{{"expires_at": null, "external_ref": {ref}, "kind": {kind}, "legs": [{legs_json}], '
        f'"memo": {memo}, "metadata": {metadata}, "pending_id": null, "phase": "posted", '
        f'"releases": [], "reverses_id": null}}'
    )
    digest = hashlib.sha256(material.encode()).hexdigest()
    extra = (
        (f', "memo": {memo}' if r.memo else "")
        + (f', "external_ref": {ref}' if r.external_ref else "")
        + (f', "metadata": {metadata}' if r.metadata else "")
    )
    return (
        f'{{"source": {_json_str(r.source)}, "key": {_json_str(r.key)}, "kind": {kind}, '
        f'"legs": [{legs_json}]{extra}, "hash": "{digest}"}}'
    )


def ledger_transfer_payload(request: TransferRequest) -> str:
    """A plain posted transfer as the JSON `ledger_post(jsonb)` takes, hashed exactly as
    `ledger_transfer` would send it: for a caller that posts from SQL of its own, in the
    same statement as its own rows (wallets/payments' webhook credit)."""
    return _transfer_json(request)


def ledger_transfer_many(*, requests: Sequence[TransferRequest]) -> list[Posting]:
    """Post many transfers in one round trip and one transaction: all or nothing."""
    if not requests:
        return []
    with _gc_paused():
        items = "[" + ", ".join(_transfer_json(r) for r in requests) + "]"
    rows = _execute_json("SELECT journal_id, created FROM ledger_post_batch(%s::jsonb)", items)
    return [Posting(journal_id=j, created=c) for j, c in rows]


def ledger_hold(
    *,
    source: str,
    key: str,
    debit: LedgerAccount,
    credit: LedgerAccount,
    amount: Decimal,
    expires_at: datetime | None = None,
    actor: User | None = None,
    memo: str = "",
    external_ref: str = "",
    metadata: dict[str, Any] | None = None,
) -> Posting:
    """Reserve `amount` (two-phase): it leaves the debit account's available balance now and
    moves when the hold is posted, or comes back when it is voided or expires."""
    return _post(
        _payload(
            source=source,
            key=key,
            kind=Journal.Kind.HOLD,
            phase="pending",
            legs=[Leg(debit, "D", amount), Leg(credit, "C", amount)],
            actor=actor,
            memo=memo,
            external_ref=external_ref,
            metadata=metadata,
            expires_at=expires_at,
        )
    )


def _hold_entries(hold_id: int) -> tuple[Journal, list[Entry]]:
    hold = Journal.objects.filter(pk=hold_id).first()
    if hold is None or hold.kind != Journal.Kind.HOLD:
        raise errors.NotAHold(f"Journal {hold_id} is not a hold.")
    entries = list(Entry.objects.filter(journal_id=hold_id).select_related("account"))
    return hold, entries


def _releases(entries: Sequence[Entry]) -> list[dict[str, Any]]:
    return [
        {"account": e.account_id, "direction": e.direction, "amount": str(e.amount)}
        for e in entries
    ]


def ledger_post_pending(
    *,
    source: str,
    key: str,
    hold_id: int,
    amount: Decimal | None = None,
    actor: User | None = None,
    memo: str = "",
) -> Posting:
    """Post a hold, fully or partly (the rest goes back to the debit account)."""
    hold, entries = _hold_entries(hold_id)
    debit = next(e for e in entries if e.direction == "D")
    credit = next(e for e in entries if e.direction == "C")
    currency = debit.currency_id
    held = from_minor(debit.amount, currency)
    amount = held if amount is None else amount
    if to_minor(amount, currency) > debit.amount:
        raise errors.InvalidAmount(
            f"Can't post {amount} {currency}: the hold is {held} {currency}."
        )
    return _post(
        _payload(
            source=source,
            key=key,
            kind=Journal.Kind.POST,
            pending_id=hold.pk,
            actor=actor,
            memo=memo,
            legs=[Leg(debit.account, "D", amount), Leg(credit.account, "C", amount)],
            releases=_releases(entries),
            metadata={"held": str(held)},
        )
    )


def ledger_void_pending(
    *,
    source: str,
    key: str,
    hold_id: int,
    actor: User | None = None,
    memo: str = "",
    kind: str = Journal.Kind.VOID,
) -> Posting:
    """Give a hold back in full (a rejected withdrawal, a refused balance operation)."""
    hold, entries = _hold_entries(hold_id)
    return _post(
        _payload(
            source=source,
            key=key,
            kind=kind,
            pending_id=hold.pk,
            actor=actor,
            memo=memo,
            legs=[],
            releases=_releases(entries),
        )
    )


def ledger_expire_holds(*, now: datetime | None = None, limit: int = 500) -> int:
    """Void holds past their expiry (a periodic task). Safe to run twice, or concurrently."""
    now = now or timezone.now()
    expired = list(
        Journal.objects.filter(
            kind=Journal.Kind.HOLD, expires_at__lt=now, resolution__isnull=True
        ).values_list("pk", flat=True)[:limit]
    )
    count = 0
    for hold_id in expired:
        try:
            result = ledger_void_pending(
                source="ledger.expiry",
                key=f"expire:{hold_id}",
                hold_id=hold_id,
                kind=Journal.Kind.EXPIRE,
                memo="hold expired",
            )
        except errors.HoldAlreadyResolved:
            continue  # posted or voided meanwhile
        count += int(result.created)
    return count


def ledger_reverse(
    *,
    source: str,
    key: str,
    journal_id: int,
    actor: User | None = None,
    memo: str = "",
) -> Posting:
    """Undo a posted journal with its mirror image. The original stays as it was."""
    journal = Journal.objects.filter(pk=journal_id).first()
    if journal is None:
        raise errors.NotReversible(f"Journal {journal_id} does not exist.")
    if journal.phase == Journal.Phase.PENDING:
        raise errors.NotReversible("A hold is voided, not reversed.")
    entries = list(
        Entry.objects.filter(journal_id=journal_id, phase="posted").select_related("account")
    )
    if not entries:
        raise errors.NotReversible(f"Journal {journal_id} moved no posted money.")
    legs = [
        Leg(e.account, "C" if e.direction == "D" else "D", from_minor(e.amount, e.currency_id))
        for e in entries
    ]
    return _post(
        _payload(
            source=source,
            key=key,
            kind=Journal.Kind.REVERSAL,
            reverses_id=journal_id,
            actor=actor,
            memo=memo,
            legs=legs,
        )
    )


@dataclass(frozen=True)
class Quote:
    sell_amount: Decimal
    sell_currency: str
    rate: Decimal  # units of buy currency per unit of sell currency, before markup
    markup: Decimal  # fraction kept by the house, e.g. 0.005
    gross: Decimal
    fee: Decimal
    buy_amount: Decimal  # what the client receives
    buy_currency: str


def conversion_quote(
    *, amount: Decimal, sell: str, buy: str, rate: Decimal, markup: Decimal
) -> Quote:
    """The exact amounts a conversion will post. Rounding is named: the gross is rounded
    down to the buy currency (never pay a fraction we can't book), the fee half-even."""
    if sell == buy:
        raise errors.CurrencyMismatch("Pick two different currencies to convert between.")
    if rate <= 0 or not (Decimal(0) <= markup < Decimal(1)):
        raise errors.InvalidAmount("The rate must be positive and the markup between 0 and 1.")
    to_minor(amount, sell)
    step = Decimal(1).scaleb(-currency_exponent(buy))
    gross = (amount * rate).quantize(step, rounding=ROUND_DOWN)
    fee = (gross * markup).quantize(step, rounding=ROUND_HALF_EVEN)
    net = gross - fee
    if net <= 0:
        raise errors.InvalidAmount(f"{amount} {sell} is too small to convert to {buy}.")
    return Quote(amount, sell, rate, markup, gross, fee, net, buy)


def ledger_convert(
    *,
    source: str,
    key: str,
    client: Client,
    quote: Quote,
    actor: User | None = None,
) -> Posting:
    """Move money between two of a client's wallets in different currencies, through the
    house's FX liquidity accounts, the markup booked as FX revenue."""
    sell, buy = quote.sell_currency, quote.buy_currency
    legs = [
        Leg(wallet_for_client(client=client, currency=sell), "D", quote.sell_amount),
        Leg(house_account(kind=Kind.FX_LIQUIDITY, currency=sell), "C", quote.sell_amount),
        Leg(house_account(kind=Kind.FX_LIQUIDITY, currency=buy), "D", quote.gross),
        Leg(wallet_for_client(client=client, currency=buy), "C", quote.buy_amount),
    ]
    if quote.fee > 0:
        legs.append(Leg(house_account(kind=Kind.FX_REVENUE, currency=buy), "C", quote.fee))
    return _post(
        _payload(
            source=source,
            key=key,
            kind=Journal.Kind.CONVERSION,
            legs=legs,
            actor=actor,
            metadata={
                "rate": str(quote.rate),
                "markup": str(quote.markup),
                "gross": str(quote.gross),
                "fee": str(quote.fee),
                "sell": f"{quote.sell_amount} {sell}",
                "buy": f"{quote.buy_amount} {buy}",
            },
        )
    )
