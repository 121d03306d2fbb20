from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pghistory
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone


@pghistory.track()
class Client(models.Model):
    """A person who trades with the broker (or signed up to). One per User."""

    class Status(models.TextChoices):
        REGISTERED = "registered", "Registered"
        ACTIVE = "active", "Active"
        DORMANT = "dormant", "Dormant"
        CLOSED = "closed", "Closed"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="client"
    )
    status = models.CharField(max_length=16, choices=Status, default=Status.REGISTERED)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2")
    phone = models.CharField(max_length=32, blank=True)
    assigned_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_clients",
        limit_choices_to={"is_staff": True},
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["assigned_agent", "-created_at"])]

    def __str__(self) -> str:
        return self.user.get_full_name()

    @property
    def name(self) -> str:
        return self.user.get_full_name()


# --- trading servers and what we mirror of them -----------------------------------------------
# Money as Decimal with room for any account currency's digits; volumes as integers in
# 1e-8 lots (MT5's VolumeExt); times in UTC plus the server's raw millisecond value (MT5
# writes its own wall clock, not UTC: see clients/platforms and specs/mt5-webapi.md).


def money(**options: Any) -> models.DecimalField:
    return models.DecimalField(max_digits=24, decimal_places=8, **options)


class TradingServer(models.Model):
    class Platform(models.TextChoices):
        MT5_WEBAPI = "mt5_webapi", "MT5 Manager Web API"
        MT5_TERMINAL = "mt5_terminal", "MetaTrader5 terminal"

    name = models.CharField(max_length=64, unique=True)
    platform = models.CharField(max_length=16, choices=Platform, default=Platform.MT5_WEBAPI)
    url = models.CharField(max_length=300, help_text="e.g. https://mt5.example.com:443")
    manager_login = models.BigIntegerField()
    # Sealed with brokerage.secrets_box; never stored or shown in clear.
    password_sealed = models.TextField()
    is_live = models.BooleanField(default=True)
    verify_tls = models.BooleanField(default=True)
    # The server's clock: an IANA zone plus a shift (most brokers: New York + 7 h).
    clock_zone = models.CharField(max_length=64, default="America/New_York")
    clock_shift_hours = models.SmallIntegerField(default=7)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TradingAccount(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        DISABLED = "disabled", "Disabled"
        CLOSED = "closed", "Closed"

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="trading_accounts")
    server = models.ForeignKey(TradingServer, on_delete=models.PROTECT, related_name="accounts")
    login = models.BigIntegerField()
    group = models.CharField(max_length=64)
    leverage = models.PositiveIntegerField()
    currency = models.CharField(max_length=8, default="USD")
    is_live = models.BooleanField(default=True)
    status = models.CharField(max_length=10, choices=Status, default=Status.ACTIVE)
    # What the client opened it as (None: opened before products existed, or by a dealer).
    product = models.ForeignKey(
        "TradingProduct",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="accounts",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["server", "login"]
        constraints = [
            models.UniqueConstraint(fields=["server", "login"], name="trading_account_login_once")
        ]

    def __str__(self) -> str:
        return f"{self.server} #{self.login}"


class Deal(models.Model):
    """A deal as the trading server has it: one row per (server, ticket), upserted by sync
    (a dealer's later edit overwrites it; the raw JSON is kept)."""

    server = models.ForeignKey(TradingServer, on_delete=models.PROTECT, related_name="+")
    ticket = models.BigIntegerField()
    login = models.BigIntegerField()
    order = models.BigIntegerField(default=0)
    position_id = models.BigIntegerField(default=0)
    action = models.SmallIntegerField()
    entry = models.SmallIntegerField(default=0)
    reason = models.SmallIntegerField(default=0)
    symbol = models.CharField(max_length=32, blank=True)
    volume_ext = models.BigIntegerField(default=0, help_text="1e-8 lots")
    price = money(default=0)
    profit = money(default=0)
    swap = money(default=0)
    commission = money(default=0)
    fee = money(default=0)
    time = models.DateTimeField(help_text="UTC")
    time_msc = models.BigIntegerField(help_text="the server's own clock, ms")
    comment = models.CharField(max_length=64, blank=True)
    external_id = models.CharField(max_length=64, blank=True)
    # An action code we don't know (a newer server build): stored and flagged, never dropped.
    unknown_action = models.BooleanField(default=False)
    # The server's record as it came, JSON text: kept as evidence, never queried, so stored
    # as text (PostgreSQL's jsonb would parse every field of every deal again: a third of the
    # ingest time, bench/README.md). `record` gives it back as a dict.
    raw = models.TextField(default="{}")
    synced_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["server", "ticket"], name="deal_ticket_once")
        ]
        indexes = [
            models.Index(fields=["server", "login", "time"]),
            models.Index(fields=["server", "time"]),
        ]

    def __str__(self) -> str:
        return f"deal {self.ticket} on {self.server_id}"

    @property
    def record(self) -> dict[str, Any]:
        return dict(json.loads(self.raw or "{}"))

    @property
    def lots(self) -> Decimal:
        return (Decimal(self.volume_ext) / Decimal(100_000_000)).normalize()

    @property
    def action_label(self) -> str:
        from clients.trading_selectors import ACTION_LABELS

        return ACTION_LABELS.get(self.action, f"Action {self.action}")

    @property
    def entry_label(self) -> str:
        from clients.trading_selectors import ENTRY_LABELS

        return ENTRY_LABELS.get(self.entry, str(self.entry))


class Position(models.Model):
    server = models.ForeignKey(TradingServer, on_delete=models.PROTECT, related_name="+")
    ticket = models.BigIntegerField()
    login = models.BigIntegerField()
    symbol = models.CharField(max_length=32)
    action = models.SmallIntegerField(help_text="0 buy, 1 sell")
    volume_ext = models.BigIntegerField()
    price_open = money()
    price_current = money()
    sl = money(default=0)
    tp = money(default=0)
    profit = money(default=0)
    swap = money(default=0)
    opened_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    raw = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["server", "ticket"], name="position_ticket_once")
        ]
        indexes = [models.Index(fields=["server", "login"])]

    def __str__(self) -> str:
        return f"position {self.ticket} on {self.server_id}"


class AccountSnapshot(models.Model):
    account = models.ForeignKey(TradingAccount, on_delete=models.CASCADE, related_name="snapshots")
    taken_at = models.DateTimeField(db_index=True)
    balance = money()
    credit = money(default=0)
    equity = money()
    margin = money(default=0)
    margin_free = money(default=0)
    margin_level = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    profit = money(default=0)

    class Meta:
        ordering = ["-taken_at"]
        indexes = [models.Index(fields=["account", "-taken_at"])]

    def __str__(self) -> str:
        return f"{self.account_id} at {self.taken_at:%Y-%m-%d %H:%M}"


class SyncCursor(models.Model):
    """Where the incremental deal sync of one server (and selector) got to; advanced in the
    same transaction as the deals it covers."""

    server = models.ForeignKey(TradingServer, on_delete=models.CASCADE, related_name="cursors")
    selector = models.CharField(max_length=200, default="*")
    last_time_msc = models.BigIntegerField(default=0)
    last_ticket = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["server", "selector"], name="sync_cursor_once")
        ]

    def __str__(self) -> str:
        return f"{self.server_id} {self.selector} at {self.last_time_msc}"


class SyncRun(models.Model):
    """One sync attempt, for the health page: when, how much, what went wrong."""

    class Kind(models.TextChoices):
        DEALS = "deals", "Deals (incremental)"
        RESCAN = "rescan", "Re-scan"
        STATE = "state", "Positions and account states"

    server = models.ForeignKey(TradingServer, on_delete=models.CASCADE, related_name="runs")
    kind = models.CharField(max_length=8, choices=Kind)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    ok = models.BooleanField(default=False)
    deals_seen = models.PositiveIntegerField(default=0)
    deals_written = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    raw_response = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["server", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.kind} sync of {self.server_id} at {self.started_at:%Y-%m-%d %H:%M}"


class BalanceOperation(models.Model):
    """A deposit to or withdrawal from a trading account, as the CRM asked for it. MT5 has no
    idempotency key: `op_ref` goes into the deal comment, and an outcome we did not hear is
    looked up on the server before anything is sent again (clients.trading_services)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        UNKNOWN = "unknown", "Outcome unknown: look it up before sending again"
        REFUSED = "refused", "Refused by the server"

    account = models.ForeignKey(
        TradingAccount, on_delete=models.PROTECT, related_name="balance_ops"
    )
    op_ref = models.CharField(max_length=27, unique=True)
    kind = models.SmallIntegerField(
        default=2, help_text="2 balance, 3 credit, 4 charge, 5 correction, 6 bonus"
    )
    amount = money(help_text="signed: negative withdraws")
    comment = models.CharField(max_length=31, blank=True)
    status = models.CharField(max_length=8, choices=Status, default=Status.PENDING)
    deal_ticket = models.BigIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="balance_op_amount_not_zero"),
            models.CheckConstraint(
                condition=Q(status="done", deal_ticket__isnull=False) | ~Q(status="done"),
                name="balance_op_done_has_ticket",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.op_ref}: {self.amount} on {self.account}"


class Notice(models.Model):
    """A message to a client, shown in the portal (and usually e-mailed too): a deposit
    credited, a withdrawal approved, a transfer that failed. Written by clients.notices.notify."""

    class Level(models.TextChoices):
        INFO = "info", "Information"
        SUCCESS = "success", "Done"
        WARNING = "warning", "Needs attention"

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="notices")
    level = models.CharField(max_length=8, choices=Level, default=Level.INFO)
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=300, blank=True, help_text="A portal path to act on it")
    # What caused it, so a retried task notifies once (e.g. "deposit:42:credited").
    key = models.CharField(max_length=120)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["client", "-created_at"])]
        constraints = [
            models.UniqueConstraint(fields=["client", "key"], name="notice_once_per_cause")
        ]

    def __str__(self) -> str:
        return self.subject


@pghistory.track()
class TradingProduct(models.Model):
    """An account type the broker offers in the portal ("Standard", "Pro", "Demo"): where it
    opens (server and group), in which currency, with which leverages. Live or demo follows
    the server. Dealing staff edit them in the back-office."""

    name = models.CharField(max_length=64, unique=True)
    server = models.ForeignKey(TradingServer, on_delete=models.PROTECT, related_name="products")
    group = models.CharField(max_length=64, help_text="The MT5 group, e.g. real\\standard")
    currency = models.CharField(max_length=8, default="USD")
    leverage_choices = ArrayField(
        models.PositiveIntegerField(), help_text="What a client may choose, e.g. 50, 100, 200"
    )
    default_leverage = models.PositiveIntegerField(default=100)
    min_deposit = money(
        default=Decimal(0), help_text="The first transfer to a new account must be at least this"
    )
    demo_balance = money(
        default=Decimal(0), help_text="Virtual money a new demo account gets (demo servers only)"
    )
    enabled = models.BooleanField(default=True)
    sort_order = models.PositiveSmallIntegerField(default=0)
    description = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sort_order", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(min_deposit__gte=0, demo_balance__gte=0),
                name="trading_product_amounts_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(leverage_choices__len__gt=0), name="trading_product_has_leverage"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_live(self) -> bool:
        return self.server.is_live

    @property
    def leverage_label(self) -> str:
        return ", ".join(f"1:{n}" for n in sorted(self.leverage_choices))
