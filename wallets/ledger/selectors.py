"""Reads of the ledger: balances, statements, the trial balance, and the invariant checks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection
from django.db.models import Case, F, IntegerField, Q, QuerySet, Sum, When

from clients.models import Client
from wallets.ledger.services import from_minor
from wallets.models import Entry, Journal, LedgerAccount


@dataclass(frozen=True)
class Balance:
    currency: str
    posted: Decimal  # credits - debits, posted
    pending_debits: Decimal  # held, on its way out
    pending_credits: Decimal  # on its way in
    available: Decimal  # posted - pending debits: what may be spent now


def _open_hold_entries() -> QuerySet[Entry]:
    return Entry.objects.filter(phase="pending", journal__resolution__isnull=True)


def account_balance(*, account: LedgerAccount) -> Balance:
    ccy = account.currency_id
    if account.entry_only:
        sums = Entry.objects.filter(account=account, phase="posted").aggregate(
            d=Sum("amount", filter=Q(direction="D")), c=Sum("amount", filter=Q(direction="C"))
        )
        pending = (
            _open_hold_entries()
            .filter(account=account)
            .aggregate(
                d=Sum("amount", filter=Q(direction="D")), c=Sum("amount", filter=Q(direction="C"))
            )
        )
        debits, credits = sums["d"] or 0, sums["c"] or 0
        pending_d, pending_c = pending["d"] or 0, pending["c"] or 0
    else:
        debits, credits = account.debits_posted, account.credits_posted
        pending_d, pending_c = account.debits_pending, account.credits_pending
    posted = credits - debits
    return Balance(
        currency=ccy,
        posted=from_minor(posted, ccy) if posted >= 0 else -from_minor(-posted, ccy),
        pending_debits=from_minor(pending_d, ccy),
        pending_credits=from_minor(pending_c, ccy),
        available=_signed(posted - pending_d, ccy),
    )


def _signed(minor: int, currency: str) -> Decimal:
    return from_minor(minor, currency) if minor >= 0 else -from_minor(-minor, currency)


def client_wallets(*, client_id: int) -> list[tuple[LedgerAccount, Balance]]:
    accounts = LedgerAccount.objects.filter(
        client_id=client_id, kind=LedgerAccount.Kind.WALLET
    ).order_by("currency_id")
    return [(a, account_balance(account=a)) for a in accounts]


def statement_entries(
    *,
    account: LedgerAccount,
    start: datetime | None = None,
    end: datetime | None = None,
    kind: str = "",
) -> QuerySet[Entry]:
    """An account's entries, newest first, with the journal; `balance_after` is the running
    posted balance (absent on entry-only house accounts)."""
    entries = (
        Entry.objects.filter(account=account)
        .select_related("journal")
        .annotate(
            signed=Case(
                When(direction="C", then=F("amount")),
                default=-F("amount"),
                output_field=IntegerField(),
            )
        )
        .order_by("-id")
    )
    if start:
        entries = entries.filter(journal__effective_at__gte=start)
    if end:
        entries = entries.filter(journal__effective_at__lt=end)
    if kind:
        entries = entries.filter(journal__kind=kind)
    return entries


@dataclass(frozen=True)
class TrialBalanceRow:
    currency: str
    kind: str
    debits: Decimal
    credits: Decimal

    @property
    def balance(self) -> Decimal:
        return self.credits - self.debits


def trial_balance(*, as_of: datetime | None = None) -> list[TrialBalanceRow]:
    """Posted debits and credits per currency and account kind; each currency sums to zero."""
    entries = Entry.objects.filter(phase="posted")
    if as_of:
        entries = entries.filter(journal__effective_at__lt=as_of)
    rows = (
        entries.values("currency_id", "account__kind")
        .annotate(
            d=Sum("amount", filter=Q(direction="D"), default=0),
            c=Sum("amount", filter=Q(direction="C"), default=0),
        )
        .order_by("currency_id", "account__kind")
    )
    return [
        TrialBalanceRow(
            currency=r["currency_id"],
            kind=r["account__kind"],
            debits=from_minor(r["d"], r["currency_id"]) if r["d"] else Decimal(0),
            credits=from_minor(r["c"], r["currency_id"]) if r["c"] else Decimal(0),
        )
        for r in rows
    ]


# --- invariants (python manage.py ledger_check) ---------------------------------------------

# Each query returns the rows that break one rule; an empty result means the rule holds.
INVARIANTS: dict[str, str] = {
    "journals balance per currency and phase": """
        SELECT journal_id, currency_id, phase,
               sum(CASE WHEN direction = 'D' THEN amount ELSE -amount END) AS difference
          FROM wallets_entry GROUP BY journal_id, currency_id, phase
        HAVING sum(CASE WHEN direction = 'D' THEN amount ELSE -amount END) <> 0
    """,
    "every entry belongs to a journal": """
        SELECT e.id, e.journal_id FROM wallets_entry e
         WHERE NOT EXISTS (SELECT 1 FROM wallets_journal j WHERE j.id = e.journal_id)
    """,
    "posted counters equal the sum of posted entries": """
        SELECT a.id, a.debits_posted, a.credits_posted, coalesce(s.d, 0), coalesce(s.c, 0)
          FROM wallets_ledgeraccount a
          LEFT JOIN (SELECT account_id,
                            sum(amount) FILTER (WHERE direction = 'D') AS d,
                            sum(amount) FILTER (WHERE direction = 'C') AS c
                       FROM wallets_entry WHERE phase = 'posted' GROUP BY account_id) s
            ON s.account_id = a.id
         WHERE NOT a.entry_only
           AND (a.debits_posted <> coalesce(s.d, 0) OR a.credits_posted <> coalesce(s.c, 0))
    """,
    "pending counters equal the open holds": """
        SELECT a.id, a.debits_pending, a.credits_pending, coalesce(s.d, 0), coalesce(s.c, 0)
          FROM wallets_ledgeraccount a
          LEFT JOIN (SELECT e.account_id,
                            sum(e.amount) FILTER (WHERE e.direction = 'D') AS d,
                            sum(e.amount) FILTER (WHERE e.direction = 'C') AS c
                       FROM wallets_entry e
                      WHERE e.phase = 'pending'
                        AND NOT EXISTS (SELECT 1 FROM wallets_journal r
                                         WHERE r.pending_id = e.journal_id)
                      GROUP BY e.account_id) s
            ON s.account_id = a.id
         WHERE NOT a.entry_only
           AND (a.debits_pending <> coalesce(s.d, 0) OR a.credits_pending <> coalesce(s.c, 0))
    """,
    "versions are gap-free and match the account": """
        SELECT a.id, a.version, count(e.id) AS entries, max(e.account_version) AS last
          FROM wallets_ledgeraccount a
          LEFT JOIN wallets_entry e ON e.account_id = a.id
         WHERE NOT a.entry_only
         GROUP BY a.id, a.version
        HAVING count(e.id) <> a.version OR coalesce(max(e.account_version), 0) <> a.version
            OR coalesce(min(e.account_version), 1) <> 1
    """,
    "the last balance_after equals the account's balance": """
        SELECT a.id, a.credits_posted - a.debits_posted AS balance, e.balance_after
          FROM wallets_ledgeraccount a
          JOIN wallets_entry e ON e.account_id = a.id AND e.account_version = a.version
         WHERE NOT a.entry_only AND e.balance_after <> a.credits_posted - a.debits_posted
    """,
    "no flagged account is overdrawn": """
        SELECT id, credits_posted - debits_posted - debits_pending AS available
          FROM wallets_ledgeraccount
         WHERE no_overdraft AND debits_posted + debits_pending > credits_posted
    """,
    "each hold is resolved at most once and by a hold's resolution": """
        SELECT r.id, r.kind, h.kind
          FROM wallets_journal r JOIN wallets_journal h ON h.id = r.pending_id
         WHERE h.kind <> 'hold' OR r.kind NOT IN ('post', 'void', 'expire')
    """,
    "clearing accounts net to zero (deposit suspense)": """
        SELECT e.account_id, e.currency_id,
               sum(CASE WHEN e.direction = 'C' THEN e.amount ELSE -e.amount END) AS balance
          FROM wallets_entry e JOIN wallets_ledgeraccount a ON a.id = e.account_id
         WHERE a.kind = 'deposit_suspense' AND e.phase = 'posted'
         GROUP BY e.account_id, e.currency_id
        HAVING sum(CASE WHEN e.direction = 'C' THEN e.amount ELSE -e.amount END) <> 0
    """,
}


def ledger_violations(*, limit: int = 20) -> dict[str, list[tuple]]:
    """Every broken invariant with up to `limit` offending rows; {} when the ledger is sound."""
    found: dict[str, list[tuple]] = {}
    with connection.cursor() as cursor:
        for name, query in INVARIANTS.items():
            cursor.execute(f"SELECT * FROM ({query}) v LIMIT {int(limit)}")  # noqa: S608
            rows = cursor.fetchall()
            if rows:
                found[name] = rows
    return found


def journal_list(*, kind: str = "", client_id: int | None = None) -> QuerySet[Journal]:
    journals = Journal.objects.select_related("actor").order_by("-id")
    if kind:
        journals = journals.filter(kind=kind)
    if client_id:
        journals = journals.filter(entries__account__client_id=client_id).distinct()
    return journals


# The house accounts money comes in through: a posted credit to a client's wallet in a
# journal that debits one of these is a deposit.
DEPOSIT_SOURCES = (LedgerAccount.Kind.PSP_CLEARING, LedgerAccount.Kind.DEPOSIT_SUSPENSE)


def client_deposit_totals(*, client: Client) -> dict[str, Decimal]:
    """What a client has deposited in total, per currency (net of reversed deposits: a
    reversal debits the wallet back through the same house account)."""
    pk = client.pk
    deposit_journals = Entry.objects.filter(
        direction="D", phase="posted", account__kind__in=DEPOSIT_SOURCES
    ).values("journal_id")
    credits = (
        Entry.objects.filter(
            account__client_id=pk,
            account__kind=LedgerAccount.Kind.WALLET,
            phase="posted",
            journal_id__in=deposit_journals,
        )
        .values("currency_id")
        .annotate(
            net=Sum(
                Case(
                    When(direction="C", then=F("amount")),
                    default=-F("amount"),
                    output_field=IntegerField(),
                )
            )
        )
    )
    reversals = (
        Entry.objects.filter(
            account__client_id=pk,
            account__kind=LedgerAccount.Kind.WALLET,
            phase="posted",
            direction="D",
            journal__kind=Journal.Kind.REVERSAL,
            journal__reverses_id__in=deposit_journals,
        )
        .values("currency_id")
        .annotate(net=Sum("amount"))
    )
    totals: dict[str, int] = {row["currency_id"]: row["net"] or 0 for row in credits}
    for row in reversals:
        totals[row["currency_id"]] = totals.get(row["currency_id"], 0) - (row["net"] or 0)
    return {code: from_minor(max(minor, 0), code) for code, minor in totals.items()}
