from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.shortcuts import get_object_or_404

from brokerage.models import User
from clients.models import Client


def client_list_for_user(*, user: User, search: str = "", status: str = "") -> QuerySet[Client]:
    """Clients the acting staff member may see: all of them with `view_all_clients`,
    otherwise only those assigned to them (a sales agent's book)."""
    clients = Client.objects.select_related("user", "assigned_agent")
    if not user.has_perm("brokerage.view_all_clients"):
        clients = clients.filter(assigned_agent=user)
    if search:
        clients = clients.filter(
            Q(user__email__icontains=search)
            | Q(user__first_name__icontains=search)
            | Q(user__last_name__icontains=search)
        )
    if status:
        clients = clients.filter(status=status)
    return clients


def client_get_for_user(*, user: User, pk: int) -> Client:
    # 404, not 403, for a client outside the agent's book: don't leak that it exists.
    return get_object_or_404(client_list_for_user(user=user), pk=pk)


def client_count(*, user: User) -> int:
    return client_list_for_user(user=user).count()


def client_signups_by_day(*, user: User, since: datetime) -> list[tuple[date, int]]:
    return list(
        client_list_for_user(user=user)
        .filter(created_at__gte=since)
        .order_by()
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(count=Count("pk"))
        .values_list("day", "count")
    )


@dataclass(frozen=True)
class PortalOverview:
    """The trader's home: one total, where the money is, and what is still in the way."""

    total: Decimal | None  # wallets + live trading accounts, in `currency`
    currency: str
    in_wallets: Decimal
    on_hold: Decimal  # wallet money held for a withdrawal or transfer under way
    in_trading: Decimal  # live accounts' balances as the trading server last reported them
    not_totalled: list[str]  # currencies without a rate
    wallets: list[tuple[Any, Any]]
    accounts: list[Any]  # clients.trading_selectors.AccountCard
    blocked: list[Any]  # kyc.policy.Verdict of the everyday actions the client can't do yet


HOME_ACTIONS = ("deposit", "withdraw", "open_live_account", "transfer")


def portal_overview(*, client: Client) -> PortalOverview:
    from clients.trading_selectors import accounts_for_client
    from kyc.policy import kyc_may
    from wallets.selectors import TOTAL_CURRENCY, value_in_total_currency, wallet_list_for_client

    wallets = wallet_list_for_client(client=client)
    cards = accounts_for_client(client=client)
    live = [
        (card.snapshot.balance, card.account.currency)
        for card in cards
        if card.account.is_live and card.snapshot is not None
    ]
    in_wallets, left_out = value_in_total_currency((b.posted, a.currency_id) for a, b in wallets)
    on_hold, _ = value_in_total_currency((b.pending_debits, a.currency_id) for a, b in wallets)
    in_trading, left_out_trading = value_in_total_currency(live)
    return PortalOverview(
        total=in_wallets + in_trading if wallets or live else None,
        currency=TOTAL_CURRENCY,
        in_wallets=in_wallets,
        on_hold=on_hold,
        in_trading=in_trading,
        not_totalled=sorted(set(left_out) | set(left_out_trading)),
        wallets=wallets,
        accounts=cards,
        blocked=[
            verdict
            for verdict in (kyc_may(client=client, action=a) for a in HOME_ACTIONS)
            if not verdict.allowed
        ],
    )


@dataclass(frozen=True)
class ClientMoney:
    """A client's money for the back-office 360 view: wallets and the latest movements."""

    wallets: list[tuple[Any, Any]]
    deposits: list[Any]
    withdrawals: list[Any]
    transfers: list[Any]


def client_money(*, client: Client, limit: int = 8) -> ClientMoney:
    from wallets.payments.models import Deposit
    from wallets.selectors import wallet_list_for_client
    from wallets.transfers.models import Transfer
    from wallets.withdrawals.models import Withdrawal

    return ClientMoney(
        wallets=wallet_list_for_client(client=client),
        deposits=list(Deposit.objects.filter(client=client).order_by("-created_at")[:limit]),
        withdrawals=list(
            Withdrawal.objects.filter(client=client).order_by("-requested_at")[:limit]
        ),
        transfers=list(
            Transfer.objects.filter(client=client)
            .select_related("account")
            .order_by("-created_at")[:limit]
        ),
    )
