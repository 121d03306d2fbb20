"""Reads of trading accounts and their deals, scoped to who asks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import QuerySet
from django.http import Http404

from clients.models import AccountSnapshot, Client, Deal, TradingAccount

# Deal actions a trader reads as trades, and the rest (balance, credit, charges...) by name.
ACTION_LABELS = {
    0: "Buy",
    1: "Sell",
    2: "Balance",
    3: "Credit",
    4: "Charge",
    5: "Correction",
    6: "Bonus",
    7: "Commission",
    8: "Daily commission",
    9: "Monthly commission",
    10: "Agent daily",
    11: "Agent monthly",
    12: "Interest",
    13: "Buy canceled",
    14: "Sell canceled",
    15: "Dividend",
    16: "Franked dividend",
    17: "Tax",
    18: "Agent",
    19: "SO compensation",
    20: "SO compensation credit",
}
ENTRY_LABELS = {0: "in", 1: "out", 2: "in/out", 3: "out by"}


@dataclass(frozen=True)
class AccountCard:
    account: TradingAccount
    snapshot: AccountSnapshot | None


def accounts_for_client(*, client: Client) -> list[AccountCard]:
    accounts = list(
        TradingAccount.objects.filter(client=client)
        .select_related("server")
        .order_by("-is_live", "login")
    )
    cards = []
    for account in accounts:
        cards.append(
            AccountCard(account=account, snapshot=account.snapshots.order_by("-taken_at").first())
        )
    return cards


def account_for_client(*, client: Client, pk: int) -> TradingAccount:
    try:
        return TradingAccount.objects.select_related("server").get(pk=pk, client=client)
    except TradingAccount.DoesNotExist:
        raise Http404 from None


def deal_history(
    *,
    account: TradingAccount,
    since: date | None = None,
    until: date | None = None,
    symbol: str = "",
) -> QuerySet[Deal]:
    deals = Deal.objects.filter(server_id=account.server_id, login=account.login)
    if since:
        deals = deals.filter(time__gte=datetime.combine(since, time.min, tzinfo=UTC))
    if until:
        end = datetime.combine(until + timedelta(days=1), time.min, tzinfo=UTC)
        deals = deals.filter(time__lt=end)
    if symbol:
        deals = deals.filter(symbol=symbol.upper())
    return deals.order_by("-time", "-ticket")


def deal_symbols(*, account: TradingAccount) -> list[str]:
    return sorted(
        Deal.objects.filter(server_id=account.server_id, login=account.login)
        .exclude(symbol="")
        .values_list("symbol", flat=True)
        .distinct()
    )
