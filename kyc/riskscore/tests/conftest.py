"""Ledger movements for the monitoring rules, made through the ledger's own services."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from brokerage import roles
from clients.models import Client
from tests.factories import make_staff
from wallets.ledger.services import (
    Leg,
    house_account,
    ledger_hold,
    ledger_post_pending,
    ledger_transfer,
    wallet_for_client,
)
from wallets.models import LedgerAccount

_keys = itertools.count()


class Money:
    """deposit / withdraw / to_trading on a client's wallet, at a chosen time."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def at(self, days_ago: float) -> datetime:
        return self.now - timedelta(days=days_ago)

    def deposit(self, client: Client, amount: str, *, days_ago: float = 0, ccy: str = "USD") -> int:
        wallet = wallet_for_client(client=client, currency=ccy)
        clearing = house_account(kind="psp_clearing", currency=ccy, label="test")
        return ledger_transfer(
            source="test.deposit",
            key=f"dep-{next(_keys)}",
            legs=[Leg(clearing, "D", Decimal(amount)), Leg(wallet, "C", Decimal(amount))],
            effective_at=self.at(days_ago),
        ).journal_id

    def withdraw(
        self, client: Client, amount: str, *, days_ago: float = 0, ccy: str = "USD"
    ) -> int:
        wallet = wallet_for_client(client=client, currency=ccy)
        transit = house_account(kind="withdrawals_in_transit", currency=ccy)
        return ledger_transfer(
            source="test.withdrawal",
            key=f"wd-{next(_keys)}",
            legs=[Leg(wallet, "D", Decimal(amount)), Leg(transit, "C", Decimal(amount))],
            effective_at=self.at(days_ago),
        ).journal_id

    def withdraw_two_phase(self, client: Client, amount: str, *, ccy: str = "USD") -> int:
        """As the withdrawal flow does it: a hold now, then its post (effective now)."""
        wallet = wallet_for_client(client=client, currency=ccy)
        transit = house_account(kind="withdrawals_in_transit", currency=ccy)
        key = next(_keys)
        hold = ledger_hold(
            source="test.withdrawal",
            key=f"hold-{key}",
            debit=wallet,
            credit=transit,
            amount=Decimal(amount),
        )
        return ledger_post_pending(
            source="test.withdrawal", key=f"post-{key}", hold_id=hold.journal_id
        ).journal_id

    def to_trading(
        self, client: Client, amount: str, *, days_ago: float = 0, ccy: str = "USD"
    ) -> int:
        wallet = wallet_for_client(client=client, currency=ccy)
        mirror, _ = LedgerAccount.objects.get_or_create(
            code=f"client:{client.pk}:trading:test:{ccy}",
            defaults={
                "name": "MT5 test",
                "owner_type": "client",
                "client": client,
                "kind": "trading",
                "currency_id": ccy,
            },
        )
        return ledger_transfer(
            source="test.trading",
            key=f"trd-{next(_keys)}",
            legs=[Leg(wallet, "D", Decimal(amount)), Leg(mirror, "C", Decimal(amount))],
            effective_at=self.at(days_ago),
        ).journal_id


@pytest.fixture
def money(db):
    return Money(timezone.now())


@pytest.fixture
def compliance(db):
    return make_staff(roles.COMPLIANCE)


@pytest.fixture
def second_compliance(db):
    return make_staff(roles.COMPLIANCE)
