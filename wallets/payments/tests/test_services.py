"""deposit_create: each bad request refused with a message that says what to do instead,
nothing stored or held; a provider that is down leaves a failed deposit and no money moved."""

from __future__ import annotations

import socket
from decimal import Decimal

import pytest

from wallets.ledger.selectors import account_balance
from wallets.ledger.services import Leg, house_account, ledger_transfer, wallet_for_client
from wallets.models import Entry, LedgerAccount
from wallets.payments.exceptions import DepositRefused, ProviderDown
from wallets.payments.models import Deposit, PaymentMethod
from wallets.payments.services import deposit_create, deposit_fee

from .conftest import set_level

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.mark.parametrize(
    ("currency", "amount", "field", "message"),
    [
        (
            "USD",
            "10.001",
            "amount",
            "USD amounts have at most 2 decimal places; 10.001 has more.",
        ),
        ("USD", "0", "amount", "Enter an amount greater than zero."),
        ("USD", "-50", "amount", "Enter an amount greater than zero."),
        ("USD", "9.99", "amount", "The minimum deposit with Card (demo) is 10.00 USD."),
        (
            "USD",
            "10000.01",
            "amount",
            "The maximum deposit with Card (demo) is 10,000.00 USD. Deposit less, or split it "
            "into several deposits.",
        ),
        (
            "GBP",
            "100",
            "currency",
            "Card (demo) takes USD or EUR, not GBP. Choose one of those currencies or another "
            "method.",
        ),
    ],
    ids=["decimals", "zero", "negative", "below-min", "above-max", "currency"],
)
def test_bad_deposit_requests_are_refused_with_a_message(
    trader, card, currency, amount, field, message
):
    with pytest.raises(DepositRefused) as refused:
        deposit_create(client=trader, method=card, currency=currency, amount=D(amount))
    assert (refused.value.field, refused.value.message) == (field, message)
    assert not Deposit.objects.exists()


def test_a_client_below_the_methods_kyc_level_is_told_to_verify(trader, card):
    set_level(trader, 0)
    with pytest.raises(DepositRefused) as refused:
        deposit_create(client=trader, method=card, currency="USD", amount=D("100"))
    assert refused.value.message == (
        "Card (demo) needs verification level 1 (identity verified); you are at level 0. "
        "Complete your verification, or choose another method."
    )
    assert not Deposit.objects.exists()


def test_level_one_is_held_to_the_kyc_deposit_limit(trader, card):
    set_level(trader, 1)
    with pytest.raises(DepositRefused) as refused:
        deposit_create(client=trader, method=card, currency="USD", amount=D("2500"))
    assert refused.value.message == (
        "At level 1 you may deposit up to 2,000 USD in total; 2,000.00 USD is left. "
        "Complete full verification to lift the limit."
    )
    assert deposit_create(client=trader, method=card, currency="USD", amount=D("2000")).pk


def test_a_disabled_method_is_refused(trader, card):
    card.deposits_enabled = False
    card.save()
    with pytest.raises(DepositRefused) as refused:
        deposit_create(client=trader, method=card, currency="USD", amount=D("100"))
    assert (
        refused.value.message
        == "This payment method is not available right now. Choose another one."
    )


def test_trailing_zeros_are_not_extra_decimals(trader, card):
    deposit = deposit_create(client=trader, method=card, currency="USD", amount=D("10.500"))
    assert deposit.amount == D("10.50")
    assert deposit.status == Deposit.Status.PENDING
    assert deposit.provider_ref.startswith("dp_")
    assert deposit.redirect_url == f"/pay/demo/{deposit.provider_ref}/"


@pytest.mark.parametrize(
    ("fixed", "percent", "amount", "fee"),
    [
        ("0.30", "2.5", "100", "2.80"),
        ("0", "0", "50", "0.00"),
        ("0.30", "2.5", "10.10", "0.55"),
        ("1", "1.125", "200", "3.25"),
    ],  # fmt: skip
)
def test_the_fee_is_fixed_plus_percent_rounded_half_up(card, fixed, percent, amount, fee):
    card.fee_fixed, card.fee_percent = D(fixed), D(percent)
    assert deposit_fee(method=card, amount=D(amount), currency="USD") == D(fee)


@pytest.fixture
def stripe_method(db, settings) -> PaymentMethod:
    settings.STRIPE_SECRET_KEY = "sk_test_123"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_test"
    return PaymentMethod.objects.create(
        code="card-stripe",
        name="Card (Stripe)",
        provider="stripe",
        currencies=["USD", "EUR"],
        fee_fixed=D("0.30"),
        fee_percent=D("2.9"),
    )


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_provider_that_is_down_tells_the_client_and_holds_nothing(
    trader, stripe_method, settings
):
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{_closed_port()}"
    wallet = wallet_for_client(client=trader, currency="USD")
    clearing = house_account(kind="psp_clearing", currency="USD", label="test")
    ledger_transfer(
        source="test", key="fund", legs=[Leg(clearing, "D", D("5")), Leg(wallet, "C", D("5"))]
    )

    with pytest.raises(ProviderDown) as down:
        deposit_create(client=trader, method=stripe_method, currency="USD", amount=D("100"))

    assert down.value.message == (
        "Card (Stripe) is not answering right now, so nothing was charged or held. "
        "Try again in a few minutes, or choose another method."
    )
    deposit = Deposit.objects.get()
    assert deposit.status == Deposit.Status.FAILED
    assert deposit.failure_reason.startswith("The provider did not answer:")
    wallet.refresh_from_db()
    balance = account_balance(account=wallet)
    assert (balance.posted, balance.pending_debits, balance.pending_credits) == (D("5"), 0, 0)
    assert Entry.objects.filter(account__kind=LedgerAccount.Kind.WALLET).count() == 1


def test_an_unconfigured_stripe_method_is_not_offered(trader, stripe_method, settings):
    settings.STRIPE_SECRET_KEY = ""
    with pytest.raises(DepositRefused) as refused:
        deposit_create(client=trader, method=stripe_method, currency="USD", amount=D("100"))
    assert refused.value.field == "method"
