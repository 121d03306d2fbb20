"""Demo commission plans for the demo brokerage (shared/DEMO.md): symbol groups, the spread
markup on EURUSD, a differential plan per level of Atlas -> Harbor -> Kite, a CPA plan for
Solstice, and a run over the last 35 days. Idempotent: a second call changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from partners.commissions import services
from partners.commissions.models import (
    CommissionPlan,
    PlanAssignment,
    SymbolGroup,
    SymbolMarkup,
)
from partners.models import Partner

SINCE = datetime(2026, 1, 1, tzinfo=UTC)
GROUPS = [
    ("fx", "FX", "EURUSD, GBPUSD, USDJPY, EUR*, GBP*, USD*, AUD*, NZD*", "1", 0),
    ("metals", "Metals", "XAU*, XAG*", "1", 5),
    ("indices", "Indices", "US30, NAS100, GER40, UK100", "0.4", 5),
    ("crypto", "Crypto", "BTC*, ETH*", "1", 5),
]
# (partner name, plan, per-lot rate per group: fx, metals, indices, crypto)
LEVEL_PLANS = [
    ("Atlas Partners", "Master IB", ("10", "12", "6", "8")),
    ("Harbor Trading Club", "Sub-IB", ("7", "9", "4", "6")),
    ("Kite FX Academy", "Sub-sub-IB", ("4", "5", "2", "3")),
]


def seed() -> None:
    groups = {}
    for code, name, patterns, modifier, priority in GROUPS:
        groups[code], _ = SymbolGroup.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "patterns": patterns,
                "lot_modifier": Decimal(modifier),
                "priority": priority,
            },
        )
    SymbolMarkup.objects.get_or_create(
        symbol="EURUSD", defaults={"markup_pips": Decimal("0.8"), "pip_value": Decimal(10)}
    )
    for partner_name, plan_name, rates in LEVEL_PLANS:
        plan = _plan(plan_name, CommissionPlan.Model.DIFFERENTIAL)
        if not plan.versions.exists():
            services.plan_version_new(
                plan=plan,
                valid_from=SINCE,
                rates=[
                    {"group": groups[code], "per_lot": Decimal(rate), "pct_spread": Decimal(10)}
                    for code, rate in zip(("fx", "metals", "indices", "crypto"), rates, strict=True)
                ],
                note="demo",
            )
        _assign(partner_name, plan)
    cpa = _plan("CPA 200", CommissionPlan.Model.DIFFERENTIAL)
    if not cpa.versions.exists():
        services.plan_version_new(
            plan=cpa,
            valid_from=SINCE,
            cpa={
                "amount": Decimal(200),
                "min_deposit": Decimal(500),
                "min_lots": Decimal(1),
                "within_days": 30,
            },
            note="demo: $200 once per qualified client",
        )
    _assign("Solstice Affiliates", cpa)
    now = timezone.now()
    services.commission_run_period(start=now - timedelta(days=35), end=now, label="demo")
    services.cpa_qualify(now=now)


def _plan(name: str, model: str) -> CommissionPlan:
    plan = CommissionPlan.objects.filter(name=name).first()
    return plan or services.plan_create(name=name, model=model)


def _assign(partner_name: str, plan: CommissionPlan) -> None:
    partner = Partner.objects.filter(name=partner_name).first()
    if partner is not None and not PlanAssignment.objects.filter(partner=partner).exists():
        services.plan_assign(partner=partner, plan=plan, valid_from=SINCE)
