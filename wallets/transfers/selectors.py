"""Reads for the transfer pages, scoped to the signed-in client."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import QuerySet
from django.http import Http404

from brokerage.models import User
from clients.models import Client, TradingAccount
from wallets.models import LedgerAccount
from wallets.money import money_text
from wallets.selectors import wallet_available
from wallets.transfers.models import Transfer


@dataclass(frozen=True)
class Place:
    """One end of a transfer in the pickers: a wallet ("wallet:USD") or an account."""

    value: str
    label: str
    currency: str
    account: TradingAccount | None = None


def transfer_places(*, client: Client) -> list[Place]:
    """The client's wallets (and a wallet in each account's currency, opened on first use)
    and their live, active trading accounts."""
    accounts = list(
        TradingAccount.objects.filter(
            client=client, is_live=True, status=TradingAccount.Status.ACTIVE
        )
        .select_related("server")
        .order_by("login")
    )
    currencies = set(
        LedgerAccount.objects.filter(client=client, kind=LedgerAccount.Kind.WALLET).values_list(
            "currency_id", flat=True
        )
    ) | {a.currency for a in accounts}
    places = []
    for code in sorted(currencies):
        available = wallet_available(client=client, currency=code)
        places.append(
            Place(
                f"wallet:{code}", f"{code} wallet · {money_text(available, code)} available", code
            )
        )
    for account in accounts:
        places.append(
            Place(
                f"account:{account.pk}",
                f"MT5 #{account.login} · {account.currency} · {account.server.name}",
                account.currency,
                account,
            )
        )
    return places


def transfer_list_for_client(*, client: Client) -> QuerySet[Transfer]:
    return Transfer.objects.filter(client=client).select_related("account")


def transfer_get_for_user(*, user: User, pk: int) -> Transfer:
    """The signed-in client's own transfer; 404 for anyone else's."""
    client = getattr(user, "client", None)
    if client is None:
        raise Http404
    transfer = transfer_list_for_client(client=client).filter(pk=pk).first()
    if transfer is None:
        raise Http404
    return transfer


def wallet_has_money(*, client: Client) -> bool:
    return any(
        wallet_available(client=client, currency=c) > Decimal(0)
        for c in LedgerAccount.objects.filter(
            client=client, kind=LedgerAccount.Kind.WALLET
        ).values_list("currency_id", flat=True)
    )


def transfer_list_backoffice(*, status: str = "") -> QuerySet[Transfer]:
    """Every client's transfers for finance and dealing; `in_flight` for the ones the
    trading server has not settled yet (the oldest first: those need a look)."""
    transfers = Transfer.objects.select_related("client__user", "account__server", "balance_op")
    if status == "in_flight":
        return transfers.filter(status__in=Transfer.IN_FLIGHT).order_by("created_at")
    if status:
        transfers = transfers.filter(status=status)
    return transfers
