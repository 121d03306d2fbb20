"""Reads of the commissions app, scoped to the acting IB where they serve the partner side.
The partner dashboard uses commission_by_day / commission_by_month / recent_lines."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import TruncDay, TruncMonth
from django.http import Http404
from django.utils import timezone

from partners.commissions.models import (
    CommissionLine,
    CommissionPlan,
    CommissionRun,
    Dispute,
    SymbolGroup,
    SymbolMarkup,
)
from partners.models import Partner, PartnerPath


def lines_for_partner(
    *, partner: Partner, start: datetime | None = None, end: datetime | None = None
) -> QuerySet[CommissionLine]:
    lines = CommissionLine.objects.filter(partner=partner)
    if start is not None:
        lines = lines.filter(deal_time__gte=start)
    if end is not None:
        lines = lines.filter(deal_time__lt=end)
    return lines.order_by("-deal_time", "level", "pk")


def line_for_partner(*, partner: Partner, pk: int) -> CommissionLine:
    """The IB's own line, or 404 (another IB's line doesn't exist for them)."""
    line = (
        CommissionLine.objects.filter(partner=partner, pk=pk)
        .select_related("plan_version__plan", "group")
        .first()
    )
    if line is None:
        raise Http404("No such commission line.")
    return line


def recent_lines(*, partner: Partner, limit: int = 10) -> list[CommissionLine]:
    return list(lines_for_partner(partner=partner)[:limit])


def commission_by_day(*, partner: Partner, start: datetime, end: datetime) -> list[Any]:
    return list(
        lines_for_partner(partner=partner, start=start, end=end)
        .annotate(day=TruncDay("deal_time"))
        .values("day", "wallet_currency")
        .annotate(total=Sum("wallet_amount"), lines=Count("pk"))
        .order_by("day")
    )


def commission_by_month(*, partner: Partner, months: int = 12) -> list[Any]:
    return list(
        CommissionLine.objects.filter(partner=partner)
        .annotate(month=TruncMonth("deal_time"))
        .values("month", "wallet_currency")
        .annotate(total=Sum("wallet_amount"), lines=Count("pk"))
        .order_by("-month")[: months * 3]
    )


@dataclass(frozen=True)
class Statement:
    partner: Partner
    period: str
    start: datetime
    end: datetime
    lines: QuerySet[CommissionLine]
    totals: list[Any]


def statement(*, partner: Partner, period: str) -> Statement:
    from partners.commissions.exceptions import CommissionError
    from partners.commissions.services import month_bounds

    try:
        start, end = month_bounds(period)
    except CommissionError:
        raise Http404("No such statement.") from None
    lines = lines_for_partner(partner=partner, start=start, end=end)
    totals = list(
        lines.order_by()
        .values("wallet_currency", "kind")
        .annotate(total=Sum("wallet_amount"), count=Count("pk"))
        .order_by("wallet_currency", "kind")
    )
    return Statement(partner, period, start, end, lines, totals)


def statement_periods(*, partner: Partner) -> list[Any]:
    return list(
        CommissionLine.objects.filter(partner=partner)
        .annotate(month=TruncMonth("deal_time"))
        .values("month", "wallet_currency")
        .annotate(total=Sum("wallet_amount"), count=Count("pk"))
        .order_by("-month")
    )


def ib_wallets(*, partner: Partner) -> list[Any]:
    from wallets.models import LedgerAccount

    return list(LedgerAccount.objects.filter(kind=LedgerAccount.Kind.IB_WALLET, ib_id=partner.pk))


def disputes_for_partner(*, partner: Partner) -> QuerySet[Dispute]:
    return Dispute.objects.filter(partner=partner)


def run_list() -> QuerySet[CommissionRun]:
    return CommissionRun.objects.all()[:200]  # type: ignore[return-value]


def plan_list() -> QuerySet[CommissionPlan]:
    return CommissionPlan.objects.annotate(
        ib_count=Count("assignments__partner", distinct=True)
    ).prefetch_related("versions")


# --- the preview calculator (what each level would earn), in Python, for one deal ----------


def group_for_symbol(symbol: str) -> SymbolGroup | None:
    """The same matching as the run's SQL: patterns with `*`, highest priority first."""
    for group in SymbolGroup.objects.order_by("-priority", "pk"):
        if any(fnmatch.fnmatchcase(symbol.upper(), p) for p in group.pattern_list()):
            return group
    return None


@dataclass(frozen=True)
class PreviewLevel:
    partner: Partner
    level: int
    value: Decimal
    amount: Decimal
    note: str


def preview(
    *,
    partner: Partner,
    symbol: str,
    lots: Decimal,
    commission: Decimal = Decimal(0),
    at: datetime,
) -> tuple[SymbolGroup | None, list[PreviewLevel]]:
    """What a deal of the client of `partner` would pay each level of its tree (no tier)."""
    from partners.commissions.services import _version_at, rates_at

    group = group_for_symbol(symbol)
    if group is None:
        return None, []
    chain = list(
        PartnerPath.objects.filter(descendant=partner).select_related("ancestor").order_by("depth")
    )
    markup = SymbolMarkup.objects.filter(symbol=symbol).first()
    spread = lots * (markup.markup_pips * markup.pip_value if markup else Decimal(0))
    cent = Decimal("0.01")

    def value(ib_id: int) -> tuple[Decimal, Any]:
        version = _version_at(ib_id, at)
        if version is None:
            return Decimal(0), None
        per_lot, pct_c, pct_s = rates_at(partner_id=ib_id, at=at).get(group.pk, (0, 0, 0))
        raw = lots * group.lot_modifier * per_lot + commission * pct_c / 100 + spread * pct_s / 100
        cap = version.plan.per_deal_cap
        if cap is not None:
            raw = min(raw, cap)
        return raw.quantize(cent, ROUND_HALF_UP), version

    base_value, base_version = value(partner.pk)
    levels: list[PreviewLevel] = []
    if base_version is not None and base_version.plan.model == CommissionPlan.Model.CASCADE:
        shares = {s.level: s.share_pct / 100 for s in base_version.shares.all()}
        cum, last = Decimal(1), Decimal(0)
        cums = []
        for level in range(len(chain) + 1):
            cums.append(cum)
            share = shares.get(level, last)
            cum *= share
            last = share
        for path in chain:
            claim = (base_value * cums[path.depth]).quantize(cent, ROUND_HALF_UP)
            top = path.depth == len(chain) - 1
            passed = (
                Decimal(0)
                if top
                else (base_value * cums[path.depth + 1]).quantize(cent, ROUND_HALF_UP)
            )
            levels.append(
                PreviewLevel(
                    path.ancestor,
                    path.depth,
                    claim,
                    claim - passed,
                    "keeps its claim" if top else f"claims {claim}, passes {passed} up",
                )
            )
        return group, levels
    best = Decimal(0)
    for path in chain:
        own, _ = value(path.ancestor_id)
        top_value = max(best, own)
        levels.append(
            PreviewLevel(
                path.ancestor,
                path.depth,
                top_value,
                top_value - best,
                f"{top_value} − the level below's {best}",
            )
        )
        best = top_value
    return group, levels


def commission_chart(*, partner: Partner, months: int = 12) -> dict[str, Any]:
    """Commission earned per month (the last `months`), for the partner dashboard's chart: one
    series in the currency most of it was paid in; the table lists every currency exactly."""
    rows = commission_by_month(partner=partner, months=months)
    currencies: dict[str, Decimal] = {}
    for r in rows:
        currencies[r["wallet_currency"]] = (
            currencies.get(r["wallet_currency"], Decimal(0)) + r["total"]
        )
    currency = max(currencies, key=lambda c: currencies[c]) if currencies else "USD"
    by_month = {r["month"].date(): r["total"] for r in rows if r["wallet_currency"] == currency}
    today = timezone.now().date().replace(day=1)
    labels, values, month = [], [], today
    for _ in range(months):
        labels.append(month.strftime("%b %Y"))
        values.append(float(by_month.get(month, 0)))  # the chart's scale only; the table is exact
        month = (month - timedelta(days=1)).replace(day=1)
    return {
        "title": f"Commission earned per month, {currency}",
        "labels": labels[::-1],
        "values": values[::-1],
        "unit": currency,
        "rows": [(r["month"], r["total"], r["wallet_currency"]) for r in rows],
    }


def plan_assignments(*, partner: Partner) -> list[Any]:
    """The IB's plans, the current one first."""
    from partners.commissions.models import PlanAssignment

    return list(
        PlanAssignment.objects.filter(partner=partner)
        .select_related("plan")
        .order_by("-valid_from")
    )
