"""Read-only view of client money movements, from the ledger's tables (never written here).

The ledger has no "deposit" journal kind: a deposit is a posted journal that credits a client
wallet against a house inflow account (PSP clearing, bank omnibus, deposit suspense); a
withdrawal debits the wallet towards a house outflow account (withdrawals in transit, PSP
clearing, bank omnibus), usually as the post of a hold. A move from the wallet to a
trading-account mirror is funding trading. Reversed journals and reversals are left out.

(The wallets app has no selector for this yet; if it gets one, this module should call it.)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from wallets.ledger.services import from_minor
from wallets.models import Entry, Journal, LedgerAccount

Kind = LedgerAccount.Kind

DEPOSIT_SOURCES = frozenset({Kind.PSP_CLEARING, Kind.BANK_OMNIBUS, Kind.DEPOSIT_SUSPENSE})
WITHDRAWAL_SINKS = frozenset({Kind.WITHDRAWALS_IN_TRANSIT, Kind.PSP_CLEARING, Kind.BANK_OMNIBUS})
MOVING_KINDS = (Journal.Kind.TRANSFER, Journal.Kind.POST)

DEPOSIT = "deposit"
WITHDRAWAL = "withdrawal"
TO_TRADING = "to_trading"
OTHER = "other"


@dataclass(frozen=True)
class Movement:
    journal_id: int
    client_id: int
    currency: str
    amount: Decimal  # positive, in the currency's major unit
    at: datetime
    kind: str  # deposit, withdrawal, to_trading, other


def _classify(direction: str, counterparts: set[tuple[str, str]]) -> str:
    """counterparts: (account kind, direction) of the journal's non-wallet legs."""
    if direction == "C" and any(k in DEPOSIT_SOURCES and d == "D" for k, d in counterparts):
        return DEPOSIT
    if direction == "D" and any(k in WITHDRAWAL_SINKS and d == "C" for k, d in counterparts):
        return WITHDRAWAL
    if direction == "D" and any(k == Kind.TRADING and d == "C" for k, d in counterparts):
        return TO_TRADING
    return OTHER


def client_movements(
    *,
    since: datetime,
    until: datetime,
    client_ids: Iterable[int] | None = None,
    kinds: Iterable[str] = (DEPOSIT, WITHDRAWAL, TO_TRADING),
) -> list[Movement]:
    """Posted movements on client wallets with effective_at in [since, until), oldest first."""
    entries = (
        Entry.objects.filter(
            phase=Journal.Phase.POSTED,
            account__kind=Kind.WALLET,
            account__client__isnull=False,
            journal__kind__in=MOVING_KINDS,
            journal__effective_at__gte=since,
            journal__effective_at__lt=until,
            journal__reversal__isnull=True,
        )
        .values(
            "journal_id",
            "account__client_id",
            "currency_id",
            "amount",
            "direction",
            "journal__effective_at",
        )
        .order_by("journal__effective_at", "journal_id", "id")
    )
    if client_ids is not None:
        entries = entries.filter(account__client_id__in=list(client_ids))
    rows = list(entries)
    counterparts: dict[int, set[tuple[str, str]]] = defaultdict(set)
    legs = (
        Entry.objects.filter(journal_id__in={r["journal_id"] for r in rows}, phase="posted")
        .exclude(account__kind=Kind.WALLET)
        .values_list("journal_id", "account__kind", "direction")
    )
    for journal_id, kind, direction in legs:
        counterparts[journal_id].add((kind, direction))
    wanted = set(kinds)
    movements = []
    for r in rows:
        kind = _classify(r["direction"], counterparts[r["journal_id"]])
        if kind not in wanted:
            continue
        movements.append(
            Movement(
                journal_id=r["journal_id"],
                client_id=r["account__client_id"],
                currency=r["currency_id"],
                amount=from_minor(r["amount"], r["currency_id"]),
                at=r["journal__effective_at"],
                kind=kind,
            )
        )
    return movements


def last_movement_before(*, client_id: int, before: datetime) -> datetime | None:
    """When any posted money last moved on any of the client's ledger accounts."""
    return (
        Entry.objects.filter(
            account__client_id=client_id,
            phase=Journal.Phase.POSTED,
            journal__effective_at__lt=before,
        )
        .order_by("-journal__effective_at")
        .values_list("journal__effective_at", flat=True)
        .first()
    )
