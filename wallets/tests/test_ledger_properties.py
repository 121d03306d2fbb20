"""The ledger against a model of itself: random deposits, transfers (single and batched),
holds with full and partial posts, voids, expiry, conversions, reversals and idempotent
retries, checked after every step against a dict of balances in minor units and against
every invariant of `manage.py ledger_check` (TigerBeetle's VOPR, in miniature)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from functools import partial

import pytest
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from tests.factories import ClientFactory
from wallets.ledger import exceptions as errors
from wallets.ledger.selectors import account_balance, ledger_violations
from wallets.ledger.services import (
    Leg,
    Posting,
    TransferRequest,
    conversion_quote,
    house_account,
    ledger_convert,
    ledger_expire_holds,
    ledger_hold,
    ledger_post_pending,
    ledger_reverse,
    ledger_transfer,
    ledger_transfer_many,
    ledger_void_pending,
    wallet_for_client,
)
from wallets.models import Journal, LedgerAccount

EXPONENTS = {"USD": 2, "JPY": 0}  # two exponents, so conversions have to round
CLIENTS = ("a", "b")
WALLETS = [f"{c}:{ccy}" for c in CLIENTS for ccy in EXPONENTS]
HOUSE_KINDS = {
    "clearing": LedgerAccount.Kind.PSP_CLEARING,
    "transit": LedgerAccount.Kind.WITHDRAWALS_IN_TRANSIT,
    "fx": LedgerAccount.Kind.FX_LIQUIDITY,
    "fxrev": LedgerAccount.Kind.FX_REVENUE,
}

amounts = st.integers(min_value=1, max_value=60_000)  # minor units
wallets = st.sampled_from(WALLETS)
same_currency_pairs = st.sampled_from(
    [(f"{x}:{ccy}", f"{y}:{ccy}") for x, y in (("a", "b"), ("b", "a")) for ccy in EXPONENTS]
)


def major(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-EXPONENTS[currency])


def currency_of(name: str) -> str:
    return name.split(":")[1]


@dataclass
class HoldModel:
    wallet: str
    amount: int
    expired: bool
    open: bool = True


@dataclass
class Model:
    posted: dict[str, int] = field(default_factory=dict)  # credits - debits
    pending_d: dict[str, int] = field(default_factory=dict)
    pending_c: dict[str, int] = field(default_factory=dict)
    touched: set[str] = field(default_factory=set)  # accounts changed since the last check

    def available(self, name: str) -> int:
        return self.posted[name] - self.pending_d[name]

    def overdrawn_after(self, deltas: dict[str, int]) -> bool:
        """Would these posted deltas push a client wallet (the flagged accounts) below zero?"""
        return any(
            name in WALLETS and self.available(name) + delta < 0 for name, delta in deltas.items()
        )

    def apply(self, deltas: dict[str, int]) -> None:
        for name, delta in deltas.items():
            self.posted[name] += delta
        self.touched.update(deltas)


class LedgerMachine(RuleBasedStateMachine):
    holds = Bundle("holds")
    journals = Bundle("journals")  # posted journals, each reversible once

    def __init__(self) -> None:
        super().__init__()
        # Each example runs in a savepoint rolled back at teardown: fresh accounts, and the
        # hold sweeper sees only this example's holds.
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.prefix = uuid.uuid4().hex[:12]
        self.counter = 0
        clients = {c: ClientFactory() for c in CLIENTS}
        self.clients = clients
        self.accounts: dict[str, LedgerAccount] = {}
        for name in WALLETS:
            owner, ccy = name.split(":")
            self.accounts[name] = wallet_for_client(client=clients[owner], currency=ccy)
        for short, kind in HOUSE_KINDS.items():
            for ccy in EXPONENTS:
                label = "model" if short == "clearing" else ""
                self.accounts[f"{short}:{ccy}"] = house_account(
                    kind=kind, currency=ccy, label=label
                )
        self.model = Model(
            posted=dict.fromkeys(self.accounts, 0),
            pending_d=dict.fromkeys(self.accounts, 0),
            pending_c=dict.fromkeys(self.accounts, 0),
            touched=set(self.accounts),
        )
        self.hold_models: dict[int, HoldModel] = {}
        self.deltas: dict[int, dict[str, int]] = {}  # posted journal -> its posted deltas
        self.reversed: set[int] = set()
        self.retries: dict[int, Callable[[], Posting]] = {}  # journal -> its request, again

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    # --- helpers ------------------------------------------------------------------------

    def key(self, what: str) -> str:
        self.counter += 1
        return f"{self.prefix}:{what}:{self.counter}"

    def legs(self, deltas: dict[str, int]) -> list[Leg]:
        return [
            Leg(
                self.accounts[name],
                "C" if delta > 0 else "D",
                major(abs(delta), currency_of(name)),
            )
            for name, delta in deltas.items()
        ]

    def record(self, journal_id: int, deltas: dict[str, int], retry) -> int:
        assert journal_id not in self.deltas
        self.model.apply(deltas)
        self.deltas[journal_id] = deltas
        self.retries[journal_id] = retry
        return journal_id

    def spend(self, data, wallet: str, label: str) -> int:
        """An amount to take out of `wallet`: mostly one it can afford, sometimes too much."""
        available = self.model.available(wallet)
        if available > 0 and data.draw(st.integers(0, 4), label=f"{label} affordable") > 0:
            return data.draw(st.integers(1, available), label=label)
        return data.draw(st.integers(available + 1, available + 10_000), label=label)

    def transfer_deltas(self, payer: str, payee: str, minor: int) -> dict[str, int]:
        return {payer: -minor, payee: minor}

    # --- rules --------------------------------------------------------------------------

    @initialize(target=journals, minors=st.lists(amounts, min_size=4, max_size=4))
    def fund_every_wallet(self, minors):
        return multiple(*(self.deposit(w, m) for w, m in zip(WALLETS, minors, strict=True)))

    @rule(target=journals, wallet=wallets, minor=amounts)
    def deposit(self, wallet, minor):
        deltas = {f"clearing:{currency_of(wallet)}": -minor, wallet: minor}
        key = self.key("deposit")

        def call():
            return ledger_transfer(source="model", key=key, legs=self.legs(deltas))

        result = call()
        assert result.created
        return self.record(result.journal_id, deltas, call)

    @rule(target=journals, pair=same_currency_pairs, data=st.data())
    def transfer(self, pair, data):
        minor = self.spend(data, pair[0], "amount")
        deltas = self.transfer_deltas(*pair, minor)
        key = self.key("transfer")

        def call():
            return ledger_transfer(source="model", key=key, legs=self.legs(deltas))

        if self.model.overdrawn_after(deltas):
            with pytest.raises(errors.InsufficientFunds, match="Insufficient funds in"):
                call()
            return multiple()
        result = call()
        assert result.created
        return self.record(result.journal_id, deltas, call)

    @rule(target=journals, first=same_currency_pairs, second=same_currency_pairs, data=st.data())
    def transfer_many(self, first, second, data):
        """Two transfers in one batch: both happen or neither does."""
        minors = [self.spend(data, first[0], "first"), self.spend(data, second[0], "second")]
        batch = [
            self.transfer_deltas(*pair, m) for pair, m in zip((first, second), minors, strict=True)
        ]
        requests = [
            TransferRequest(source="model", key=self.key("batch"), legs=self.legs(d)) for d in batch
        ]
        trial = Model(dict(self.model.posted), self.model.pending_d, self.model.pending_c)
        refused = False
        for deltas in batch:
            refused = refused or trial.overdrawn_after(deltas)
            trial.apply(deltas)
        if refused:
            with pytest.raises(errors.InsufficientFunds):
                ledger_transfer_many(requests=requests)
            return multiple()
        results = ledger_transfer_many(requests=requests)
        assert [r.created for r in results] == [True, True]
        ids = []
        for r, result, deltas in zip(requests, results, batch, strict=True):
            retry = partial(ledger_transfer, source=r.source, key=r.key, legs=r.legs)
            ids.append(self.record(result.journal_id, deltas, retry))
        return multiple(*ids)

    @rule(
        target=holds,
        wallet=wallets,
        expiry=st.sampled_from(["none", "past", "future"]),
        data=st.data(),
    )
    def hold(self, wallet, expiry, data):
        minor = self.spend(data, wallet, "amount")
        ccy = currency_of(wallet)
        transit = f"transit:{ccy}"
        expires_at = {
            "none": None,
            "past": timezone.now() - timedelta(minutes=1),
            "future": timezone.now() + timedelta(hours=1),
        }[expiry]
        key = self.key("hold")

        def call():
            return ledger_hold(
                source="model",
                key=key,
                debit=self.accounts[wallet],
                credit=self.accounts[transit],
                amount=major(minor, ccy),
                expires_at=expires_at,
            )

        if minor > self.model.available(wallet):
            with pytest.raises(errors.InsufficientFunds):
                call()
            return multiple()
        result = call()
        assert result.created
        self.model.pending_d[wallet] += minor
        self.model.pending_c[transit] += minor
        self.model.touched.update((wallet, transit))
        self.hold_models[result.journal_id] = HoldModel(wallet, minor, expiry == "past")
        self.retries[result.journal_id] = call
        return result.journal_id

    def release(self, hold: HoldModel) -> None:
        hold.open = False
        transit = f"transit:{currency_of(hold.wallet)}"
        self.model.pending_d[hold.wallet] -= hold.amount
        self.model.pending_c[transit] -= hold.amount
        self.model.touched.update((hold.wallet, transit))

    @rule(target=journals, hold_id=holds, partial=st.none() | st.integers(min_value=1))
    def post_hold(self, hold_id, partial):
        hold = self.hold_models[hold_id]
        ccy = currency_of(hold.wallet)
        minor = hold.amount if partial is None else 1 + partial % hold.amount
        key = self.key("post")

        def call():
            amount = None if partial is None else major(minor, ccy)
            return ledger_post_pending(source="model", key=key, hold_id=hold_id, amount=amount)

        if not hold.open:
            with pytest.raises(errors.HoldAlreadyResolved, match="already posted, voided"):
                call()
            return multiple()
        result = call()
        assert result.created
        self.release(hold)
        return self.record(result.journal_id, {hold.wallet: -minor, f"transit:{ccy}": minor}, call)

    @rule(hold_id=holds, extra=st.integers(min_value=1, max_value=1000))
    def post_more_than_held_is_refused(self, hold_id, extra):
        hold = self.hold_models[hold_id]
        ccy = currency_of(hold.wallet)
        with pytest.raises(errors.InvalidAmount, match="the hold is"):
            ledger_post_pending(
                source="model",
                key=self.key("overpost"),
                hold_id=hold_id,
                amount=major(hold.amount + extra, ccy),
            )

    @rule(hold_id=holds)
    def void_hold(self, hold_id):
        hold = self.hold_models[hold_id]
        key = self.key("void")
        if not hold.open:
            with pytest.raises(errors.HoldAlreadyResolved):
                ledger_void_pending(source="model", key=key, hold_id=hold_id)
            return
        result = ledger_void_pending(source="model", key=key, hold_id=hold_id)
        assert result.created
        self.release(hold)
        again = ledger_void_pending(source="model", key=key, hold_id=hold_id)
        assert (again.journal_id, again.created) == (result.journal_id, False)

    @rule()
    def expire_holds(self):
        due = [h for h in self.hold_models.values() if h.open and h.expired]
        assert ledger_expire_holds(now=timezone.now()) == len(due)
        for hold in due:
            self.release(hold)

    @rule(
        target=journals,
        client=st.sampled_from(CLIENTS),
        sell=st.sampled_from(sorted(EXPONENTS)),
        data=st.data(),
        rate=st.decimals(min_value="0.0001", max_value="250", places=4),
        markup=st.sampled_from([Decimal("0"), Decimal("0.005"), Decimal("0.25")]),
    )
    def convert(self, client, sell, data, rate, markup):
        minor = self.spend(data, f"{client}:{sell}", "amount")
        (buy,) = set(EXPONENTS) - {sell}
        # The expected amounts, computed here in minor units rather than by the service.
        gross = int(
            (Decimal(minor) * rate)
            .scaleb(EXPONENTS[buy] - EXPONENTS[sell])
            .to_integral_value(ROUND_FLOOR)
        )
        fee = int((Decimal(gross) * markup).to_integral_value(ROUND_HALF_EVEN))
        net = gross - fee
        if net <= 0:
            with pytest.raises(errors.InvalidAmount, match="too small to convert"):
                conversion_quote(amount=major(minor, sell), sell=sell, buy=buy, rate=rate,
                                 markup=markup)  # fmt: skip
            return multiple()
        quote = conversion_quote(
            amount=major(minor, sell), sell=sell, buy=buy, rate=rate, markup=markup
        )
        assert (quote.gross, quote.fee, quote.buy_amount) == (
            major(gross, buy),
            major(fee, buy),
            major(net, buy),
        )
        deltas = {
            f"{client}:{sell}": -minor,
            f"fx:{sell}": minor,
            f"fx:{buy}": -gross,
            f"{client}:{buy}": net,
        }
        if fee:
            deltas[f"fxrev:{buy}"] = fee
        key = self.key("convert")

        def call():
            return ledger_convert(source="model", key=key, client=self.clients[client], quote=quote)

        if self.model.overdrawn_after(deltas):
            with pytest.raises(errors.InsufficientFunds):
                call()
            return multiple()
        result = call()
        assert result.created
        return self.record(result.journal_id, deltas, call)

    @rule(target=journals, journal_id=journals)
    def reverse(self, journal_id):
        deltas = {name: -delta for name, delta in self.deltas[journal_id].items()}
        key = self.key("reverse")

        def call():
            return ledger_reverse(source="model", key=key, journal_id=journal_id)

        if journal_id in self.reversed:
            with pytest.raises(errors.AlreadyReversed, match="already reversed"):
                call()
            return multiple()
        if self.model.overdrawn_after(deltas):
            with pytest.raises(errors.InsufficientFunds):
                call()
            return multiple()
        result = call()
        assert result.created
        self.reversed.add(journal_id)
        return self.record(result.journal_id, deltas, call)

    @rule(hold_id=holds)
    def reversing_a_hold_is_refused(self, hold_id):
        with pytest.raises(errors.NotReversible, match="voided, not reversed"):
            ledger_reverse(source="model", key=self.key("reverse-hold"), journal_id=hold_id)

    @rule(journal_id=journals | holds)
    def a_retry_returns_the_first_result(self, journal_id):
        result = self.retries[journal_id]()
        assert (result.journal_id, result.created) == (journal_id, False)

    @rule(journal_id=journals)
    def a_reused_key_with_another_request_is_refused(self, journal_id):
        journal = Journal.objects.get(pk=journal_id)
        with pytest.raises(errors.IdempotencyConflict, match="different request"):
            ledger_transfer(
                source=journal.source,
                key=journal.idempotency_key,
                legs=[
                    Leg(self.accounts["clearing:USD"], "D", Decimal("0.01")),
                    Leg(self.accounts["a:USD"], "C", Decimal("0.01")),
                ],
                memo="not the first request",
            )

    # --- after every step ---------------------------------------------------------------

    @invariant()
    def the_ledger_is_sound_and_matches_the_model(self):
        # The zero-sum trigger is deferred to COMMIT, which never comes inside this test's
        # transaction: switching it to IMMEDIATE checks every entry written so far, now.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        assert ledger_violations() == {}
        # Wallets are read from their counters (no query); house accounts are summed from
        # their entries, so only those the last step touched are read again.
        names = set(WALLETS) | self.model.touched
        fresh = LedgerAccount.objects.in_bulk([self.accounts[n].pk for n in names])
        for name in sorted(names):
            account = self.accounts[name]
            ccy = currency_of(name)
            balance = account_balance(account=fresh[account.pk])
            expected = (
                self.model.posted[name],
                self.model.pending_d[name],
                self.model.pending_c[name],
                self.model.available(name),
            )
            actual = tuple(
                int(value.scaleb(EXPONENTS[ccy]))
                for value in (
                    balance.posted,
                    balance.pending_debits,
                    balance.pending_credits,
                    balance.available,
                )
            )
            assert actual == expected, name
        self.model.touched.clear()


@pytest.mark.django_db
def test_the_ledger_matches_a_model_of_itself_after_every_step():
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=30,
            stateful_step_count=20,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )


@pytest.mark.django_db
def test_a_conversion_can_be_reversed():
    # The machine's first find: a reversal spans the two currencies of the conversion it
    # undoes, and the posting function took that for mixed-currency legs.
    client = ClientFactory()
    jpy = wallet_for_client(client=client, currency="JPY")
    usd = wallet_for_client(client=client, currency="USD")
    clearing = house_account(kind=LedgerAccount.Kind.PSP_CLEARING, currency="JPY")
    ledger_transfer(
        source="test",
        key="dep",
        legs=[Leg(clearing, "D", Decimal(100)), Leg(jpy, "C", Decimal(100))],
    )
    quote = conversion_quote(
        amount=Decimal(100), sell="JPY", buy="USD", rate=Decimal("0.0066"), markup=Decimal("0.01")
    )
    converted = ledger_convert(source="test", key="fx", client=client, quote=quote)

    ledger_reverse(source="test", key="undo", journal_id=converted.journal_id)

    for wallet, posted in ((jpy, Decimal(100)), (usd, Decimal("0.00"))):
        wallet.refresh_from_db()
        assert account_balance(account=wallet).posted == posted
    assert ledger_violations() == {}
