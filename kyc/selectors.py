"""Reads for the compliance queue, the case page, the funnel and the portal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from statistics import median
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from brokerage.models import User
from clients.models import Client
from kyc.models import WAITING_ON_STAFF, AmlCase, CaseState, CaseTransition, KycCase

AGE_FILTERS = {"1d": timedelta(days=1), "3d": timedelta(days=3), "7d": timedelta(days=7)}


def case_queue(
    *, user: User, state: str = "", assigned: str = "", older_than: str = "", search: str = ""
) -> QuerySet[KycCase]:
    """The compliance queue, oldest wait first. Default: what waits on staff."""
    if not user.has_perm("brokerage.view_kyc"):
        return KycCase.objects.none()
    cases = KycCase.objects.select_related("client__user", "assigned_to").annotate(
        open_aml=Count("client__aml_cases", filter=Q(client__aml_cases__status="open"))
    )
    if state in CaseState.values:
        cases = cases.filter(state=state)
    elif state != "all":
        cases = cases.filter(state__in=WAITING_ON_STAFF)
    if assigned == "me":
        cases = cases.filter(assigned_to=user)
    elif assigned == "none":
        cases = cases.filter(assigned_to__isnull=True)
    if older_than in AGE_FILTERS:
        cases = cases.filter(state_since__lte=timezone.now() - AGE_FILTERS[older_than])
    if search:
        cases = cases.filter(
            Q(client__user__email__icontains=search)
            | Q(client__user__first_name__icontains=search)
            | Q(client__user__last_name__icontains=search)
        )
    return cases.order_by("state_since", "pk")


def case_get_for_user(*, user: User, pk: int) -> KycCase:
    if not user.has_perm("brokerage.view_kyc"):
        raise Http404
    try:
        return KycCase.objects.select_related("client__user", "assigned_to").get(pk=pk)
    except KycCase.DoesNotExist:
        raise Http404 from None


def case_history(*, case: KycCase) -> QuerySet[CaseTransition]:
    return case.transitions.select_related("actor").order_by("-created_at", "-id")


def kyc_staff() -> QuerySet[User]:
    """Who a case can be assigned to."""
    return (
        User.objects.filter(is_active=True, is_staff=True)
        .filter(
            Q(groups__permissions__codename="change_kyc") | Q(is_superuser=True),
        )
        .distinct()
        .order_by("first_name", "last_name")
    )


def aml_cases_for(*, client: Client) -> QuerySet[AmlCase]:
    return (
        AmlCase.objects.filter(client=client)
        .select_related("decided_by")
        .order_by("status", "-opened_at")
    )


@dataclass(frozen=True)
class FunnelStep:
    label: str
    clients: int
    dropped: int  # of the step before, how many did not reach this one
    rate: float  # share of registered clients that reached this step (0..1)


@dataclass(frozen=True)
class Funnel:
    steps: list[FunnelStep]
    median_hours_to_approval: float | None
    approvals_measured: int
    since_days: int


def kyc_funnel(*, since_days: int = 90) -> Funnel:
    """Registered -> started verification -> submitted -> approved, for clients who
    registered in the window; and the median time from registration to first approval."""
    since = timezone.now() - timedelta(days=since_days)
    clients = Client.objects.filter(created_at__gte=since)
    registered = clients.count()
    reached_submitted = CaseTransition.objects.filter(
        case__client__in=clients, to_state=CaseState.SUBMITTED
    ).values("case_id")
    approved_transitions = CaseTransition.objects.filter(
        case__client__in=clients, to_state=CaseState.APPROVED
    )
    counts = [
        ("Registered", registered),
        ("Started verification", KycCase.objects.filter(client__in=clients).count()),
        ("Submitted documents", reached_submitted.distinct().count()),
        ("Approved", approved_transitions.values("case_id").distinct().count()),
    ]
    steps = []
    previous = None
    for label, count in counts:
        steps.append(
            FunnelStep(
                label=label,
                clients=count,
                dropped=(previous - count) if previous is not None else 0,
                rate=(count / registered) if registered else 0.0,
            )
        )
        previous = count
    first_approvals: dict[int, float] = {}
    for case_id, registered_at, approved_at in approved_transitions.order_by(
        "created_at"
    ).values_list("case_id", "case__client__created_at", "created_at"):
        first_approvals.setdefault(case_id, (approved_at - registered_at).total_seconds() / 3600)
    hours = list(first_approvals.values())
    return Funnel(
        steps=steps,
        median_hours_to_approval=round(median(hours), 1) if hours else None,
        approvals_measured=len(hours),
        since_days=since_days,
    )


@dataclass(frozen=True)
class KycSummary:
    case: KycCase | None
    open_aml: int
    frozen: bool
    risk: Any


def kyc_summary(*, client: Client) -> KycSummary:
    """The client 360 view's line on verification and AML."""
    from kyc.riskscore.selectors import risk_summary

    open_aml = AmlCase.objects.filter(client=client, status=AmlCase.Status.OPEN)
    return KycSummary(
        case=KycCase.objects.filter(client=client).first(),
        open_aml=open_aml.count(),
        frozen=open_aml.filter(freezes=True).exists(),
        risk=risk_summary(client=client),
    )
