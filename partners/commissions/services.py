# ruff: noqa: S608  (SQL strings here are this module's own constants)
"""Every write of the commissions app: plans and their validation, runs and payouts,
recomputes, disputes, CPA qualification. The set-based SQL of a run is in engine.py."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from brokerage.models import User
from partners.commissions import engine
from partners.commissions.exceptions import CommissionError
from partners.commissions.models import (
    CascadeShare,
    CommissionLine,
    CommissionPayout,
    CommissionPlan,
    CommissionRun,
    CpaRule,
    Dispute,
    PlanAssignment,
    PlanRate,
    PlanVersion,
    Recompute,
    SymbolGroup,
    VolumeTier,
)
from partners.models import Partner, PartnerPath

SOURCE = "commissions"
BATCH_SIZE = 200_000

# --- plans -----------------------------------------------------------------------------------

RateSpec = dict[str, Any]  # {"group": SymbolGroup, "partner": Partner|None, "per_lot": ...}


def plan_create(
    *,
    name: str,
    model: str = CommissionPlan.Model.DIFFERENTIAL,
    currency: str = "USD",
    counting_event: str = CommissionPlan.Event.CLOSE,
    min_holding_seconds: int = 0,
    per_deal_cap: Decimal | None = None,
) -> CommissionPlan:
    return CommissionPlan.objects.create(
        name=name,
        model=model,
        currency_id=currency,
        counting_event=counting_event,
        min_holding_seconds=min_holding_seconds,
        per_deal_cap=per_deal_cap,
    )


@transaction.atomic
def plan_version_new(
    *,
    plan: CommissionPlan,
    valid_from: datetime,
    rates: Sequence[RateSpec] = (),
    shares: Sequence[Decimal] = (),
    tiers: Sequence[tuple[str, Decimal, Decimal]] = (),
    cpa: dict[str, Any] | None = None,
    note: str = "",
    actor: User | None = None,
) -> PlanVersion:
    """A new version of a plan's rules from `valid_from`. Past deals keep the version in force
    when they happened; a version already used by a line can't start after deals it paid."""
    last_used = (
        CommissionLine.objects.filter(plan_version__plan=plan)
        .order_by("-deal_time")
        .values_list("deal_time", flat=True)
        .first()
    )
    if last_used is not None and valid_from <= last_used:
        raise CommissionError(
            f"Commissions were already paid under this plan up to {last_used:%Y-%m-%d %H:%M}: "
            "a new version must start after that (past commissions keep their version)."
        )
    number = (plan.versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    version = PlanVersion.objects.create(
        plan=plan, number=number, valid_from=valid_from, note=note, created_by=actor
    )
    PlanRate.objects.bulk_create(
        PlanRate(
            version=version,
            group=spec["group"],
            partner=spec.get("partner"),
            per_lot=Decimal(spec.get("per_lot", 0)),
            pct_commission=Decimal(spec.get("pct_commission", 0)),
            pct_spread=Decimal(spec.get("pct_spread", 0)),
        )
        for spec in rates
    )
    CascadeShare.objects.bulk_create(
        CascadeShare(version=version, level=level, share_pct=Decimal(share))
        for level, share in enumerate(shares)
    )
    VolumeTier.objects.bulk_create(
        VolumeTier(version=version, metric=metric, threshold=threshold, multiplier=multiplier)
        for metric, threshold, multiplier in tiers
    )
    if cpa:
        CpaRule.objects.create(version=version, **cpa)
    if plan.model == CommissionPlan.Model.CASCADE and not shares:
        raise CommissionError("A cascade plan needs the share each level passes up.")
    for share in shares:
        if not Decimal(0) <= Decimal(share) <= Decimal(100):
            raise CommissionError(f"A cascade share must be between 0 and 100 %, not {share}.")
    differential_check(at=valid_from)
    return version


def plan_rate_set(*, version: PlanVersion, spec: RateSpec) -> PlanRate:
    """Change one rate of a version nobody has been paid under yet."""
    if version.is_used:
        raise CommissionError(
            f"{version} has paid commissions and can't change: create a new version from a date."
        )
    with transaction.atomic():
        rate, _ = PlanRate.objects.update_or_create(
            version=version,
            group=spec["group"],
            partner=spec.get("partner"),
            defaults={
                "per_lot": Decimal(spec.get("per_lot", 0)),
                "pct_commission": Decimal(spec.get("pct_commission", 0)),
                "pct_spread": Decimal(spec.get("pct_spread", 0)),
            },
        )
        differential_check(at=version.valid_from)
    return rate


@transaction.atomic
def plan_assign(
    *,
    partner: Partner,
    plan: CommissionPlan,
    valid_from: datetime,
    wallet_currency: str | None = None,
) -> PlanAssignment:
    assignment = PlanAssignment.objects.create(
        partner=partner,
        plan=plan,
        valid_from=valid_from,
        wallet_currency_id=wallet_currency or plan.currency_id,
    )
    differential_check(at=valid_from)
    return assignment


def _version_at(partner_id: int, at: datetime) -> PlanVersion | None:
    assignment = (
        PlanAssignment.objects.filter(partner_id=partner_id, valid_from__lte=at)
        .select_related("plan")
        .order_by("-valid_from")
        .first()
    )
    if assignment is None:
        return None
    return (
        PlanVersion.objects.filter(plan=assignment.plan, valid_from__lte=at)
        .select_related("plan")
        .order_by("-valid_from")
        .first()
    )


def rates_at(*, partner_id: int, at: datetime) -> dict[int, tuple[Decimal, Decimal, Decimal]]:
    """An IB's effective rates per symbol group at a time (its own override, else the plan's)."""
    version = _version_at(partner_id, at)
    if version is None:
        return {}
    found: dict[int, tuple[Decimal, Decimal, Decimal]] = {}
    mine_or_everyone = Q(partner_id=partner_id) | Q(partner__isnull=True)
    for rate in version.rates.filter(mine_or_everyone).order_by("partner_id"):
        if rate.partner_id is None and rate.group_id in found:
            continue  # the IB's own override wins
        found[rate.group_id] = (rate.per_lot, rate.pct_commission, rate.pct_spread)
    return found


def differential_check(*, at: datetime) -> None:
    """In the differential model a child's rate may not exceed its parent's, per symbol group
    (per lot, % of commission, % of spread). Refuses naming the IBs and the group."""
    pairs = PartnerPath.objects.filter(depth=1).values_list("descendant_id", "ancestor_id")
    if not pairs:
        return
    names = dict(Partner.objects.values_list("pk", "name"))
    groups = dict(SymbolGroup.objects.values_list("pk", "name"))
    cache: dict[int, dict[int, tuple[Decimal, Decimal, Decimal]]] = {}
    models: dict[int, str | None] = {}

    def rates(pk: int) -> dict[int, tuple[Decimal, Decimal, Decimal]]:
        if pk not in cache:
            version = _version_at(pk, at)
            models[pk] = version.plan.model if version else None
            cache[pk] = rates_at(partner_id=pk, at=at) if version else {}
        return cache[pk]

    labels = ("rate", "% of commission", "% of spread")
    for child, parent in pairs:
        child_rates, parent_rates = rates(child), rates(parent)
        if models.get(child) != CommissionPlan.Model.DIFFERENTIAL or not parent_rates:
            continue
        for group_id, values in child_rates.items():
            ceiling = parent_rates.get(group_id, (Decimal(0),) * 3)
            for label, mine, theirs in zip(labels, values, ceiling, strict=True):
                if mine > theirs:
                    raise CommissionError(
                        f"{names[child]}'s {groups[group_id]} {label} {mine:.2f} exceeds its "
                        f"parent {names[parent]}'s {theirs:.2f}."
                    )


# --- runs ------------------------------------------------------------------------------------


def _house_currency() -> str:
    from django.conf import settings

    return str(getattr(settings, "BASE_CURRENCY", "USD"))


def _pay(*, run: CommissionRun, batch: int) -> int:
    """One ledger batch for the payouts of one run batch: commission_expense -> IB wallet (or
    back, for a negative adjustment), one posting per IB and wallet currency, keyed by them."""
    from wallets.ledger.services import (
        Leg,
        TransferRequest,
        house_account,
        ledger_transfer_many,
        wallet_for_ib,
    )
    from wallets.models import LedgerAccount

    payouts = list(
        CommissionPayout.objects.filter(run=run, batch=batch, journal_id__isnull=True)
        .exclude(amount=0)
        .order_by("partner_id", "currency")  # wallets locked in one order by every run
    )
    if not payouts:
        return 0
    codes = {f"ib:{p.partner_id}:wallet:{p.currency}": p for p in payouts}
    wallets = {a.code: a for a in LedgerAccount.objects.filter(code__in=list(codes))}
    missing = [p for code, p in codes.items() if code not in wallets]
    if missing:
        names = dict(
            Partner.objects.filter(pk__in=[p.partner_id for p in missing]).values_list("pk", "name")
        )
        # The accounts wallet_for_ib makes, in one statement for a whole run's new IBs.
        LedgerAccount.objects.bulk_create(
            [
                LedgerAccount(
                    code=f"ib:{p.partner_id}:wallet:{p.currency}",
                    name=f"{names[p.partner_id]} · {p.currency} IB wallet",
                    owner_type=LedgerAccount.Owner.IB,
                    ib_id=p.partner_id,
                    kind=LedgerAccount.Kind.IB_WALLET,
                    currency_id=p.currency,
                    no_overdraft=True,
                )
                for p in missing
            ],
            ignore_conflicts=True,
        )
        wallets |= {a.code: a for a in LedgerAccount.objects.filter(code__in=list(codes))}
        for p in missing:  # normally none left
            if f"ib:{p.partner_id}:wallet:{p.currency}" not in wallets:
                account = wallet_for_ib(
                    ib_id=p.partner_id, name=names[p.partner_id], currency=p.currency
                )
                wallets[account.code] = account
    expense = {
        currency: house_account(kind=LedgerAccount.Kind.COMMISSION_EXPENSE, currency=currency)
        for currency in {p.currency for p in payouts}
    }
    requests = []
    for code, p in codes.items():
        wallet, cost = wallets[code], expense[p.currency]
        amount = abs(p.amount)
        legs = (
            [Leg(cost, "D", amount), Leg(wallet, "C", amount)]
            if p.amount > 0
            else [Leg(wallet, "D", amount), Leg(cost, "C", amount)]
        )
        requests.append(
            TransferRequest(
                source=SOURCE,
                key=f"run:{run.pk}:{batch}:ib:{p.partner_id}:{p.currency}",
                legs=legs,
                memo=f"IB commission, {run.get_kind_display().lower()} run {run.pk}: "
                f"{p.lines} lines",
                metadata={"run": run.pk, "batch": batch, "lines": p.lines},
            )
        )
    postings = ledger_transfer_many(requests=requests)
    for p, posting in zip(codes.values(), postings, strict=True):
        p.journal_id = posting.journal_id
    CommissionPayout.objects.bulk_update(list(codes.values()), ["journal_id"])
    return len(postings)


def _finish(run: CommissionRun, *, error: str = "") -> CommissionRun:
    from django.db.models import Count, Sum

    totals = CommissionPayout.objects.filter(run=run).aggregate(
        total=Sum("amount"), paid=Count("pk")
    )
    run.total = totals["total"] or Decimal(0)
    run.payouts = totals["paid"] or 0
    run.status = CommissionRun.Status.FAILED if error else CommissionRun.Status.DONE
    run.error = error
    run.progress = 100 if not error else run.progress
    run.finished_at = timezone.now()
    run.save()
    return run


Batch = tuple[str, dict[str, Any]]


def _run_batch(*, run: CommissionRun, number: int, where: str, params: dict[str, Any]) -> Any:
    """One batch, one transaction: its lines, its payout rows and the ledger batch paying
    them."""
    from django.db import IntegrityError

    for on_conflict in (False, True):
        try:
            with transaction.atomic():
                result = engine.compute_lines(
                    where=where,
                    params=params,
                    run_id=run.pk,
                    batch=number,
                    currency=_house_currency(),
                    on_conflict=on_conflict,
                )
                _pay(run=run, batch=number)
            return result
        except IntegrityError:
            if on_conflict:
                raise
            # A concurrent run committed lines of these deals first: once more, skipping them.
    raise AssertionError("unreachable")


def _tally(run: CommissionRun, seen: int, flagged: int, lines: int, done: int, count: int) -> None:
    run.deals_seen += seen
    run.deals_flagged += flagged
    run.lines_created += lines
    run.progress = min(99, int(100 * done / max(count, 1)))
    run.save(update_fields=["deals_seen", "deals_flagged", "lines_created", "progress"])


def _run_batches(
    *, run: CommissionRun, batches: Iterable[Batch], count: int, workers: int = 1
) -> CommissionRun:
    try:
        if workers > 1 and count > 1 and not connection.in_atomic_block:
            _run_forked(run=run, batches=list(batches), workers=workers)
        else:
            for number, (where, params) in enumerate(batches):
                result = _run_batch(run=run, number=number, where=where, params=params)
                _tally(
                    run, result.deals_seen, result.deals_flagged, result.lines, number + 1, count
                )
    except Exception as exc:
        _finish(run, error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    return _finish(run)


def _run_forked(*, run: CommissionRun, batches: list[Batch], workers: int) -> None:
    """The batches over `workers` forked processes (worker i takes batches i, i + workers,
    ...), each with its own connection, each batch its own transaction as in one process.
    Safe to overlap: batches hold disjoint deals (disjoint lines, FlaggedDeal rows and
    payout rows, which are keyed by batch) and each batch's ledger posting locks the IB
    wallets in ascending id order, so two batches wait on each other but never deadlock.
    The accounts every batch may create (IB wallets, the expense account) are made first,
    here, so no two workers race to create one. Not from a daemonic process (Celery's
    prefork children may fork, but the run there uses one worker unless asked)."""
    import json
    import os

    from django.db import connections

    from wallets.ledger.services import house_account
    from wallets.models import LedgerAccount

    _open_wallets(run)
    for currency in PlanAssignment.objects.values_list("wallet_currency_id", flat=True).distinct():
        house_account(kind=LedgerAccount.Kind.COMMISSION_EXPENSE, currency=currency)
    house_account(kind=LedgerAccount.Kind.COMMISSION_EXPENSE, currency=_house_currency())
    connections.close_all()  # a forked child must not share the parent's socket
    children: list[tuple[int, int]] = []
    for worker in range(workers):
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child; its work is checked by the parent
            code = 0
            os.close(read_end)
            try:
                out: list[list[int]] = []
                for number in range(worker, len(batches), workers):
                    where, params = batches[number]
                    r = _run_batch(run=run, number=number, where=where, params=params)
                    out.append([r.deals_seen, r.deals_flagged, r.lines])
                message = json.dumps({"ok": out})
            except BaseException as exc:  # noqa: BLE001  (reported to the parent)
                message, code = json.dumps({"error": f"{type(exc).__name__}: {exc}"}), 1
            finally:
                connections.close_all()
            with os.fdopen(write_end, "w") as pipe:
                pipe.write(message)
            os._exit(code)
        os.close(write_end)
        children.append((pid, read_end))
    errors: list[str] = []
    done = 0
    for pid, read_end in children:
        with os.fdopen(read_end) as pipe:
            text = pipe.read()
        os.waitpid(pid, 0)
        reply: dict[str, Any] = json.loads(text) if text else {"error": "a worker process died"}
        if "error" in reply:
            errors.append(reply["error"])
            continue
        for seen, flagged, lines in reply["ok"]:
            done += 1
            _tally(run, seen, flagged, lines, done, len(batches))
    if errors:
        raise CommissionError("; ".join(errors))


def _open_wallets(run: CommissionRun) -> None:
    """The IB wallets of every assigned IB that has none yet, in one statement."""
    from wallets.models import LedgerAccount

    wanted = {
        (partner_id, currency, name)
        for partner_id, currency, name in PlanAssignment.objects.values_list(
            "partner_id", "wallet_currency_id", "partner__name"
        )
    }
    LedgerAccount.objects.bulk_create(
        [
            LedgerAccount(
                code=f"ib:{partner_id}:wallet:{currency}",
                name=f"{name} · {currency} IB wallet",
                owner_type=LedgerAccount.Owner.IB,
                ib_id=partner_id,
                kind=LedgerAccount.Kind.IB_WALLET,
                currency_id=currency,
                no_overdraft=True,
            )
            for partner_id, currency, name in sorted(wanted)
        ],
        ignore_conflicts=True,
    )


def commission_run_deals(*, server_id: int, tickets: Sequence[int]) -> CommissionRun:
    """The deal consumer (settings.DEAL_CONSUMERS): new closing deals of one server, plus the
    opening deals of their positions (for plans counting the opening deal). Idempotent."""
    run = CommissionRun.objects.create(
        kind=CommissionRun.Kind.DEALS, label=f"{len(tickets)} new deals of server {server_id}"
    )
    where = (
        "d.server_id = %(server)s AND (d.ticket = ANY(%(tickets)s) OR (d.entry = 0 AND "
        "(d.login, d.position_id) IN (SELECT c.login, c.position_id FROM clients_deal c "
        "WHERE c.server_id = %(server)s AND c.ticket = ANY(%(tickets)s) AND c.position_id <> 0)))"
    )
    params = {"server": server_id, "tickets": list(tickets)}
    return _run_batches(run=run, batches=[(where, params)], count=1)


def commission_run_period(
    *,
    start: datetime,
    end: datetime,
    batch_size: int = BATCH_SIZE,
    label: str = "",
    workers: int = 1,
) -> CommissionRun:
    """Every deal of [start, end), in batches of deal ids (one transaction each). Re-running a
    period writes nothing new: lines are unique per (deal, IB, level). `workers` > 1 runs
    the batches in that many forked processes (outside a transaction only; see
    _run_forked)."""
    run = CommissionRun.objects.create(
        kind=CommissionRun.Kind.PERIOD,
        label=label or f"{start:%Y-%m-%d} to {end:%Y-%m-%d}",
        period_start=start,
        period_end=end,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT min(id), max(id) FROM clients_deal WHERE time >= %s AND time < %s", [start, end]
        )
        low, high = cursor.fetchone()
    if low is None:
        return _finish(run)
    bounds = list(range(low, high + 1, batch_size))
    where = "d.time >= %(start)s AND d.time < %(end)s AND d.id >= %(lo)s AND d.id < %(hi)s"
    batches = (
        (where, {"start": start, "end": end, "lo": lo, "hi": lo + batch_size}) for lo in bounds
    )
    return _run_batches(run=run, batches=batches, count=len(bounds), workers=workers)


def run_closing_deals(*, server_id: int, tickets: list[int]) -> None:
    """settings.DEAL_CONSUMERS entry point (clients.tasks.closing_deals_ready calls it)."""
    commission_run_deals(server_id=server_id, tickets=tickets)


# --- adjustments (recompute, disputes) ---------------------------------------------------------

# A (deal, IB, level) that never had a line (the consumer missed the deal, or a level was
# added) is written as a `deal` line, not an adjustment: the run's NEW_ONLY skip and the
# unique (deal, IB, level) index look only at deal lines, so a later run of the period sees
# the deal as paid. If a concurrent run commits that line first, ON CONFLICT leaves it to it.
ADJUST_SQL = """
WITH ins AS (
  INSERT INTO commissions_commissionline ({columns})
  SELECT CASE WHEN l.pref = 1 THEN 'deal' ELSE 'adjustment' END, %(run)s, r.deal_id,
         l.client_id, r.partner_id, r.level, l.deal_time,
         l.plan_version_id, l.symbol, l.group_id, l.lots, l.modifier, l.tier_multiplier,
         r.expected, r.paid, r.expected - r.paid, r.currency, l.fx_rate,
         round((r.expected - r.paid) * l.fx_rate, wc.exponent), l.wallet_currency,
         'recompute ' || %(recompute)s || ': now ' || r.expected || ', paid ' || r.paid
           || ' = ' || (r.expected - r.paid) || ' ' || r.currency
           || CASE WHEN r.expected_formula <> '' THEN ' (' || r.expected_formula || ')' ELSE ''
              END,
         %(reason)s, now()
  FROM commissions_recomputediff r
  JOIN LATERAL (
    SELECT * FROM (
      SELECT x.client_id, x.deal_time, x.plan_version_id, x.symbol, x.group_id, x.lots,
             x.modifier, x.tier_multiplier, x.fx_rate, x.wallet_currency, 0 AS pref
      FROM commissions_commissionline x
      WHERE x.deal_id = r.deal_id AND x.partner_id = r.partner_id AND x.level = r.level
      UNION ALL
      SELECT x.client_id, x.time, x.version_id, x.symbol, x.group_id, x.lots, x.modifier,
             x.mult, x.fx, x.wcur, 1
      FROM _cm_expected x
      WHERE x.deal_id = r.deal_id AND x.partner_id = r.partner_id AND x.level = r.level
    ) o ORDER BY pref LIMIT 1
  ) l ON true
  JOIN wallets_currency wc ON wc.code = l.wallet_currency
  WHERE r.recompute_id = %(recompute)s
  ON CONFLICT (deal_id, partner_id, level) WHERE kind = 'deal' DO NOTHING
  RETURNING partner_id, wallet_currency, wallet_amount
)
INSERT INTO commissions_commissionpayout (run_id, batch, partner_id, currency, amount, lines)
SELECT %(run)s, 0, partner_id, wallet_currency, sum(wallet_amount), count(*)
FROM ins GROUP BY partner_id, wallet_currency
"""

DIFF_SQL = """
INSERT INTO {table}
  (recompute_id, deal_id, partner_id, level, paid, expected, currency, expected_formula)
SELECT %(recompute)s, coalesce(e.deal_id, p.deal_id), coalesce(e.partner_id, p.partner_id),
       coalesce(e.level, p.level), coalesce(p.paid, 0), coalesce(e.amount, 0),
       coalesce(e.currency, p.currency), coalesce(e.formula, '')
FROM (SELECT deal_id, partner_id, level, amount, currency, formula FROM _cm_dry) e
FULL JOIN (
  SELECT deal_id, partner_id, level, sum(amount) AS paid, min(currency) AS currency
  FROM commissions_commissionline
  WHERE deal_id IS NOT NULL AND kind IN ('deal', 'adjustment')
    AND deal_time >= %(start)s AND deal_time < %(end)s
  GROUP BY deal_id, partner_id, level
) p ON p.deal_id = e.deal_id AND p.partner_id = e.partner_id AND p.level = e.level
WHERE coalesce(e.amount, 0) <> coalesce(p.paid, 0)
"""


@transaction.atomic
def recompute_dry_run(*, start: datetime, end: datetime, actor: User | None) -> Recompute:
    """What the rules say now for every deal of [start, end), against what was paid, line by
    line. Writes only the Recompute and its diff rows; nothing is paid."""
    recompute = Recompute.objects.create(period_start=start, period_end=end, requested_by=actor)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE _cm_dry (LIKE commissions_commissionline INCLUDING DEFAULTS "
            "INCLUDING IDENTITY) ON COMMIT DROP"
        )
        cursor.execute(
            "CREATE UNIQUE INDEX ON _cm_dry (deal_id, partner_id, level) WHERE kind = 'deal'"
        )
    engine.compute_lines(
        where="d.time >= %(start)s AND d.time < %(end)s",
        params={"start": start, "end": end},
        run_id=0,
        table="_cm_dry",
        currency=_house_currency(),
    )
    with connection.cursor() as cursor:
        cursor.execute(
            DIFF_SQL.format(table="commissions_recomputediff"),
            {"recompute": recompute.pk, "start": start, "end": end},
        )
        cursor.execute(
            "SELECT count(*), coalesce(sum(expected - paid), 0) FROM commissions_recomputediff "
            "WHERE recompute_id = %s",
            [recompute.pk],
        )
        recompute.diff_lines, recompute.diff_total = cursor.fetchone()
        cursor.execute("DROP TABLE _cm_dry")
    recompute.save(update_fields=["diff_lines", "diff_total"])
    return recompute


# The stored diff against the one computed again at approval: any (deal, IB, level) whose
# paid or expected amount is not the same both ways.
STALE_SQL = """
SELECT count(*) FROM (
  (SELECT deal_id, partner_id, level, paid, expected, currency FROM commissions_recomputediff
   WHERE recompute_id = %(recompute)s
   EXCEPT SELECT deal_id, partner_id, level, paid, expected, currency FROM _cm_now)
  UNION ALL
  (SELECT deal_id, partner_id, level, paid, expected, currency FROM _cm_now
   EXCEPT SELECT deal_id, partner_id, level, paid, expected, currency
   FROM commissions_recomputediff WHERE recompute_id = %(recompute)s)
) z
"""


@transaction.atomic
def recompute_approve(*, recompute: Recompute, actor: User, reason: str) -> CommissionRun:
    """Post the diff as adjustment lines (never editing a line) and pay them. Needs a reason;
    the approver holds change_partners (checked by the view).

    One approval at a time (a transaction-level advisory lock), and only if the diff computed
    again now, against the lines as they are, is still the one the dry run showed: otherwise
    something was paid since (a run, another recompute, a dispute) and staff dry-run again.
    Approving marks every other draft overlapping the period superseded."""
    if not reason.strip():
        raise CommissionError("Say why these adjustments are posted.")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('commissions.recompute'))")
    locked = Recompute.objects.select_for_update().get(pk=recompute.pk)
    if locked.status == Recompute.Status.SUPERSEDED:
        raise CommissionError(
            "Another recompute of this period was approved after this dry run. "
            "Run a new dry run and approve that one."
        )
    if locked.status != Recompute.Status.DRAFT:
        raise CommissionError("This recompute was already decided.")
    run = CommissionRun.objects.create(
        kind=CommissionRun.Kind.RECOMPUTE,
        label=f"recompute {locked.pk}: {reason}"[:200],
        period_start=locked.period_start,
        period_end=locked.period_end,
    )
    period = {"start": locked.period_start, "end": locked.period_end}
    # The expected lines again (deterministic), to check the diff and describe lines never
    # paid before.
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE _cm_dry (LIKE commissions_commissionline INCLUDING DEFAULTS "
            "INCLUDING IDENTITY) ON COMMIT DROP"
        )
        cursor.execute(
            "CREATE UNIQUE INDEX ON _cm_dry (deal_id, partner_id, level) WHERE kind = 'deal'"
        )
    engine.compute_lines(
        where="d.time >= %(start)s AND d.time < %(end)s",
        params=period,
        run_id=0,
        table="_cm_dry",
        currency=_house_currency(),
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE _cm_now (recompute_id bigint, deal_id bigint, partner_id bigint, "
            "level integer, paid numeric, expected numeric, currency text, "
            "expected_formula text) ON COMMIT DROP"
        )
        cursor.execute(DIFF_SQL.format(table="_cm_now"), {"recompute": locked.pk, **period})
        cursor.execute(STALE_SQL, {"recompute": locked.pk})
        (changed,) = cursor.fetchone()
        cursor.execute("DROP TABLE _cm_now")
    if changed:
        raise CommissionError(
            f"{changed} line(s) of this period were paid or changed since this dry run, so "
            "its differences are no longer what would be posted. Nothing was posted: run a "
            "new dry run and approve that one."
        )
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE _cm_expected ON COMMIT DROP AS SELECT deal_id, partner_id, level, "
            "client_id, deal_time AS time, plan_version_id AS version_id, symbol, group_id, lots, "
            "modifier, tier_multiplier AS mult, fx_rate AS fx, wallet_currency AS wcur "
            "FROM _cm_dry"
        )
        cursor.execute(
            ADJUST_SQL.format(columns=engine.LINE_COLUMNS),
            {"run": run.pk, "recompute": locked.pk, "reason": reason[:300]},
        )
        cursor.execute("DROP TABLE _cm_expected")
        cursor.execute("DROP TABLE _cm_dry")
    _pay_or_refuse(run=run)
    run.lines_created = CommissionLine.objects.filter(run=run).count()
    _finish(run)
    locked.status = Recompute.Status.APPROVED
    locked.approved_by = actor
    locked.reason = reason[:300]
    locked.run = run
    locked.save(update_fields=["status", "approved_by", "reason", "run"])
    Recompute.objects.filter(
        status=Recompute.Status.DRAFT,
        period_start__lt=locked.period_end,
        period_end__gt=locked.period_start,
    ).exclude(pk=locked.pk).update(status=Recompute.Status.SUPERSEDED)
    return run


def _pay_or_refuse(*, run: CommissionRun) -> None:
    """_pay(run, batch 0), or a CommissionError naming the IB whose wallet can't cover a
    clawback (IB wallets never go below zero). The ledger refused inside a savepoint, so the
    caller's transaction is still usable and rolls back as a whole on the error."""
    from wallets.ledger.exceptions import InsufficientFunds, LedgerError
    from wallets.ledger.services import currency_exponent, from_minor
    from wallets.models import LedgerAccount

    try:
        _pay(run=run, batch=0)
    except InsufficientFunds as error:
        for payout in CommissionPayout.objects.filter(run=run, batch=0, amount__lt=0).order_by(
            "partner_id", "currency"
        ):
            account = LedgerAccount.objects.filter(
                code=f"ib:{payout.partner_id}:wallet:{payout.currency}"
            ).first()
            held = (
                account.credits_posted - account.debits_posted - account.debits_pending
                if account
                else 0
            )
            holds = from_minor(max(held, 0), payout.currency)
            clawback = (-payout.amount).quantize(
                Decimal(1).scaleb(-currency_exponent(payout.currency))
            )
            if holds < clawback:
                name = Partner.objects.filter(pk=payout.partner_id).values_list("name", flat=True)
                raise CommissionError(
                    f"{name.first()}'s wallet holds {holds} {payout.currency}; the "
                    f"{clawback} {payout.currency} clawback can't be taken: it was "
                    "already paid out. Nothing was posted."
                ) from error
        raise CommissionError(f"The ledger refused the payment: {error.message}") from error
    except LedgerError as error:
        raise CommissionError(f"The ledger refused the payment: {error.message}") from error


def dispute_open(
    *, partner: Partner, message: str, line: CommissionLine | None = None, period: str = ""
) -> Dispute:
    if not message.strip():
        raise CommissionError("Tell us what looks wrong.")
    if line is not None and line.partner_id != partner.pk:
        raise CommissionError("You can only dispute your own commission lines.")
    if line is None and not period:
        raise CommissionError("Pick a commission line or a statement to dispute.")
    return Dispute.objects.create(partner=partner, line=line, period=period, message=message)


@transaction.atomic
def dispute_resolve(
    *,
    dispute: Dispute,
    actor: User,
    accept: bool,
    reason: str,
    adjustment: Decimal | None = None,
) -> Dispute:
    """Accept (with an adjustment amount in the line's or the plan's currency, posted as an
    adjustment line and paid) or reject; both with a reason."""
    if not reason.strip():
        raise CommissionError("Give the partner a reason.")
    locked = Dispute.objects.select_for_update().get(pk=dispute.pk)
    if locked.status != Dispute.Status.OPEN:
        raise CommissionError("This dispute was already resolved.")
    if accept and adjustment:
        _dispute_adjust(locked, adjustment, reason)
    locked.status = Dispute.Status.ACCEPTED if accept else Dispute.Status.REJECTED
    locked.resolution = reason
    locked.adjustment = adjustment if accept else None
    locked.resolved_by = actor
    locked.resolved_at = timezone.now()
    locked.save()
    return locked


def _dispute_adjust(dispute: Dispute, amount: Decimal, reason: str) -> None:
    from wallets.ledger.services import currency_exponent

    run = CommissionRun.objects.create(
        kind=CommissionRun.Kind.DISPUTE, label=f"dispute {dispute.pk}"
    )
    line = dispute.line
    if line is not None:
        currency, fx, wallet_currency = line.currency, line.fx_rate, line.wallet_currency
    else:
        assignment = (
            PlanAssignment.objects.filter(partner=dispute.partner)
            .select_related("plan")
            .order_by("-valid_from")
            .first()
        )
        currency = assignment.plan.currency_id if assignment else _house_currency()
        wallet_currency = assignment.wallet_currency_id if assignment else currency
        fx = _fx(currency, wallet_currency)
    step = Decimal(1).scaleb(-currency_exponent(wallet_currency))
    wallet_amount = (amount * fx).quantize(step)
    CommissionLine.objects.create(
        kind=CommissionLine.Kind.ADJUSTMENT,
        run=run,
        deal_id=line.deal_id if line else None,
        client_id=line.client_id if line else None,
        partner=dispute.partner,
        level=line.level if line else 0,
        deal_time=line.deal_time if line else timezone.now(),
        plan_version_id=line.plan_version_id if line else None,
        symbol=line.symbol if line else "",
        amount=amount,
        currency=currency,
        fx_rate=fx,
        wallet_amount=wallet_amount,
        wallet_currency=wallet_currency,
        formula_text=f"dispute {dispute.pk} accepted: {amount} {currency}",
        adjusts=line,
        reason=reason[:300],
    )
    CommissionPayout.objects.create(
        run=run,
        partner=dispute.partner,
        currency=wallet_currency,
        amount=wallet_amount,
        lines=1,
    )
    _pay_or_refuse(run=run)
    run.lines_created = 1
    _finish(run)


def _fx(base: str, quote: str) -> Decimal:
    from wallets.models import FxRate

    if base == quote:
        return Decimal(1)
    rate = (
        FxRate.objects.filter(base_id=base, quote_id=quote).values_list("rate", flat=True).first()
    )
    if rate is None:
        raise CommissionError(f"No FX rate is recorded for {base}->{quote}.")
    return rate


# --- CPA -------------------------------------------------------------------------------------

CPA_SQL = """
WITH first_deposit AS (
  SELECT DISTINCT ON (a.client_id) a.client_id, e.amount, a.currency_id AS cur, j.created_at AS at
  FROM wallets_ledgeraccount a
  JOIN wallets_entry e ON e.account_id = a.id AND e.direction = 'C' AND e.phase = 'posted'
  JOIN wallets_journal j ON j.id = e.journal_id
  WHERE a.kind = 'wallet' AND a.client_id IS NOT NULL
  ORDER BY a.client_id, e.id
), candidates AS (
  SELECT f.client_id, at.partner_id, v.id AS version_id, r.amount AS cpa, r.min_deposit,
         r.min_lots, r.within_days, f.at AS deposit_at,
         f.amount::numeric / power(10::numeric, cu.exponent) AS deposit, pl.currency_id AS cur,
         asg.wallet_currency_id AS wcur
  FROM first_deposit f
  JOIN wallets_currency cu ON cu.code = f.cur
  JOIN partners_attribution at ON at.client_id = f.client_id AND at.valid_from <= f.at
       AND (at.valid_to IS NULL OR f.at < at.valid_to)
  JOIN LATERAL (SELECT * FROM commissions_planassignment x WHERE x.partner_id = at.partner_id
       AND x.valid_from <= f.at ORDER BY x.valid_from DESC LIMIT 1) asg ON true
  JOIN commissions_commissionplan pl ON pl.id = asg.plan_id
  JOIN LATERAL (SELECT * FROM commissions_planversion y WHERE y.plan_id = pl.id
       AND y.valid_from <= f.at ORDER BY y.valid_from DESC LIMIT 1) v ON true
  JOIN commissions_cparule r ON r.version_id = v.id
  WHERE f.cur = pl.currency_id
    AND NOT EXISTS (SELECT 1 FROM commissions_cpaqualification q WHERE q.client_id = f.client_id)
), qualified AS (
  SELECT c.*, coalesce((
    SELECT sum(d.volume_ext::numeric / 100000000) FROM clients_deal d
    JOIN clients_tradingaccount ta ON ta.server_id = d.server_id AND ta.login = d.login
    WHERE ta.client_id = c.client_id AND d.action IN (0, 1) AND d.entry IN (1, 2, 3)
      AND d.time >= c.deposit_at AND d.time < c.deposit_at + make_interval(days => c.within_days)
      AND d.time <= %(now)s), 0) AS lots
  FROM candidates c WHERE c.deposit >= c.min_deposit
), q AS (
  INSERT INTO commissions_cpaqualification
    (client_id, partner_id, plan_version_id, first_deposit, first_deposit_at, lots, qualified_at)
  SELECT client_id, partner_id, version_id, deposit, deposit_at, lots, %(now)s
  FROM qualified WHERE lots >= min_lots
  ON CONFLICT (client_id) DO NOTHING
  RETURNING client_id
), ins AS (
  INSERT INTO commissions_commissionline ({columns})
  SELECT 'cpa', %(run)s, NULL, x.client_id, x.partner_id, 0, x.deposit_at, x.version_id, '',
         NULL, x.lots, 1, 1, x.cpa, 0, x.cpa, x.cur, fx.rate,
         round(x.cpa * fx.rate, wc.exponent), x.wcur,
         'CPA ' || x.cpa || ' ' || x.cur || ' once: first deposit ' || trim_scale(x.deposit)
           || ' >= ' || trim_scale(x.min_deposit) || ' and ' || trim_scale(x.lots)
           || ' lots >= ' || trim_scale(x.min_lots) || ' within ' || x.within_days || ' days',
         '', now()
  FROM qualified x JOIN q ON q.client_id = x.client_id
  JOIN wallets_currency wc ON wc.code = x.wcur
  CROSS JOIN LATERAL (SELECT CASE WHEN x.wcur = x.cur THEN 1 ELSE (SELECT rate FROM
       wallets_fxrate WHERE base_id = x.cur AND quote_id = x.wcur) END AS rate) fx
  ON CONFLICT (client_id, partner_id) WHERE kind = 'cpa' DO NOTHING
  RETURNING partner_id, wallet_currency, wallet_amount
)
INSERT INTO commissions_commissionpayout (run_id, batch, partner_id, currency, amount, lines)
SELECT %(run)s, 0, partner_id, wallet_currency, sum(wallet_amount), count(*)
FROM ins GROUP BY partner_id, wallet_currency
"""


@transaction.atomic
def cpa_qualify(*, now: datetime | None = None) -> CommissionRun:
    """Pay the CPA of every client who qualified (first deposit >= X and >= Y lots within Z
    days of it), once per client: the qualification event is stored with its figures."""
    now = now or timezone.now()
    run = CommissionRun.objects.create(kind=CommissionRun.Kind.CPA, label="CPA qualification")
    with connection.cursor() as cursor:
        cursor.execute(CPA_SQL.format(columns=engine.LINE_COLUMNS), {"run": run.pk, "now": now})
    _pay(run=run, batch=0)
    run.lines_created = CommissionLine.objects.filter(run=run).count()
    return _finish(run)


def month_bounds(period: str) -> tuple[datetime, datetime]:
    """'2026-11' -> [2026-11-01, 2026-12-01) in UTC; CommissionError if malformed."""
    from datetime import UTC

    try:
        start = datetime.strptime(period, "%Y-%m").replace(tzinfo=UTC)
    except ValueError:
        raise CommissionError(f"{period!r} is not a month like 2026-11.") from None
    end = (start + timedelta(days=32)).replace(day=1)
    return start, end
