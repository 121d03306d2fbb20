from __future__ import annotations

from decimal import Decimal

from clients.models import Client, TradingAccount, TradingServer
from clients.trading_services import balance_operation_request
from kyc.services import case_for_client
from wallets.ledger.services import Leg, house_account, ledger_transfer, wallet_for_client
from wallets.transfers.models import Transfer


def make_transfer(*, client: Client, amount: Decimal = Decimal("10.00")) -> Transfer:
    """A requested account -> wallet transfer, nothing sent (for pages that just show one)."""
    server, _ = TradingServer.objects.get_or_create(
        name="Factory", defaults={"url": "http://127.0.0.1:1", "manager_login": 1}
    )
    account, _ = TradingAccount.objects.get_or_create(
        server=server,
        login=800000 + client.pk,
        defaults={"client": client, "group": "real\\standard", "leverage": 100},
    )
    op = balance_operation_request(account=account, amount=-amount)
    return Transfer.objects.create(
        client=client,
        key=op.op_ref,
        direction=Transfer.Direction.TO_WALLET,
        account=account,
        currency_id="USD",
        amount=amount,
        balance_op=op,
    )


def verify(client: Client, level: int = 1) -> Client:
    case = case_for_client(client=client)
    case.level = level
    case.save()
    return client


def fund_wallet(client, amount: str, currency: str = "USD") -> None:
    clearing = house_account(kind="psp_clearing", currency=currency, label="test")
    wallet = wallet_for_client(client=client, currency=currency)
    ledger_transfer(
        source="test.psp",
        key=f"fund:{client.pk}:{currency}:{amount}",
        legs=[Leg(clearing, "D", Decimal(amount)), Leg(wallet, "C", Decimal(amount))],
    )
