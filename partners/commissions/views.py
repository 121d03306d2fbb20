"""Commission pages: the IB's lines, statements and disputes (partner side, scoped to the IB),
plans, runs, recomputes and disputes (back-office)."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from brokerage.http import AuthedHttpRequest
from brokerage.permissions import backoffice_view, partner_view
from partners.commissions import selectors, services
from partners.commissions.exceptions import CommissionError
from partners.commissions.forms import (
    ApproveForm,
    DisputeForm,
    PayoutForm,
    PlanAssignForm,
    PreviewForm,
    RateForm,
    RecomputeForm,
    ResolveForm,
    VersionForm,
)
from partners.commissions.models import (
    CommissionPlan,
    Dispute,
    FlaggedDeal,
    PlanVersion,
    Recompute,
    SymbolGroup,
)
from partners.commissions.statements import statement_csv, statement_pdf

# --- partner side ----------------------------------------------------------------------------


@partner_view
def line_list(request: AuthedHttpRequest) -> HttpResponse:
    partner = request.user.partner
    period = request.GET.get("period", "")
    start = end = None
    if period:
        try:
            start, end = services.month_bounds(period)
        except CommissionError:
            period = ""
    lines = selectors.lines_for_partner(partner=partner, start=start, end=end)
    page = Paginator(lines, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "commissions/line_list.html",
        {
            "partner": partner,
            "page": page,
            "period": period,
            "wallets": selectors.ib_wallets(partner=partner),
            "months": selectors.statement_periods(partner=partner)[:12],
        },
    )


@partner_view
def line_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    partner = request.user.partner
    line = selectors.line_for_partner(partner=partner, pk=pk)
    form = DisputeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.dispute_open(partner=partner, line=line, message=form.cleaned_data["message"])
        messages.success(request, "Your dispute was sent; staff will answer with a reason.")
        return redirect("commissions:line", pk=line.pk)
    return render(
        request,
        "commissions/line_detail.html",
        {"line": line, "form": form, "disputes": line.disputes.all()},
    )


@partner_view
def statement_list(request: AuthedHttpRequest) -> HttpResponse:
    partner = request.user.partner
    return render(
        request,
        "commissions/statement_list.html",
        {
            "periods": selectors.statement_periods(partner=partner),
            "wallets": selectors.ib_wallets(partner=partner),
            "disputes": selectors.disputes_for_partner(partner=partner)[:20],
        },
    )


def _statement_view(request: AuthedHttpRequest, period: str, fmt: str) -> HttpResponseBase:
    partner = request.user.partner
    statement = selectors.statement(partner=partner, period=period)
    if fmt == "csv":
        return statement_csv(statement)
    if fmt == "pdf":
        return statement_pdf(statement)
    form = DisputeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.dispute_open(partner=partner, period=period, message=form.cleaned_data["message"])
        messages.success(request, f"Your dispute of the {period} statement was sent.")
        return redirect("commissions:statement", period=period)
    page = Paginator(statement.lines, 100).get_page(request.GET.get("page"))
    return render(
        request,
        "commissions/statement.html",
        {"statement": statement, "page": page, "form": form},
    )


@partner_view
def statement_detail(request: AuthedHttpRequest, period: str) -> HttpResponseBase:
    return _statement_view(request, period, "html")


@partner_view
def statement_csv_view(request: AuthedHttpRequest, period: str) -> HttpResponseBase:
    return _statement_view(request, period, "csv")


@partner_view
def statement_pdf_view(request: AuthedHttpRequest, period: str) -> HttpResponseBase:
    return _statement_view(request, period, "pdf")


# --- back-office -----------------------------------------------------------------------------


@backoffice_view("view_partners")
def plan_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "commissions/plan_list.html",
        {"plans": selectors.plan_list(), "groups": SymbolGroup.objects.all()},
    )


@backoffice_view("view_partners")
def plan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    plan = get_object_or_404(CommissionPlan, pk=pk)
    versions = list(plan.versions.prefetch_related("rates__group", "shares", "tiers"))
    groups = list(SymbolGroup.objects.all())
    preview_form = PreviewForm(request.GET or None)
    preview = None
    if "symbol" in request.GET and preview_form.is_valid():
        data = preview_form.cleaned_data
        group, levels = selectors.preview(
            partner=data["partner"],
            symbol=data["symbol"],
            lots=data["lots"],
            commission=data["commission"] or Decimal(0),
            at=timezone.now(),
        )
        preview = {"group": group, "levels": levels, "total": sum(x.amount for x in levels)}
    version_form = VersionForm(None)
    rate_form = RateForm(None)
    if request.method == "POST":
        if not request.user.has_perm("brokerage.change_partners"):
            raise PermissionDenied("Only partner managers may change plans.")
        action = request.POST.get("action")
        try:
            if action == "version":
                version_form = VersionForm(request.POST)
                if version_form.is_valid():
                    latest = versions[0] if versions else None
                    rates = (
                        [
                            {
                                "group": r.group,
                                "partner": r.partner,
                                "per_lot": r.per_lot,
                                "pct_commission": r.pct_commission,
                                "pct_spread": r.pct_spread,
                            }
                            for r in latest.rates.all()
                        ]
                        if latest
                        else []
                    )
                    services.plan_version_new(
                        plan=plan,
                        valid_from=version_form.cleaned_data["valid_from"],
                        rates=rates,
                        shares=[s.share_pct for s in latest.shares.all()] if latest else [],
                        tiers=[(t.metric, t.threshold, t.multiplier) for t in latest.tiers.all()]
                        if latest
                        else [],
                        note=version_form.cleaned_data["note"],
                        actor=request.user,  # type: ignore[arg-type]
                    )
                    messages.success(request, "New version created from the latest rules.")
                    return redirect("commissions:plan", pk=plan.pk)
            elif action == "rate":
                version = get_object_or_404(PlanVersion, plan=plan, pk=request.POST.get("version"))
                rate_form = RateForm(request.POST)
                if rate_form.is_valid():
                    data = rate_form.cleaned_data
                    services.plan_rate_set(
                        version=version,
                        spec={
                            "group": get_object_or_404(SymbolGroup, pk=data["group"]),
                            "per_lot": data["per_lot"],
                            "pct_commission": data["pct_commission"],
                            "pct_spread": data["pct_spread"],
                        },
                    )
                    messages.success(request, "Rate saved.")
                    return redirect("commissions:plan", pk=plan.pk)
        except CommissionError as error:
            messages.error(request, error.message)
    return render(
        request,
        "commissions/plan_detail.html",
        {
            "plan": plan,
            "versions": versions,
            "groups": groups,
            "preview_form": preview_form,
            "preview": preview,
            "version_form": version_form,
            "rate_form": rate_form,
            "assignments": plan.assignments.select_related("partner")[:100],
        },
    )


@backoffice_view("view_partners")
def run_list(request: HttpRequest) -> HttpResponse:
    context = {
        "runs": selectors.run_list(),
        "flagged": FlaggedDeal.objects.order_by("-created_at")[:50],
    }
    return render(request, "commissions/run_list.html", context)


@backoffice_view("view_partners")
def recompute_list(request: HttpRequest) -> HttpResponse:
    form = RecomputeForm(request.POST or None)
    if request.method == "POST":
        if not request.user.has_perm("brokerage.change_partners"):
            raise PermissionDenied("Only partner managers may start a recompute.")
        if form.is_valid():
            start, end = services.month_bounds(form.cleaned_data["period"])
            recompute = services.recompute_dry_run(
                start=start,
                end=end,
                actor=request.user,  # type: ignore[arg-type]
            )
            return redirect("commissions:recompute", pk=recompute.pk)
    return render(
        request,
        "commissions/recompute_list.html",
        {"form": form, "recomputes": Recompute.objects.all()[:50]},
    )


@backoffice_view("view_partners")
def recompute_detail(request: HttpRequest, pk: int) -> HttpResponse:
    recompute = get_object_or_404(Recompute, pk=pk)
    form = ApproveForm(request.POST or None)
    if request.method == "POST":
        if not request.user.has_perm("brokerage.change_partners"):
            raise PermissionDenied("Only partner managers may approve adjustments.")
        if form.is_valid():
            try:
                services.recompute_approve(
                    recompute=recompute,
                    actor=request.user,  # type: ignore[arg-type]
                    reason=form.cleaned_data["reason"],
                )
                messages.success(request, "Adjustments posted and paid.")
                return redirect("commissions:recompute", pk=recompute.pk)
            except CommissionError as error:
                messages.error(request, error.message)
    diffs = recompute.diffs.select_related("partner")[:500]
    return render(
        request,
        "commissions/recompute_detail.html",
        {"recompute": recompute, "diffs": diffs, "form": form},
    )


@backoffice_view("view_partners")
def dispute_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "open")
    disputes = Dispute.objects.select_related("partner", "line")
    if status in Dispute.Status.values:
        disputes = disputes.filter(status=status)
    return render(
        request,
        "commissions/dispute_list.html",
        {"disputes": disputes[:200], "status": status, "statuses": Dispute.Status.choices},
    )


@backoffice_view("view_partners")
def dispute_detail(request: HttpRequest, pk: int) -> HttpResponse:
    dispute = get_object_or_404(Dispute.objects.select_related("partner", "line"), pk=pk)
    form = ResolveForm(request.POST or None)
    if request.method == "POST":
        if not request.user.has_perm("brokerage.change_partners"):
            raise PermissionDenied("Only partner managers may resolve disputes.")
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.dispute_resolve(
                    dispute=dispute,
                    actor=request.user,  # type: ignore[arg-type]
                    accept=data["decision"] == "accept",
                    reason=data["reason"],
                    adjustment=data["adjustment"],
                )
                messages.success(request, "Dispute resolved.")
                return redirect("commissions:dispute", pk=dispute.pk)
            except CommissionError as error:
                messages.error(request, error.message)
    return render(request, "commissions/dispute_detail.html", {"dispute": dispute, "form": form})


@partner_view
def payout(request: AuthedHttpRequest) -> HttpResponse:
    """Commission to the IB's trader's-room wallet, then out through the withdrawal flow."""
    import secrets

    from partners.commissions.payouts import commission_payout_to_wallet

    partner = request.user.partner
    wallets = selectors.ib_wallets(partner=partner)
    form = PayoutForm(
        request.POST or None,
        initial={"token": secrets.token_urlsafe(16)},
        currencies=[w.currency_id for w in wallets],
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            commission_payout_to_wallet(
                partner=partner,
                currency=data["currency"],
                amount=data["amount"],
                token=data["token"],
            )
        except CommissionError as exc:
            form.add_error("amount", exc.message)
        else:
            messages.success(
                request,
                f"{data['amount']} {data['currency']} moved to your wallet. "
                "Request the withdrawal below; finance approves it as for any client.",
            )
            return redirect("withdrawals:withdraw")
    return render(request, "commissions/payout.html", {"form": form, "wallets": wallets})


@backoffice_view("change_partners")
def partner_plan_assign(request: AuthedHttpRequest, pk: int) -> HttpResponseBase:
    """Put an IB on a plan from a moment on (never backwards: past deals keep their plan)."""
    from datetime import timedelta

    from partners.models import Partner

    partner = get_object_or_404(Partner, pk=pk)
    form = PlanAssignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        valid_from = form.cleaned_data["valid_from"]
        if valid_from < timezone.now() - timedelta(minutes=5):
            form.add_error("valid_from", "A plan can't start in the past: past deals keep theirs.")
        else:
            try:
                services.plan_assign(
                    partner=partner, plan=form.cleaned_data["plan"], valid_from=valid_from
                )
            except CommissionError as exc:
                form.add_error("plan", exc.message)
            else:
                messages.success(request, f"{partner.name} moves to {form.cleaned_data['plan']}.")
                return redirect("partners:backoffice-detail", pk=partner.pk)
    return render(request, "commissions/plan_assign.html", {"partner": partner, "form": form})
