from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.vary import vary_on_headers

from brokerage.http import AuthedHttpRequest
from brokerage.permissions import backoffice_view, portal_view
from kyc import selectors, services
from kyc.exceptions import KycError
from kyc.forms import AmlDecisionForm, DecisionForm, QueueFilterForm
from kyc.models import AmlCase, KycCase
from kyc.policy import LEVEL_NAMES, NEXT_STEPS, portal_summary


@portal_view
def verification(request: AuthedHttpRequest) -> HttpResponse:
    client = request.user.client
    case = services.case_for_client(client=client)
    return render(
        request,
        "kyc/verification.html",
        {
            "case": case,
            "level_name": LEVEL_NAMES[case.level],
            "verdicts": portal_summary(client=client),
            "next_steps": NEXT_STEPS.get(case.level, []),
            "upload_parts": _upload_parts(),
        },
    )


def _upload_parts() -> dict[str, str]:
    from django.urls import reverse

    return {"upload": reverse("kyc_documents:portal-documents")}


@backoffice_view("view_kyc")
@vary_on_headers("HX-Request")
def queue(request: AuthedHttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _queue_assign(request)
    filters = QueueFilterForm(request.GET or None)
    data = filters.cleaned_data if filters.is_valid() else {}
    cases = selectors.case_queue(
        user=request.user,
        state=data.get("state", ""),
        assigned=data.get("assigned", ""),
        older_than=data.get("older_than", ""),
        search=(data.get("q") or "").strip(),
    )
    page = Paginator(cases, 25).get_page(request.GET.get("page"))
    template = "kyc/queue.html"
    if request.htmx and not request.htmx.history_restore_request:
        template += "#results"
    return render(
        request,
        template,
        {
            "filters": filters,
            "page": page,
            "now": timezone.now(),
            "old_mark": timezone.now() - timedelta(days=3),
            "staff": selectors.kyc_staff(),
            "can_decide": request.user.has_perm("brokerage.change_kyc"),
        },
    )


def _queue_assign(request: AuthedHttpRequest) -> HttpResponse:
    if not request.user.has_perm("brokerage.change_kyc"):
        raise PermissionDenied("Only compliance staff may assign cases.")
    case_ids = [int(x) for x in request.POST.getlist("cases") if x.isdigit()]
    assignee_id = request.POST.get("assignee", "")
    staff = {u.pk: u for u in selectors.kyc_staff()}
    if (
        not case_ids
        or not assignee_id.isdigit()
        or (int(assignee_id) and int(assignee_id) not in staff)
    ):
        messages.error(request, "Tick at least one case and choose who takes them.")
        return redirect("kyc:queue")
    assignee = staff.get(int(assignee_id))
    try:
        count = services.cases_assign(case_ids=case_ids, assignee=assignee, actor=request.user)
    except KycError as exc:
        messages.error(request, str(exc))
        return redirect("kyc:queue")
    who = assignee.get_full_name() if assignee else "nobody"
    messages.success(request, f"{count} case{'s' if count != 1 else ''} assigned to {who}.")
    return redirect("kyc:queue")


@backoffice_view("view_kyc")
def case_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    case = selectors.case_get_for_user(user=request.user, pk=pk)
    can_decide = request.user.has_perm("brokerage.change_kyc")
    if request.method == "POST" and not can_decide:
        raise PermissionDenied("Only compliance staff may decide verification cases.")
    if request.method == "POST" and "aml_case" in request.POST:
        return _aml_decide(request, case)
    form = DecisionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.case_decide(
                case=case,
                actor=request.user,
                decision=form.cleaned_data["decision"],
                reason=form.cleaned_data.get("reason") or "",
                note=form.cleaned_data.get("note") or "",
                level=form.cleaned_data.get("level") or 1,
            )
        except KycError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Decision recorded; the client has been told.")
            return redirect("kyc:case", pk=case.pk)
    return render(
        request,
        "kyc/case_detail.html",
        {
            "case": case,
            "client": case.client,
            "history": selectors.case_history(case=case),
            "aml_cases": selectors.aml_cases_for(client=case.client),
            "aml_form": AmlDecisionForm(),
            "form": form,
            "can_decide": can_decide,
            "level_name": LEVEL_NAMES[case.level],
            "parts": _case_parts(request, case),
        },
    )


def _case_parts(request: AuthedHttpRequest, case: KycCase) -> dict[str, object]:
    """What the other KYC parts show on the case page (documents, screening, risk)."""
    from kyc import case_parts

    return case_parts.for_case(user=request.user, case=case)


def _aml_decide(request: AuthedHttpRequest, case: KycCase) -> HttpResponse:
    aml = get_object_or_404(AmlCase, pk=request.POST.get("aml_case", "0"), client=case.client)
    form = AmlDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose an outcome and write down why.")
        return redirect("kyc:case", pk=case.pk)
    try:
        services.aml_case_decide(
            aml=aml,
            actor=request.user,
            confirmed=form.cleaned_data["outcome"] == "confirm",
            note=form.cleaned_data["note"],
        )
    except KycError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"AML case #{aml.pk} decided.")
    return redirect("kyc:case", pk=case.pk)


@backoffice_view("view_kyc")
def funnel(request: AuthedHttpRequest) -> HttpResponse:
    days = request.GET.get("days", "90")
    since_days = int(days) if days in ("30", "90", "365") else 90
    result = selectors.kyc_funnel(since_days=since_days)
    chart = {
        "title": f"Verification funnel, clients registered in the last {since_days} days",
        "labels": [step.label for step in result.steps],
        "values": [step.clients for step in result.steps],
        "unit": "clients",
    }
    return render(
        request, "kyc/funnel.html", {"funnel": result, "chart": chart, "days": since_days}
    )
