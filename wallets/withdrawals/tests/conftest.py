"""Actors of a withdrawal: the trader (fully verified, with money), two finance people (maker
and checker), a support agent (staff, not finance), and an outsider trader."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from brokerage import roles
from brokerage.models import User
from clients.models import Client
from kyc.models import KycCase
from tests.factories import ClientFactory, make_staff
from wallets.ledger.services import Leg, house_account, ledger_transfer, wallet_for_client
from wallets.withdrawals.models import Withdrawal
from wallets.withdrawals.services import Destination, withdrawal_request

IBAN = "DE89370400440532013000"
BIC = "COBADEFFXXX"


def verified_client(level: int = 2) -> Client:
    client = ClientFactory(user__first_name="Liam", user__last_name="Novak")
    KycCase.objects.create(client=client, state="approved", level=level)
    return client


def fund(client: Client, amount: str, currency: str = "USD") -> None:
    clearing = house_account(kind="psp_clearing", currency=currency, label="test")
    wallet = wallet_for_client(client=client, currency=currency)
    ledger_transfer(
        source="test.deposit",
        key=uuid.uuid4().hex,
        legs=[Leg(clearing, "D", Decimal(amount)), Leg(wallet, "C", Decimal(amount))],
    )


def bank(iban: str = IBAN, bic: str = BIC, holder: str = "Liam Novak") -> Destination:
    return Destination(kind=Withdrawal.Destination.BANK, iban=iban, bic=bic, holder=holder)


def request(
    client: Client,
    amount: str,
    *,
    currency: str = "USD",
    destination: Destination | None = None,
    token: str | None = None,
    actor: User | None = None,
) -> Withdrawal:
    return withdrawal_request(
        client=client,
        actor=actor or client.user,
        amount=Decimal(amount),
        currency=currency,
        destination=destination or bank(),
        token=token or uuid.uuid4().hex,
    ).withdrawal


@pytest.fixture
def trader(db) -> Client:
    client = verified_client()
    fund(client, "2500")
    return client


@pytest.fixture
def finance(db) -> User:
    return make_staff(roles.FINANCE, first_name="Felix", last_name="Finance")


@pytest.fixture
def finance2(db) -> User:
    return make_staff(roles.FINANCE, first_name="Fiona", last_name="Finance")


@pytest.fixture
def support(db) -> User:
    return make_staff(roles.SUPPORT)
