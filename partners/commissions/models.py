"""IB commission plans (versioned), commission runs, the lines they produce (the proof of
every cent), payouts into IB wallets, recomputes and disputes.

A line is never edited: a correction is a new line of kind "adjustment". Lines of kind
"deal" are unique per (deal, IB, level), which makes a run idempotent (a run leaves out the
deals that have lines; see engine.compute_lines), and carry the plan version, rate and
inputs that produced them. The formula ("why this amount") of a differential deal line is
not stored as text: the line stores every input of it (lots, modifier, tier, per-lot rate,
percentages, the client's commission and spread when counted, the cap, its value and the
level below's) and `CommissionLine.formula` renders the one wording from them, so a page
shows the same words the run would have stored (a test compares both). That is the issue's
"plan version, rate, inputs and formula stored on the line": the inputs plus one formula
template, in render_differential. Other lines store their text.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q


def amount_field(**options: object) -> models.DecimalField:
    return models.DecimalField(max_digits=20, decimal_places=8, **options)  # type: ignore[arg-type]


class SymbolGroup(models.Model):
    """FX, metals, indices, crypto...: which symbols (patterns, `*` as wildcard, comma
    separated) and how a lot of them counts (lot modifier: 100 lots x 0.4 = 40 lots)."""

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=64)
    patterns = models.CharField(max_length=500, help_text="e.g. EURUSD, GBP*, *JPY")
    lot_modifier = models.DecimalField(max_digits=10, decimal_places=4, default=Decimal(1))
    contract_size = models.DecimalField(
        max_digits=14, decimal_places=2, default=Decimal(100000), help_text="for USD volume"
    )
    priority = models.SmallIntegerField(default=0, help_text="higher wins when two match")

    class Meta:
        ordering = ["-priority", "name"]

    def __str__(self) -> str:
        return self.name

    def pattern_list(self) -> list[str]:
        return [p.strip().upper() for p in self.patterns.split(",") if p.strip()]


class SymbolMarkup(models.Model):
    """The spread markup the broker adds on a symbol: markup in pips and the value of one pip
    per lot (in the plan currency). A 0.8 pip markup at 10.00 per pip = 8.00 per lot."""

    symbol = models.CharField(max_length=32, unique=True)
    markup_pips = models.DecimalField(max_digits=10, decimal_places=4)
    pip_value = models.DecimalField(max_digits=12, decimal_places=4, default=Decimal(10))

    def __str__(self) -> str:
        return f"{self.symbol} +{self.markup_pips} pips"


class CommissionPlan(models.Model):
    class Model(models.TextChoices):
        DIFFERENTIAL = "differential", "Differential (rate minus the child's rate)"
        CASCADE = "cascade", "Cascade (each level passes a share up)"

    class Event(models.TextChoices):
        OPEN = "open", "Opening deals"
        CLOSE = "close", "Closing deals"
        BOTH = "both", "Opening and closing deals"

    name = models.CharField(max_length=100, unique=True)
    model = models.CharField(max_length=16, choices=Model, default=Model.DIFFERENTIAL)
    counting_event = models.CharField(max_length=8, choices=Event, default=Event.CLOSE)
    min_holding_seconds = models.PositiveIntegerField(default=0)
    per_deal_cap = amount_field(null=True, blank=True, help_text="max paid per deal, all levels")
    currency = models.ForeignKey("wallets.Currency", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PlanVersion(models.Model):
    """The rules of a plan from a date. Once a line used it, it is frozen: a change is a new
    version from a later date (services.plan_version_new)."""

    plan = models.ForeignKey(CommissionPlan, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    valid_from = models.DateTimeField()
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["plan", "-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="plan_version_number_once"),
            models.UniqueConstraint(fields=["plan", "valid_from"], name="plan_version_from_once"),
        ]

    def __str__(self) -> str:
        return f"{self.plan} v{self.number}"

    @property
    def is_used(self) -> bool:
        return CommissionLine.objects.filter(plan_version=self).exists()


class PlanRate(models.Model):
    """What an IB earns per deal in one symbol group, under one plan version: per lot, a
    percentage of the client's commission, a percentage of the spread markup. A row with a
    partner is that IB's own rate (an override); without, the plan's rate for everyone."""

    version = models.ForeignKey(PlanVersion, on_delete=models.CASCADE, related_name="rates")
    group = models.ForeignKey(SymbolGroup, on_delete=models.PROTECT, related_name="+")
    partner = models.ForeignKey(
        "partners.Partner", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    per_lot = amount_field(default=Decimal(0))
    pct_commission = models.DecimalField(max_digits=7, decimal_places=4, default=Decimal(0))
    pct_spread = models.DecimalField(max_digits=7, decimal_places=4, default=Decimal(0))

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["version", "group", "partner"],
                name="plan_rate_once",
                nulls_distinct=False,
            )
        ]

    def __str__(self) -> str:
        return f"{self.version} {self.group}: {self.per_lot}/lot"


class CascadeShare(models.Model):
    """Cascade model: the share of its claim that level `level` passes up to its parent.
    The last share given repeats for deeper levels; the top of the tree keeps its claim."""

    version = models.ForeignKey(PlanVersion, on_delete=models.CASCADE, related_name="shares")
    level = models.PositiveSmallIntegerField()
    share_pct = models.DecimalField(max_digits=7, decimal_places=4)

    class Meta:
        ordering = ["version", "level"]
        constraints = [
            models.UniqueConstraint(fields=["version", "level"], name="cascade_share_once")
        ]

    def __str__(self) -> str:
        return f"level {self.level} passes {self.share_pct}%"


class VolumeTier(models.Model):
    """A multiplier on the IB's rates when the IB's tree reached a threshold in the previous
    calendar month (so a month's rates are known on its first day and a recompute agrees)."""

    class Metric(models.TextChoices):
        LOTS = "lots", "Lots"
        USD_VOLUME = "usd_volume", "USD volume"
        ACTIVE_TRADERS = "active_traders", "Active traders"

    version = models.ForeignKey(PlanVersion, on_delete=models.CASCADE, related_name="tiers")
    metric = models.CharField(max_length=16, choices=Metric, default=Metric.LOTS)
    threshold = models.DecimalField(max_digits=20, decimal_places=2)
    multiplier = models.DecimalField(max_digits=8, decimal_places=4)

    class Meta:
        ordering = ["version", "metric", "threshold"]

    def __str__(self) -> str:
        return f"{self.metric} >= {self.threshold}: x{self.multiplier}"


class CpaRule(models.Model):
    """A fixed amount once per client, when the first deposit is at least `min_deposit` and
    the client trades at least `min_lots` within `within_days` of it."""

    version = models.OneToOneField(PlanVersion, on_delete=models.CASCADE, related_name="cpa")
    amount = amount_field()
    min_deposit = amount_field()
    min_lots = models.DecimalField(max_digits=14, decimal_places=4)
    within_days = models.PositiveIntegerField(default=30)

    def __str__(self) -> str:
        return f"CPA {self.amount}"


class PlanAssignment(models.Model):
    """Which plan an IB is on, from a date, and the currency of the IB's wallet."""

    partner = models.ForeignKey(
        "partners.Partner", on_delete=models.PROTECT, related_name="plan_assignments"
    )
    plan = models.ForeignKey(CommissionPlan, on_delete=models.PROTECT, related_name="assignments")
    valid_from = models.DateTimeField()
    wallet_currency = models.ForeignKey(
        "wallets.Currency", on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["partner", "-valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "valid_from"], name="plan_assignment_from_once"
            )
        ]

    def __str__(self) -> str:
        return f"IB {self.partner_id} on plan {self.plan_id} from {self.valid_from:%Y-%m-%d}"


class CommissionRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Kind(models.TextChoices):
        DEALS = "deals", "New deals"
        PERIOD = "period", "Period"
        RECOMPUTE = "recompute", "Recompute adjustment"
        DISPUTE = "dispute", "Dispute adjustment"
        CPA = "cpa", "CPA qualification"

    kind = models.CharField(max_length=10, choices=Kind, default=Kind.DEALS)
    label = models.CharField(max_length=200, blank=True)
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status, default=Status.RUNNING)
    deals_seen = models.PositiveIntegerField(default=0)
    lines_created = models.PositiveIntegerField(default=0)
    deals_flagged = models.PositiveIntegerField(default=0)
    payouts = models.PositiveIntegerField(default=0)
    total = amount_field(default=Decimal(0))
    progress = models.PositiveSmallIntegerField(default=0, help_text="percent")
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"run {self.pk} ({self.get_kind_display()})"


class CommissionLine(models.Model):
    """One IB's commission from one deal at one level of the tree (or an adjustment, or a
    CPA). Never edited. `formula` is the arithmetic in words (stored, or rendered from the
    stored inputs for a differential deal line), `amount` in the plan currency,
    `wallet_amount` what reached the IB wallet (at `fx_rate` when the currencies differ)."""

    class Kind(models.TextChoices):
        DEAL = "deal", "Deal"
        CPA = "cpa", "CPA"
        ADJUSTMENT = "adjustment", "Adjustment"

    # No database foreign keys: a run inserts millions of lines with one INSERT ... SELECT
    # whose joins already guarantee every id exists, and deferred FK checks at COMMIT were
    # most of a run's time (bench/README.md). Nothing the lines point at is ever deleted.
    kind = models.CharField(max_length=10, choices=Kind, default=Kind.DEAL)
    run = models.ForeignKey(
        CommissionRun,
        on_delete=models.PROTECT,
        related_name="lines",
        db_index=False,
        db_constraint=False,
    )
    deal = models.ForeignKey(
        "clients.Deal", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        db_index=False, db_constraint=False,
    )  # fmt: skip
    client = models.ForeignKey(
        "clients.Client",
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    partner = models.ForeignKey(
        "partners.Partner",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    level = models.PositiveSmallIntegerField(help_text="0 = the client's own IB")
    deal_time = models.DateTimeField()
    plan_version = models.ForeignKey(
        PlanVersion,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    symbol = models.CharField(max_length=32, blank=True)
    group = models.ForeignKey(
        SymbolGroup,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    lots = models.DecimalField(max_digits=20, decimal_places=8, default=Decimal(0))
    modifier = models.DecimalField(max_digits=10, decimal_places=4, default=Decimal(1))
    tier_multiplier = models.DecimalField(max_digits=8, decimal_places=4, default=Decimal(1))
    rate = amount_field(default=Decimal(0), help_text="this IB's value of the deal")
    child_rate = amount_field(default=Decimal(0), help_text="the level below's value")
    amount = amount_field()
    currency = models.CharField(max_length=8)
    fx_rate = models.DecimalField(max_digits=20, decimal_places=10, default=Decimal(1))
    wallet_amount = amount_field()
    wallet_currency = models.CharField(max_length=8)
    # The formula of a differential deal line is not stored as text: it is rendered from the
    # inputs below and the columns above (`formula`), which hold every number it shows: the
    # rates of the plan version in force, the client's commission and spread markup when a
    # percentage of them counts, the per-deal cap. A stored text (`formula_text`) is kept for
    # every other line (cascade, CPA, adjustments, the dry runs of a recompute).
    formula_text = models.TextField(db_column="formula", blank=True)
    per_lot = amount_field(null=True, blank=True)
    pct_commission = models.DecimalField(max_digits=7, decimal_places=4, null=True, blank=True)
    pct_spread = models.DecimalField(max_digits=7, decimal_places=4, null=True, blank=True)
    client_commission = amount_field(null=True, blank=True)
    spread = amount_field(null=True, blank=True)
    cap = amount_field(null=True, blank=True)
    adjusts = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-deal_time", "level"]
        constraints = [
            models.UniqueConstraint(
                fields=["deal", "partner", "level"],
                condition=Q(kind="deal"),
                name="commission_line_once",
            ),
            models.UniqueConstraint(
                fields=["client", "partner"], condition=Q(kind="cpa"), name="commission_cpa_once"
            ),
        ]
        indexes = [models.Index(fields=["partner", "deal_time"], name="commission_line_ib_time")]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} to IB {self.partner_id} (level {self.level})"

    @property
    def formula(self) -> str:
        """The arithmetic in words: stored, or rendered from the stored inputs."""
        if self.formula_text or self.per_lot is None:
            return self.formula_text
        return render_differential(self)

    @formula.setter
    def formula(self, text: str) -> None:
        self.formula_text = text


def _plain(number: Decimal) -> str:
    """PostgreSQL's trim_scale(): no trailing zeros, never an exponent."""
    return format(number.normalize(), "f")


def render_differential(line: CommissionLine) -> str:
    """The formula of a differential deal line, as the run used to store it: the IB's value
    of the deal from the stored inputs, and the level below's value it is paid above."""
    from decimal import ROUND_HALF_UP

    from wallets.ledger.services import currency_exponent

    step = Decimal(1).scaleb(-currency_exponent(line.currency))
    per_lot = line.per_lot or Decimal(0)
    pct_c, pct_s = line.pct_commission or Decimal(0), line.pct_spread or Decimal(0)
    commission, spread = line.client_commission or Decimal(0), line.spread or Decimal(0)
    raw = (
        line.lots * line.modifier * per_lot + commission * pct_c / 100 + spread * pct_s / 100
    ) * line.tier_multiplier
    if line.cap is not None:
        raw = min(raw, line.cap)
    value = raw.quantize(step, rounding=ROUND_HALF_UP)
    top, child = line.rate.quantize(step), line.child_rate.quantize(step)
    inputs = f"{_plain(line.lots)} lots × {_plain(line.modifier)} × {_plain(per_lot)}/lot"
    if pct_c:
        inputs += f" + {_plain(pct_c)}% of commission {_plain(commission)}"
    if pct_s:
        inputs += f" + {_plain(pct_s)}% of spread {_plain(spread)}"
    if line.tier_multiplier != 1:
        inputs += f", × tier {_plain(line.tier_multiplier)}"
    if line.cap is not None:
        inputs += f", capped at {_plain(line.cap)}"
    higher = f" (the level below is higher: {top})" if top != value else ""
    below = "0" if line.level == 0 else str(child)  # the SQL's coalesce(..., 0) at level 0
    return (
        f"value {inputs} = {value}{higher}; minus the level below's {below} = "
        f"{(top - child).quantize(step)} {line.currency}"
    )


class CommissionPayout(models.Model):
    """What one run paid one IB in one wallet currency: one ledger posting
    (commission_expense -> IB wallet); the run's lines are its proof."""

    run = models.ForeignKey(CommissionRun, on_delete=models.PROTECT, related_name="payout_rows")
    batch = models.PositiveIntegerField(default=0)
    partner = models.ForeignKey("partners.Partner", on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(max_length=8)
    amount = amount_field()
    lines = models.PositiveIntegerField()
    journal_id = models.BigIntegerField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["run", "batch", "partner", "currency"], name="commission_payout_once"
            )
        ]

    def __str__(self) -> str:
        return f"run {self.run_id}: {self.amount} {self.currency} to IB {self.partner_id}"


class FlaggedDeal(models.Model):
    """A deal the run could not pay (its symbol is in no group): for staff to look at."""

    deal = models.OneToOneField("clients.Deal", on_delete=models.CASCADE, related_name="+")
    symbol = models.CharField(max_length=32)
    reason = models.CharField(max_length=200)
    run = models.ForeignKey(CommissionRun, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"deal {self.deal_id}: {self.reason}"


class CpaQualification(models.Model):
    """The event that made a client's CPA payable: stored once per client."""

    client = models.OneToOneField("clients.Client", on_delete=models.PROTECT, related_name="+")
    partner = models.ForeignKey("partners.Partner", on_delete=models.PROTECT, related_name="+")
    plan_version = models.ForeignKey(PlanVersion, on_delete=models.PROTECT, related_name="+")
    first_deposit = amount_field()
    first_deposit_at = models.DateTimeField()
    lots = models.DecimalField(max_digits=20, decimal_places=8)
    qualified_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"CPA of client {self.client_id}"


class Recompute(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Dry run"
        APPROVED = "approved", "Approved and posted"
        DISCARDED = "discarded", "Discarded"
        SUPERSEDED = "superseded", "Superseded (another recompute of the period was approved)"

    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status, default=Status.DRAFT)
    diff_lines = models.PositiveIntegerField(default=0)
    diff_total = amount_field(default=Decimal(0))
    reason = models.CharField(max_length=300, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    run = models.ForeignKey(CommissionRun, on_delete=models.PROTECT, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"recompute {self.pk}"


class RecomputeDiff(models.Model):
    """One (deal, IB, level) whose amount differs: what was paid and what the rules say now."""

    recompute = models.ForeignKey(Recompute, on_delete=models.CASCADE, related_name="diffs")
    deal = models.ForeignKey("clients.Deal", on_delete=models.PROTECT, related_name="+")
    partner = models.ForeignKey("partners.Partner", on_delete=models.PROTECT, related_name="+")
    level = models.PositiveSmallIntegerField()
    paid = amount_field()
    expected = amount_field()
    currency = models.CharField(max_length=8)
    expected_formula = models.TextField(blank=True)

    class Meta:
        ordering = ["deal", "level"]

    def __str__(self) -> str:
        return f"deal {self.deal_id} IB {self.partner_id} level {self.level}"

    @property
    def delta(self) -> Decimal:
        return self.expected - self.paid


class Dispute(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    partner = models.ForeignKey("partners.Partner", on_delete=models.PROTECT, related_name="+")
    line = models.ForeignKey(
        CommissionLine, on_delete=models.PROTECT, null=True, blank=True, related_name="disputes"
    )
    period = models.CharField(max_length=7, blank=True, help_text="a statement, YYYY-MM")
    message = models.TextField()
    status = models.CharField(max_length=10, choices=Status, default=Status.OPEN)
    resolution = models.TextField(blank=True)
    adjustment = amount_field(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(line__isnull=False) | ~Q(period=""), name="dispute_has_subject"
            )
        ]

    def __str__(self) -> str:
        return f"dispute {self.pk} ({self.status})"
