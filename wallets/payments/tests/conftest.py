from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from clients.models import Client
from kyc.models import KycCase
from kyc.services import case_for_client
from tests.factories import ClientFactory
from wallets.payments.models import Deposit, PaymentMethod
from wallets.payments.providers.base import EventKind
from wallets.payments.providers.demo import demo_callback
from wallets.payments.services import deposit_create

D = Decimal


def set_level(client: Client, level: int) -> None:
    case = case_for_client(client=client)
    KycCase.objects.filter(pk=case.pk).update(level=level)
    client.refresh_from_db()


@pytest.fixture
def card(db) -> PaymentMethod:
    return PaymentMethod.objects.create(
        code="card-demo",
        name="Card (demo)",
        provider="demo",
        currencies=["USD", "EUR"],
        min_amount=D("10"),
        max_amount=D("10000"),
        fee_fixed=D("0.30"),
        fee_percent=D("2.5"),
        kyc_level=1,
    )


@pytest.fixture
def trader(db) -> Client:
    client = ClientFactory()
    set_level(client, 2)
    return client


@pytest.fixture
def deposit(trader: Client, card: PaymentMethod) -> Deposit:
    return deposit_create(client=trader, method=card, currency="USD", amount=D("100"))


def post_webhook(
    http: Any, body: bytes, headers: dict[str, str], path: str = "/webhooks/demo-pay/"
):
    return http.post(
        path,
        data=body,
        content_type="application/json",
        headers={k: v for k, v in headers.items() if k != "Content-Type"},
    )


@pytest.fixture
def paid(client, deposit: Deposit) -> Deposit:
    """The deposit, credited through the demo provider's signed webhook."""
    body, headers = demo_callback(deposit=deposit, kind=EventKind.SUCCEEDED)
    assert post_webhook(client, body, headers).status_code == 200
    deposit.refresh_from_db()
    assert deposit.status == Deposit.Status.SUCCEEDED
    return deposit
