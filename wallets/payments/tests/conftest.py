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


@pytest.fixture(autouse=True)
def notices_at_once(monkeypatch):
    """The client's notice is a Celery task enqueued on commit (test_webhooks checks that);
    elsewhere it is made at once, so a test can read it."""
    from wallets.payments import services

    monkeypatch.setattr(
        services,
        "_notify",
        lambda deposit: services.deposit_notify_client(
            deposit_id=deposit.pk, status=deposit.status
        ),
    )


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


def open_accounts(deposit: Deposit) -> None:
    """The ledger accounts a credit touches, made beforehand: the webhook then takes the
    one-statement path (services._credit_fast) instead of the general one."""
    from wallets.ledger.services import house_account, wallet_for_client

    house_account(kind="psp_clearing", currency=deposit.currency, label=deposit.provider)
    house_account(kind="fee_income", currency=deposit.currency)
    wallet_for_client(client=deposit.client, currency=deposit.currency)


@pytest.fixture(params=["general", "fast"])
def path(request, monkeypatch, deposit):
    """Run a test over both credit paths: with the accounts open (fast) or not (general),
    and fail if the other path was taken."""
    from wallets.payments import services

    taken: list[str] = []
    general = services._credit
    monkeypatch.setattr(services, "_credit", lambda d: (taken.append("general"), general(d)))
    if request.param == "fast":
        open_accounts(deposit)
    yield request.param
    assert set(taken) <= ({"general"} if request.param == "general" else set()), taken
