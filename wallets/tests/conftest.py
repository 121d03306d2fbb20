from __future__ import annotations

from decimal import Decimal

import pytest

from tests.factories import ClientFactory
from wallets.ledger.services import Leg, house_account, ledger_transfer, wallet_for_client
from wallets.models import LedgerAccount


@pytest.fixture
def fund(db):
    """Credit a wallet from PSP clearing, as a card deposit would."""
    counter = iter(range(10**6))

    def fund(wallet: LedgerAccount, amount: str) -> None:
        clearing = house_account(kind="psp_clearing", currency=wallet.currency_id, label="test")
        ledger_transfer(
            source="test.deposit",
            key=f"dep-{next(counter)}-{wallet.pk}",
            legs=[Leg(clearing, "D", Decimal(amount)), Leg(wallet, "C", Decimal(amount))],
        )

    return fund


@pytest.fixture
def usd_wallet(db):
    return wallet_for_client(client=ClientFactory(), currency="USD")


@pytest.fixture
def other_usd_wallet(db):
    return wallet_for_client(client=ClientFactory(), currency="USD")
