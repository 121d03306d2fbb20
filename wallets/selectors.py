"""Reads for the wallet pages: a client's own wallets and statements, conversion offers, and
the back-office ledger explorer. Balances come from wallets.ledger.selectors."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum
from django.http import Http404
from django.shortcuts import get_object_or_404

from brokerage.models import User
from clients.models import Client
from wallets.exceptions import ConversionError
from wallets.ledger import exceptions as ledger_errors
from wallets.ledger.selectors import Balance, account_balance, trial_balance
from wallets.ledger.services import Quote, conversion_quote, from_minor, to_minor
from wallets.models import Currency, Entry, FxRate, Journal, LedgerAccount, ManualAdjustment
from wallets.money import money_text, rate_text

TOTAL_CURRENCY = "USD"


def _signed(minor: int, currency: str) -> Decimal:
    return from_minor(minor, currency) if minor >= 0 else -from_minor(-minor, currency)


# --- a client's wallets ------------------------------------------------------------------------


@dataclass(frozen=True)
class WalletOverview:
    wallets: list[tuple[LedgerAccount, Balance]]
    total: Decimal | None  # posted balances in TOTAL_CURRENCY, at the rates (no markup)
    total_currency: str
    not_totalled: list[str]  # currencies without a rate to TOTAL_CURRENCY


def wallet_list_for_client(*, client: Client) -> list[tuple[LedgerAccount, Balance]]:
    accounts = LedgerAccount.objects.filter(client=client, kind=LedgerAccount.Kind.WALLET).order_by(
        "currency_id"
    )
    return [(a, account_balance(account=a)) for a in accounts]


def value_in_total_currency(
    amounts: Iterable[tuple[Decimal, str]],
) -> tuple[Decimal, list[str]]:
    """The sum of amounts valued in TOTAL_CURRENCY at our current rates (no markup), and the
    currencies left out for want of a rate."""
    amounts = list(amounts)
    wanted = {c for _, c in amounts if c != TOTAL_CURRENCY}
    rates = dict(
        FxRate.objects.filter(quote_id=TOTAL_CURRENCY, base_id__in=wanted).values_list(
            "base_id", "rate"
        )
    )
    total = Decimal(0)
    left_out: list[str] = []
    for amount, currency in amounts:
        if currency == TOTAL_CURRENCY:
            total += amount
        elif currency in rates:
            total += amount * rates[currency]
        elif currency not in left_out:
            left_out.append(currency)
    return total.quantize(Decimal("0.01")), left_out


def wallet_overview(*, client: Client) -> WalletOverview:
    wallets = wallet_list_for_client(client=client)
    total, not_totalled = value_in_total_currency(
        (balance.posted, account.currency_id) for account, balance in wallets
    )
    return WalletOverview(
        wallets=wallets,
        total=total if wallets else None,
        total_currency=TOTAL_CURRENCY,
        not_totalled=not_totalled,
    )


def wallet_get_for_user(*, user: User, currency: str) -> LedgerAccount:
    """The signed-in client's own wallet in `currency`; 404 for anything else, so a guess
    can't tell whether another client's wallet exists."""
    client = getattr(user, "client", None)
    if client is None:
        raise Http404
    return get_object_or_404(
        LedgerAccount, client=client, kind=LedgerAccount.Kind.WALLET, currency_id=currency
    )


# --- statements --------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatementRow:
    entry_id: int
    journal_id: int
    at: datetime
    kind: str
    kind_label: str
    description: str
    reference: str
    amount: Decimal  # signed: credits in, debits out
    currency: str
    balance_after: Decimal | None  # the posted balance after this entry (None: house account)
    pending: bool  # a hold: reserved, not yet moved


def journal_description(journal: Journal) -> str:
    """What a person reads for a journal: its memo, or what a conversion did."""
    meta = journal.metadata or {}
    if journal.kind == Journal.Kind.CONVERSION and "sell" in meta and "buy" in meta:
        rate = rate_text(Decimal(meta["rate"])) if "rate" in meta else "?"
        return f"Converted {meta['sell']} to {meta['buy']} at {rate}"
    return journal.memo or Journal.Kind(journal.kind).label


def statement_rows(entries: Iterable[Entry]) -> list[StatementRow]:
    """Rows of a statement page (entries from `wallets.ledger.selectors.statement_entries`)."""
    rows = []
    for entry in entries:
        journal = entry.journal
        ccy = entry.currency_id
        rows.append(
            StatementRow(
                entry_id=entry.pk,
                journal_id=journal.pk,
                at=journal.effective_at,
                kind=journal.kind,
                kind_label=Journal.Kind(journal.kind).label,
                description=journal_description(journal),
                reference=journal.external_ref,
                amount=_signed(entry.amount if entry.direction == "C" else -entry.amount, ccy),
                currency=ccy,
                balance_after=(
                    _signed(entry.balance_after, ccy) if entry.balance_after is not None else None
                ),
                pending=entry.phase == Journal.Phase.PENDING,
            )
        )
    return rows


# --- conversions -------------------------------------------------------------------------------


def fx_rate_list() -> QuerySet[FxRate]:
    return FxRate.objects.select_related("updated_by").order_by("base_id", "quote_id")


def fx_rate_get(*, pk: int) -> FxRate:
    return get_object_or_404(FxRate, pk=pk)


def conversion_currencies(*, client: Client) -> tuple[list[str], list[str]]:
    """What the client may sell (the currencies they hold) and buy (any currency we quote)."""
    sell = list(
        LedgerAccount.objects.filter(client=client, kind=LedgerAccount.Kind.WALLET)
        .order_by("currency_id")
        .values_list("currency_id", flat=True)
    )
    buy = sorted(set(FxRate.objects.values_list("quote_id", flat=True)) | set(sell))
    return sell, buy


def wallet_available(*, client: Client, currency: str) -> Decimal:
    account = LedgerAccount.objects.filter(
        client=client, kind=LedgerAccount.Kind.WALLET, currency_id=currency
    ).first()
    if account is None:
        return from_minor(0, currency)
    return account_balance(account=account).available


def conversion_offer(*, client: Client, sell: str, buy: str, amount: Decimal) -> Quote:
    """The quote a client would convert at now, or a ConversionError saying why not."""
    if sell == buy:
        raise ConversionError("Pick two different currencies to convert between.", field="buy")
    fx = FxRate.objects.filter(base_id=sell, quote_id=buy).first()
    if fx is None:
        raise ConversionError(
            f"We don't convert {sell} to {buy} at the moment. Pick another currency.",
            field="buy",
        )
    available = wallet_available(client=client, currency=sell)
    try:
        # Quantized where money enters: 100 becomes 100.00 USD in the quote and the journal.
        amount = from_minor(to_minor(amount, sell), sell)
        quote = conversion_quote(amount=amount, sell=sell, buy=buy, rate=fx.rate, markup=fx.markup)
    except ledger_errors.InvalidAmount as exc:
        raise ConversionError(exc.message, field="amount") from exc
    if amount > available:
        raise ConversionError(f"You have {money_text(available, sell)} available.", field="amount")
    return quote


def quote_sentence(quote: Quote) -> str:
    """'Convert 100.00 USD to 91.88 EUR at 0.92345 (fee 0.46 EUR)'."""
    return (
        f"Convert {money_text(quote.sell_amount, quote.sell_currency)} to "
        f"{money_text(quote.buy_amount, quote.buy_currency)} at {rate_text(quote.rate)} "
        f"(fee {money_text(quote.fee, quote.buy_currency)})"
    )


# --- the back-office ledger explorer -----------------------------------------------------------


def _client_filter(search: str, prefix: str) -> Q:
    """Match a client by id ('#12' or '12'), e-mail or name, through `prefix` (e.g. 'client')."""
    text = search.strip().lstrip("#")
    if text.isdigit():
        return Q(**{f"{prefix}__pk": int(text)})
    return (
        Q(**{f"{prefix}__user__email__icontains": search})
        | Q(**{f"{prefix}__user__first_name__icontains": search})
        | Q(**{f"{prefix}__user__last_name__icontains": search})
    )


def ledger_account_list(
    *, search: str = "", kind: str = "", currency: str = "", owner: str = ""
) -> QuerySet[LedgerAccount]:
    accounts = LedgerAccount.objects.select_related("client__user").order_by("id")
    if search:
        accounts = accounts.filter(
            _client_filter(search, "client") | Q(code__icontains=search) | Q(name__icontains=search)
        )
    if kind:
        accounts = accounts.filter(kind=kind)
    if currency:
        accounts = accounts.filter(currency_id=currency)
    if owner:
        accounts = accounts.filter(owner_type=owner)
    return accounts


def ledger_account_get(*, pk: int) -> LedgerAccount:
    return get_object_or_404(
        LedgerAccount.objects.select_related("client__user", "currency"), pk=pk
    )


def ledger_journal_list(
    *,
    kind: str = "",
    start: datetime | None = None,
    end: datetime | None = None,
    client: str = "",
    account_id: int | None = None,
) -> QuerySet[Journal]:
    journals = Journal.objects.select_related("actor").order_by("-id")
    if kind:
        journals = journals.filter(kind=kind)
    if start:
        journals = journals.filter(effective_at__gte=start)
    if end:
        journals = journals.filter(effective_at__lt=end)
    if client:
        accounts = LedgerAccount.objects.filter(_client_filter(client, "client"))
        journals = journals.filter(
            pk__in=Entry.objects.filter(account__in=accounts).values("journal_id")
        )
    if account_id:
        journals = journals.filter(
            pk__in=Entry.objects.filter(account_id=account_id).values("journal_id")
        )
    return journals


def journal_totals(*, journal_ids: Iterable[int]) -> dict[int, list[tuple[Decimal, str]]]:
    """The amount each journal moved: its debits per currency (a conversion has two)."""
    totals: dict[int, list[tuple[Decimal, str]]] = defaultdict(list)
    rows = (
        Entry.objects.filter(journal_id__in=list(journal_ids), direction="D")
        .values("journal_id", "currency_id")
        .annotate(total=Sum("amount"))
        .order_by("journal_id", "currency_id")
    )
    for row in rows:
        totals[row["journal_id"]].append(
            (from_minor(row["total"], row["currency_id"]), row["currency_id"])
        )
    return dict(totals)


@dataclass(frozen=True)
class JournalLine:
    entry: Entry
    amount: Decimal
    balance_after: Decimal | None


def ledger_journal_get(*, pk: int) -> tuple[Journal, list[JournalLine]]:
    journal = get_object_or_404(
        Journal.objects.select_related("actor", "pending", "reverses"), pk=pk
    )
    entries = Entry.objects.filter(journal=journal).select_related("account").order_by("id")
    lines = [
        JournalLine(
            entry=e,
            amount=from_minor(e.amount, e.currency_id),
            balance_after=(
                _signed(e.balance_after, e.currency_id) if e.balance_after is not None else None
            ),
        )
        for e in entries
    ]
    return journal, lines


def journal_links(*, journal: Journal) -> dict[str, Journal | ManualAdjustment | None]:
    """The journals (and adjustment) this one is tied to, each or None."""
    return {
        "resolution": Journal.objects.filter(pending=journal).first(),
        "reversal": Journal.objects.filter(reverses=journal).first(),
        "adjustment": ManualAdjustment.objects.filter(journal=journal).first(),
    }


@dataclass(frozen=True)
class TrialBalanceCurrency:
    currency: str
    rows: list[tuple[str, str, Decimal, Decimal, Decimal]]  # kind, label, debits, credits, bal
    debits: Decimal
    credits: Decimal

    @property
    def balance(self) -> Decimal:
        return self.credits - self.debits

    @property
    def balanced(self) -> bool:
        return self.balance == 0


def trial_balance_by_currency(*, as_of: datetime | None = None) -> list[TrialBalanceCurrency]:
    grouped: dict[str, list[tuple[str, str, Decimal, Decimal, Decimal]]] = defaultdict(list)
    for row in trial_balance(as_of=as_of):
        grouped[row.currency].append(
            (
                row.kind,
                LedgerAccount.Kind(row.kind).label,
                row.debits,
                row.credits,
                row.balance,
            )
        )
    zero = {c: from_minor(0, c) for c in grouped}
    return [
        TrialBalanceCurrency(
            currency=ccy,
            rows=rows,
            debits=sum((r[2] for r in rows), zero[ccy]),
            credits=sum((r[3] for r in rows), zero[ccy]),
        )
        for ccy, rows in sorted(grouped.items())
    ]


def currency_codes() -> list[str]:
    return list(Currency.objects.order_by("code").values_list("code", flat=True))


# --- manual adjustments ------------------------------------------------------------------------


def adjustment_list(*, status: str = "") -> QuerySet[ManualAdjustment]:
    adjustments = ManualAdjustment.objects.select_related(
        "account__client__user", "requested_by", "decided_by"
    )
    if status:
        adjustments = adjustments.filter(status=status)
    return adjustments


def adjustment_get(*, pk: int) -> ManualAdjustment:
    return get_object_or_404(adjustment_list(), pk=pk)


def adjustment_approvers() -> list[User]:
    """Active staff who may decide adjustments (the requester is excluded per adjustment)."""
    return list(
        User.objects.filter(is_active=True, is_staff=True)
        .filter(
            Q(is_superuser=True)
            | Q(groups__permissions__codename="change_payments")
            | Q(user_permissions__codename="change_payments")
        )
        .distinct()
        .order_by("first_name", "last_name", "email")
    )


def adjustment_pending_count() -> int:
    return ManualAdjustment.objects.filter(status=ManualAdjustment.Status.PENDING).count()


def recent_statement_rows(*, client: Client, limit: int = 5) -> list[StatementRow]:
    """The client's latest movements across all their wallets (the portal home). A hold
    that has since been posted or released is left out: its posting (or nothing, once
    released) is what happened, and showing both read as the money leaving twice."""
    entries = (
        Entry.objects.filter(account__client=client, account__kind=LedgerAccount.Kind.WALLET)
        .exclude(phase=Journal.Phase.PENDING, journal__resolution__isnull=False)
        .select_related("journal")
        .order_by("-id")[:limit]
    )
    return statement_rows(entries)
