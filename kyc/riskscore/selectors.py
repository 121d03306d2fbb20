"""Reads of the risk score: the active country table, the back-office queues, and the summary
the client page shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from axes.models import AccessLog
from django.db.models import Count, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from clients.models import Client
from kyc.riskscore.models import (
    Band,
    ClientRiskAssessment,
    CountryRiskVersion,
    MonitoringAlert,
    RiskApproval,
)


def country_risk_version_active() -> CountryRiskVersion | None:
    return CountryRiskVersion.objects.filter(is_active=True).first()


def country_risk_version_list() -> QuerySet[CountryRiskVersion]:
    return CountryRiskVersion.objects.annotate(entry_count=Count("entries")).order_by(
        "-effective_date", "-id"
    )


def country_risk_table(*, version: CountryRiskVersion) -> dict[str, dict[str, int]]:
    """ISO-2 -> {category: points} for one version."""
    table: dict[str, dict[str, int]] = {}
    for country, category, points in version.entries.values_list("country", "category", "points"):
        table.setdefault(country, {})[category] = points
    return table


def login_ips_for_client(*, client: Client, limit: int) -> list[str]:
    """The addresses of the client's last successful logins (django-axes' access log, keyed
    by the e-mail), newest first, each once."""
    ips: list[str] = []
    rows = (
        AccessLog.objects.filter(username__iexact=client.user.email, ip_address__isnull=False)
        .order_by("-attempt_time")
        .values_list("ip_address", flat=True)[: limit * 4]
    )
    for ip in rows:
        if ip not in ips:
            ips.append(ip)
        if len(ips) == limit:
            break
    return ips


# --- assessments -------------------------------------------------------------------------------


def assessment_latest_per_client() -> QuerySet[ClientRiskAssessment]:
    """Each client's latest assessment (DISTINCT ON client)."""
    return ClientRiskAssessment.objects.order_by("client_id", "-created_at", "-id").distinct(
        "client_id"
    )


def assessment_latest(*, client: Client) -> ClientRiskAssessment | None:
    return (
        ClientRiskAssessment.objects.filter(client=client)
        .select_related("country_version", "approval__approved_by", "assessed_by")
        .order_by("-created_at", "-id")
        .first()
    )


def assessment_get(*, pk: int) -> ClientRiskAssessment:
    return get_object_or_404(
        ClientRiskAssessment.objects.select_related(
            "client__user", "country_version", "assessed_by", "approval__approved_by"
        ),
        pk=pk,
    )


def assessment_history(*, client: Client, limit: int = 10) -> list[ClientRiskAssessment]:
    return list(
        ClientRiskAssessment.objects.filter(client=client)
        .select_related("approval")
        .order_by("-created_at", "-id")[:limit]
    )


def approvals_pending() -> QuerySet[ClientRiskAssessment]:
    """Each client's latest assessment that is High and not yet decided."""
    return (
        ClientRiskAssessment.objects.filter(
            pk__in=assessment_latest_per_client().values("pk"),
            band=Band.HIGH,
            approval__isnull=True,
        )
        .select_related("client__user", "assessed_by")
        .order_by("created_at", "id")
    )


def band_counts() -> list[tuple[str, str, int]]:
    """Clients per band of their latest assessment: (band, label, count), Low to High."""
    counts = dict(
        ClientRiskAssessment.objects.filter(pk__in=assessment_latest_per_client().values("pk"))
        .values("band")
        .annotate(n=Count("id"))
        .values_list("band", "n")
    )
    return [(band.value, band.label, counts.get(band.value, 0)) for band in Band]


def approver_may_decide(*, assessment: ClientRiskAssessment, user_id: int) -> bool:
    return assessment.assessed_by_id != user_id


def approval_for(*, assessment: ClientRiskAssessment) -> RiskApproval | None:
    return RiskApproval.objects.filter(assessment=assessment).select_related("approved_by").first()


# --- alerts ------------------------------------------------------------------------------------


def alert_list(*, status: str = MonitoringAlert.Status.OPEN) -> QuerySet[MonitoringAlert]:
    alerts = MonitoringAlert.objects.select_related("client__user", "decided_by")
    if status:
        alerts = alerts.filter(status=status)
    return alerts.order_by("-created_at", "-id")


def alert_get(*, pk: int) -> MonitoringAlert:
    return get_object_or_404(
        MonitoringAlert.objects.select_related("client__user", "decided_by"), pk=pk
    )


# --- for the client page -----------------------------------------------------------------------


@dataclass(frozen=True)
class RiskSummary:
    assessment: ClientRiskAssessment | None
    score: int | None
    band: str  # "" when never assessed
    band_label: str
    reasons: list[str]
    next_review_on: date | None
    review_overdue: bool
    approval: str  # "", "pending", "approve" or "decline"
    open_alerts: list[MonitoringAlert]


def risk_summary(*, client: Client) -> RiskSummary:
    """The client's latest risk assessment and open alerts, for the client page."""
    latest = assessment_latest(client=client)
    alerts = list(
        MonitoringAlert.objects.filter(client=client, status=MonitoringAlert.Status.OPEN).order_by(
            "-created_at"
        )
    )
    if latest is None:
        return RiskSummary(None, None, "", "Not assessed", [], None, False, "", alerts)
    decision = getattr(latest, "approval", None)
    approval = decision.decision if decision else ("pending" if latest.needs_approval else "")
    return RiskSummary(
        assessment=latest,
        score=latest.score,
        band=latest.band,
        band_label=latest.get_band_display(),
        reasons=[f"{f['reason']} (+{f['points']})" for f in latest.factors],
        next_review_on=latest.next_review_on,
        review_overdue=latest.next_review_on < timezone.localdate(),
        approval=approval,
        open_alerts=alerts,
    )
