"""The ledger's tables. Rules that money depends on are enforced by PostgreSQL itself
(installed by migration 0002: see wallets/ledger/sql.py), not only by the services."""

from __future__ import annotations

from decimal import Decimal

import pghistory
from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class Currency(models.Model):
    """A currency and its exponent: amounts are stored as integers of 10**-exponent."""

    code = models.CharField(max_length=10, primary_key=True)
    exponent = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=60)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "currencies"

    def __str__(self) -> str:
        return self.code


class LedgerAccount(models.Model):
    class Owner(models.TextChoices):
        CLIENT = "client", "Client"
        IB = "ib", "Introducing broker"
        HOUSE = "house", "House"

    class Kind(models.TextChoices):
        WALLET = "wallet", "Client wallet"
        IB_WALLET = "ib_wallet", "IB wallet"
        TRADING = "trading", "Trading account mirror"
        PSP_CLEARING = "psp_clearing", "PSP clearing"
        BANK_OMNIBUS = "bank_omnibus", "Bank omnibus"
        WITHDRAWALS_IN_TRANSIT = "withdrawals_in_transit", "Withdrawals in transit"
        DEPOSIT_SUSPENSE = "deposit_suspense", "Deposit suspense"
        COMMISSION_EXPENSE = "commission_expense", "Commission expense"
        FEE_INCOME = "fee_income", "Fee income"
        FX_LIQUIDITY = "fx_liquidity", "FX liquidity"
        FX_REVENUE = "fx_revenue", "FX revenue"
        ADJUSTMENTS = "adjustments", "Manual adjustments"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        FROZEN = "frozen", "Frozen"
        CLOSED = "closed", "Closed"

    code = models.CharField(max_length=120, unique=True, help_text="e.g. client:12:wallet:USD")
    name = models.CharField(max_length=200)
    owner_type = models.CharField(max_length=8, choices=Owner)
    client = models.ForeignKey(
        "clients.Client",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger_accounts",
    )
    # The partners app owns IBs; the ledger only keeps the id (wallets knows nothing of it).
    ib_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    kind = models.CharField(max_length=32, choices=Kind)
    currency = models.ForeignKey(Currency, on_delete=models.PROTECT)
    status = models.CharField(max_length=8, choices=Status, default=Status.OPEN)
    # TigerBeetle's debits_must_not_exceed_credits: a wallet never goes below zero.
    no_overdraft = models.BooleanField(default=False)
    # Hot house accounts (PSP clearing, commission expense, fee income) keep no locked
    # counters: their legs are written as entries only and their balance is summed.
    entry_only = models.BooleanField(default=False)
    debits_posted = models.BigIntegerField(default=0)
    credits_posted = models.BigIntegerField(default=0)
    debits_pending = models.BigIntegerField(default=0)
    credits_pending = models.BigIntegerField(default=0)
    version = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    debits_posted__gte=0,
                    credits_posted__gte=0,
                    debits_pending__gte=0,
                    credits_pending__gte=0,
                ),
                name="ledger_account_counters_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(no_overdraft=False)
                | Q(debits_posted__lte=F("credits_posted") - F("debits_pending")),
                name="ledger_account_no_overdraft",
            ),
            models.CheckConstraint(
                condition=Q(owner_type="client", client__isnull=False)
                | Q(owner_type="ib", ib_id__isnull=False)
                | Q(owner_type="house", client__isnull=True, ib_id__isnull=True),
                name="ledger_account_owner",
            ),
            # Target of the (account, currency) foreign key from entries.
            models.UniqueConstraint(fields=["id", "currency"], name="ledger_account_id_currency"),
        ]

    def __str__(self) -> str:
        return self.name


class Journal(models.Model):
    """One balanced movement of money. Never updated or deleted; corrected by a reversal."""

    class Kind(models.TextChoices):
        TRANSFER = "transfer", "Transfer"
        HOLD = "hold", "Hold"
        POST = "post", "Post of a hold"
        VOID = "void", "Void of a hold"
        EXPIRE = "expire", "Expiry of a hold"
        REVERSAL = "reversal", "Reversal"
        CONVERSION = "conversion", "Conversion"
        ADJUSTMENT = "adjustment", "Manual adjustment"

    class Phase(models.TextChoices):
        POSTED = "posted", "Posted"
        PENDING = "pending", "Pending"

    source = models.CharField(max_length=64)
    idempotency_key = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    kind = models.CharField(max_length=16, choices=Kind)
    phase = models.CharField(max_length=8, choices=Phase, default=Phase.POSTED)
    effective_at = models.DateTimeField()
    created_at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    external_ref = models.CharField(max_length=200, blank=True)
    memo = models.CharField(max_length=500, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    # A hold is resolved (posted, voided or expired) at most once, and a journal is
    # reversed at most once: each a UNIQUE index, partial (below), so that the ordinary
    # posting, where both are NULL, writes nothing to either.
    pending = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="resolution",
        db_index=False,
    )
    reverses = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversal",
        db_index=False,
    )
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "idempotency_key"], name="journal_idempotency"
            ),
            models.UniqueConstraint(
                fields=["pending"],
                condition=Q(pending__isnull=False),
                name="journal_pending_id_once",
            ),
            models.UniqueConstraint(
                fields=["reverses"],
                condition=Q(reverses__isnull=False),
                name="journal_reverses_id_once",
            ),
        ]
        indexes = [
            models.Index(fields=["effective_at"]),
            models.Index(fields=["kind", "effective_at"]),
            models.Index(
                fields=["expires_at"],
                name="journal_open_holds",
                condition=Q(phase="pending", expires_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.source}:{self.idempotency_key})"


class Entry(models.Model):
    class Direction(models.TextChoices):
        DEBIT = "D", "Debit"
        CREDIT = "C", "Credit"

    # That the journal exists is checked by the zero-sum triggers (sql.STATEMENT_BALANCE),
    # not by a foreign key: its deferred per-entry check cost a batch ~7 us a posting.
    journal = models.ForeignKey(
        Journal, on_delete=models.PROTECT, related_name="entries", db_constraint=False
    )
    # Both are enforced by one composite foreign key (account_id, currency_id) ->
    # account (id, currency_id), installed by migration 0002; separate constraints and
    # single-column indexes would only slow every posting (see bench/README.md).
    account = models.ForeignKey(
        LedgerAccount,
        on_delete=models.PROTECT,
        related_name="entries",
        db_constraint=False,
        db_index=False,
    )
    currency = models.ForeignKey(
        Currency, on_delete=models.PROTECT, db_constraint=False, db_index=False
    )
    direction = models.CharField(max_length=1, choices=Direction)
    amount = models.BigIntegerField(help_text="minor units of the currency")
    phase = models.CharField(max_length=8, choices=Journal.Phase)
    # The account's version and posted balance (credits - debits) after this entry, so a
    # statement is gap-free and needs no running sum. NULL on entry-only house accounts.
    account_version = models.BigIntegerField(null=True)
    balance_after = models.BigIntegerField(null=True)
    # Written by ledger_post_batch in one statement with the rest of its journal, whose
    # zero-sum check then runs at the end of that statement rather than at COMMIT.
    # When, not whether: see sql.STATEMENT_BALANCE.
    batched = models.BooleanField(default=False, db_default=False)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="entry_amount_positive"),
            models.UniqueConstraint(
                fields=["account", "account_version"], name="entry_account_version"
            ),
        ]
        indexes = [models.Index(fields=["account", "id"])]

    def __str__(self) -> str:
        return f"{self.direction} {self.amount} {self.currency_id} on {self.account_id}"


@pghistory.track()
class FxRate(models.Model):
    """The rate a client converts at: 1 `base` buys `rate` units of `quote`, before the house
    keeps `markup` (a fraction) of the result. One row per direction: EUR->USD is not derived
    from USD->EUR, because the house quotes each side with its own spread."""

    base = models.ForeignKey(Currency, on_delete=models.PROTECT, related_name="+")
    quote = models.ForeignKey(Currency, on_delete=models.PROTECT, related_name="+")
    rate = models.DecimalField(max_digits=20, decimal_places=10)
    markup = models.DecimalField(max_digits=6, decimal_places=5, default=Decimal("0.005"))
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["base", "quote"]
        verbose_name = "FX rate"
        constraints = [
            models.UniqueConstraint(fields=["base", "quote"], name="fx_rate_pair"),
            models.CheckConstraint(condition=~Q(base=F("quote")), name="fx_rate_two_currencies"),
            models.CheckConstraint(condition=Q(rate__gt=0), name="fx_rate_positive"),
            models.CheckConstraint(
                condition=Q(markup__gte=0, markup__lt=1), name="fx_rate_markup_fraction"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.base_id}/{self.quote_id} {self.rate}"


@pghistory.track()
class ManualAdjustment(models.Model):
    """A correction of a client's wallet by hand. Maker-checker: one finance person asks,
    another decides; it posts to the ledger only when approved."""

    class Direction(models.TextChoices):
        CREDIT = "credit", "Credit the client"
        DEBIT = "debit", "Debit the client"

    class Reason(models.TextChoices):
        GOODWILL = "goodwill", "Goodwill gesture"
        FEE_REFUND = "fee_refund", "Fee refund"
        CORRECTION = "correction", "Correction of an error"
        CHARGEBACK = "chargeback", "Chargeback"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending approval"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="+")
    direction = models.CharField(max_length=6, choices=Direction)
    amount = models.DecimalField(max_digits=38, decimal_places=18)
    currency = models.ForeignKey(Currency, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=16, choices=Reason)
    reason_text = models.CharField(max_length=500)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=8, choices=Status, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=500, blank=True)
    journal = models.OneToOneField(
        Journal, on_delete=models.PROTECT, null=True, blank=True, related_name="adjustment"
    )

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            # Maker-checker in the database itself: no code path (admin, shell, a bug) can
            # let the person who asked also decide.
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("requested_by")),
                name="adjustment_maker_is_not_checker",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="adjustment_amount_positive"),
            models.CheckConstraint(
                condition=Q(
                    status="pending",
                    decided_by__isnull=True,
                    decided_at__isnull=True,
                    journal__isnull=True,
                )
                | Q(
                    status="approved",
                    decided_by__isnull=False,
                    decided_at__isnull=False,
                    journal__isnull=False,
                )
                | Q(
                    status="rejected",
                    decided_by__isnull=False,
                    decided_at__isnull=False,
                    journal__isnull=True,
                ),
                name="adjustment_status_consistent",
            ),
        ]
        indexes = [models.Index(fields=["status", "-requested_at"])]

    def __str__(self) -> str:
        return f"Adjustment #{self.pk}: {self.direction} {self.amount} {self.currency_id}"
