"""Back-office pages of the risk score: the queue (open alerts, high-risk clients awaiting a
senior decision, clients per band), an assessment and its decision, an alert and its
decision, and running an assessment by hand."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render

from brokerage.http import AuthedHttpRequest
from brokerage.permissions import backoffice_view
from clients.selectors import client_get_for_user
from kyc.riskscore import selectors
from kyc.riskscore.exceptions import RiskError
from kyc.riskscore.forms import AlertDecisionForm, ApprovalForm, AssessForm
from kyc.riskscore.models import CountryRisk, MonitoringAlert
from kyc.riskscore.services import (
    DECIDE_PERMISSION,
    assess_client,
    monitoring_alert_decide,
    risk_approval_decide,
)

QUEUE_ROWS = 50
BAND_STATUS = {"low": "ok", "medium": "warn", "high": "bad"}


@backoffice_view("view_kyc")
def overview(request: AuthedHttpRequest) -> HttpResponse:
    bands = selectors.band_counts()
    chart = {
        "title": "Clients per risk band (latest assessment)",
        "labels": [label for _, label, _ in bands],
        "values": [count for _, _, count in bands],
        "unit": "clients",
    }
    pending, alerts = selectors.approvals_pending(), selectors.alert_list()
    return render(
        request,
        "kyc_risk/overview.html",
        {
            # The oldest waiting first; the counts are the whole queues.
            "pending": list(pending[:QUEUE_ROWS]),
            "pending_count": pending.count(),
            "alerts": list(alerts[:QUEUE_ROWS]),
            "alert_count": alerts.count(),
            "queue_rows": QUEUE_ROWS,
            "bands": [(b, label, n, BAND_STATUS[b]) for b, label, n in bands],
            "chart": chart,
        },
    )


@backoffice_view("view_kyc")
def countries(request: AuthedHttpRequest) -> HttpResponse:
    active = selectors.country_risk_version_active()
    groups = []
    if active is not None:
        listed = list(active.entries.all())
        for category in CountryRisk:
            entries = [e for e in listed if e.category == category]
            if entries:
                points = sorted({e.points for e in entries})
                groups.append(
                    (
                        category.label,
                        "/".join(str(p) for p in points),
                        [e.country for e in entries],
                    )
                )
    return render(
        request,
        "kyc_risk/countries.html",
        {"active": active, "groups": groups, "versions": selectors.country_risk_version_list()},
    )


@backoffice_view("view_kyc")
def assessment_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    assessment = selectors.assessment_get(pk=pk)
    approval = selectors.approval_for(assessment=assessment)
    return render(
        request,
        "kyc_risk/assessment_detail.html",
        {
            "assessment": assessment,
            "approval": approval,
            "status_class": BAND_STATUS[assessment.band],
            "can_decide": assessment.needs_approval
            and approval is None
            and request.user.has_perm(DECIDE_PERMISSION)
            and selectors.approver_may_decide(assessment=assessment, user_id=request.user.pk),
            "history": selectors.assessment_history(client=assessment.client),
        },
    )


@backoffice_view("change_kyc")
def assessment_decide(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    assessment = selectors.assessment_get(pk=pk)
    form = ApprovalForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            approval = risk_approval_decide(
                assessment=assessment,
                actor=request.user,
                decision=form.cleaned_data["decision"],
                reason=form.cleaned_data["reason"],
            )
        except RiskError as exc:
            form.add_error(exc.field, exc.message)
        else:
            messages.success(
                request,
                f"High risk {approval.get_decision_display().lower()} for "
                f"{assessment.client.name}.",
            )
            return redirect("kyc_risk:overview")
    return render(
        request,
        "kyc_risk/assessment_decide.html",
        {
            "assessment": assessment,
            "approval": selectors.approval_for(assessment=assessment),
            "form": form,
            "status_class": BAND_STATUS[assessment.band],
            "is_maker": assessment.assessed_by_id == request.user.pk,
        },
    )


@backoffice_view("view_kyc")
def alert_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    alert = selectors.alert_get(pk=pk)
    can_decide = request.user.has_perm(DECIDE_PERMISSION)
    form = AlertDecisionForm(request.POST or None)
    if request.method == "POST":
        if not can_decide:
            raise PermissionDenied("Only compliance officers and administrators decide alerts.")
        if form.is_valid():
            try:
                monitoring_alert_decide(
                    alert=alert,
                    actor=request.user,
                    status=form.cleaned_data["status"],
                    note=form.cleaned_data["note"],
                )
            except RiskError as exc:
                form.add_error(exc.field, exc.message)
            else:
                messages.success(
                    request, f"Alert #{alert.pk} {alert.get_status_display().lower()}."
                )
                return redirect("kyc_risk:overview")
        alert.refresh_from_db()
    return render(
        request,
        "kyc_risk/alert_detail.html",
        {
            "alert": alert,
            "form": form,
            "can_decide": can_decide and alert.status == MonitoringAlert.Status.OPEN,
        },
    )


@backoffice_view("change_kyc")
def client_assess(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    client = client_get_for_user(user=request.user, pk=pk)
    form = AssessForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            assessment = assess_client(client=client, actor=request.user, **form.cleaned_data)
        except RiskError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                f"{client.name}: score {assessment.score}, {assessment.get_band_display()} risk."
                + (" Another senior must approve it." if assessment.needs_approval else ""),
            )
            return redirect("kyc_risk:assessment", pk=assessment.pk)
    return render(
        request,
        "kyc_risk/client_assess.html",
        {"client": client, "form": form, "summary": selectors.risk_summary(client=client)},
    )
