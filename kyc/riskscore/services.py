"""Writes of the risk score: country-risk versions, assessments, senior approvals, and the
decisions on monitoring alerts."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from brokerage.models import User
from clients.models import Client
from kyc.riskscore import scoring
from kyc.riskscore.conf import conf
from kyc.riskscore.exceptions import RiskError
from kyc.riskscore.models import (
    ClientRiskAssessment,
    CountryRisk,
    CountryRiskEntry,
    CountryRiskVersion,
    MonitoringAlert,
    RiskApproval,
)
from kyc.riskscore.selectors import (
    assessment_latest_per_client,
    country_risk_table,
    country_risk_version_active,
    login_ips_for_client,
)

DECIDE_PERMISSION = "brokerage.change_kyc"

# --- country-risk versions ---------------------------------------------------------------------


@dataclass(frozen=True)
class CountryListing:
    country: str
    category: str
    points: int | None = None  # None: the category's default (KYC_RISK_COUNTRY_POINTS)


@transaction.atomic
def country_risk_version_create(
    *,
    name: str,
    effective_date: date,
    source_notes: str,
    listings: Iterable[CountryListing],
    activate: bool = False,
) -> CountryRiskVersion:
    """Load a new version beside the old ones (which stay as they were)."""
    name = name.strip()
    if not name:
        raise RiskError("Name the version, e.g. “FATF October 2026”.", field="name")
    if CountryRiskVersion.objects.filter(name=name).exists():
        raise RiskError(f"A version named “{name}” already exists.", field="name")
    defaults = conf("KYC_RISK_COUNTRY_POINTS")
    rows: dict[tuple[str, str], int] = {}
    for listing in listings:
        country = listing.country.strip().upper()
        if not re.fullmatch(r"[A-Z]{2}", country):
            raise RiskError(f"“{listing.country}” is not an ISO 3166 two-letter country code.")
        if listing.category not in CountryRisk.values:
            raise RiskError(
                f"“{listing.category}” is not a category "
                f"(use one of {', '.join(CountryRisk.values)})."
            )
        points = defaults[listing.category] if listing.points is None else listing.points
        if points < 0:
            raise RiskError(f"Points for {country} can't be negative.")
        rows[(country, listing.category)] = points
    if not rows:
        raise RiskError("A version needs at least one listed country.")
    version = CountryRiskVersion.objects.create(
        name=name, effective_date=effective_date, source_notes=source_notes.strip()
    )
    CountryRiskEntry.objects.bulk_create(
        CountryRiskEntry(version=version, country=c, category=cat, points=p)
        for (c, cat), p in sorted(rows.items())
    )
    if activate:
        country_risk_version_activate(version=version)
    return version


@transaction.atomic
def country_risk_version_activate(*, version: CountryRiskVersion) -> CountryRiskVersion:
    """Make `version` the one active version; the switch is one transaction, so a reader
    sees the old version or the new one, never none."""
    CountryRiskVersion.objects.select_for_update().filter(is_active=True).exclude(
        pk=version.pk
    ).update(is_active=False)
    CountryRiskVersion.objects.filter(pk=version.pk).update(is_active=True)
    version.refresh_from_db()
    return version


# --- assessments -------------------------------------------------------------------------------


def _ip_country_resolver() -> Callable[[str], str | None] | None:
    path = conf("KYC_RISK_IP_COUNTRY_RESOLVER")
    return import_string(path) if path else None


def _login_countries(client: Client) -> tuple[list[str], dict[str, Any]]:
    ips = login_ips_for_client(client=client, limit=conf("KYC_RISK_IP_LAST_LOGINS"))
    resolver = _ip_country_resolver()
    if resolver is None:
        return [], {"login_ips": ips, "ip_countries": "no IP-country resolver configured"}
    countries = sorted({c.upper() for c in (resolver(ip) for ip in ips) if c})
    return countries, {"login_ips": ips, "ip_countries": countries}


@transaction.atomic
def assess_client(
    *,
    client: Client,
    pep: str = "none",
    screening: str = "clear",
    channel: str = "online",
    adverse_media: bool = False,
    actor: User | None = None,
) -> ClientRiskAssessment:
    """Score the client now and store the result (immutable). `actor` is who ran it (None:
    the system); a High result then waits for a senior decision by someone else."""
    version = country_risk_version_active()
    if version is None:
        raise RiskError("No country-risk version is active: load one first.")
    ip_countries, ip_inputs = _login_countries(client)
    open_alerts = MonitoringAlert.objects.filter(
        client=client, status=MonitoringAlert.Status.OPEN
    ).count()
    try:
        result = scoring.score_risk(
            residence=client.country,
            ip_countries=ip_countries,
            pep=pep,
            screening=screening,
            channel=channel,
            adverse_media=adverse_media,
            open_alerts=open_alerts,
            country_table=country_risk_table(version=version),
            weights=conf("KYC_RISK_WEIGHTS"),
            bands=conf("KYC_RISK_BANDS"),
        )
    except ValueError as exc:
        raise RiskError(str(exc)) from exc
    today = timezone.localdate()
    return ClientRiskAssessment.objects.create(
        client=client,
        score=result.score,
        band=result.band,
        prohibited=result.prohibited,
        freeze=result.freeze,
        factors=[f.as_dict() for f in result.factors],
        inputs={
            "residence": client.country,
            "pep": pep,
            "screening": screening,
            "channel": channel,
            "adverse_media": adverse_media,
            "open_alerts": open_alerts,
            **ip_inputs,
        },
        country_version=version,
        assessed_by=actor,
        next_review_on=scoring.next_review(
            band=result.band, on=today, review_years=conf("KYC_RISK_REVIEW_YEARS")
        ),
    )


def assessments_refresh_due(*, today: date | None = None, limit: int = 200) -> int:
    """Re-assess (as the system) each client whose latest assessment is due for review,
    with that assessment's customer inputs and today's country lists and alerts. Run daily;
    a client re-assessed today is no longer due, so a rerun does nothing."""
    today = today or timezone.localdate()
    due = (
        ClientRiskAssessment.objects.filter(
            pk__in=assessment_latest_per_client().values("pk"),
            next_review_on__lte=today,
        )
        .select_related("client__user")
        .order_by("next_review_on", "id")[:limit]
    )
    count = 0
    for previous in due:
        inputs = previous.inputs
        assess_client(
            client=previous.client,
            pep=inputs.get("pep", "none"),
            screening=inputs.get("screening", "unknown"),
            channel=inputs.get("channel", "online"),
            adverse_media=bool(inputs.get("adverse_media", False)),
        )
        count += 1
    return count


# --- senior approval ---------------------------------------------------------------------------


@transaction.atomic
def risk_approval_decide(
    *, assessment: ClientRiskAssessment, actor: User, decision: str, reason: str
) -> RiskApproval:
    """Record the senior decision on a high-risk assessment (maker-checker: the database
    refuses the person who ran the assessment too)."""
    if not actor.has_perm(DECIDE_PERMISSION):
        raise RiskError("Only compliance officers and administrators may approve high risk.")
    if decision not in RiskApproval.Decision.values:
        raise RiskError("Choose approve or decline.", field="decision")
    if not reason.strip():
        raise RiskError("Give the reason for your decision: it is kept on file.", field="reason")
    # Locked, so two seniors deciding at once are serialised and the second sees the first.
    assessment = ClientRiskAssessment.objects.select_for_update().get(pk=assessment.pk)
    if assessment.band != "high":
        raise RiskError("Only a high-risk assessment needs a senior decision.")
    existing = RiskApproval.objects.filter(assessment=assessment).select_related("approved_by")
    if existing.exists():
        first = existing.get()
        raise RiskError(
            f"This assessment was already {first.get_decision_display().lower()} "
            f"by {first.approved_by.get_full_name()}."
        )
    if assessment.assessed_by_id is not None and assessment.assessed_by_id == actor.pk:
        raise RiskError("You ran this assessment, so another senior must decide it.")
    newer = ClientRiskAssessment.objects.filter(
        client_id=assessment.client_id, created_at__gt=assessment.created_at
    ).exists()
    if newer:
        raise RiskError("A newer assessment of this client exists: decide that one.")
    try:
        with transaction.atomic():
            return RiskApproval.objects.create(
                assessment=assessment,
                maker_id=assessment.assessed_by_id,
                approved_by=actor,
                decision=decision,
                reason=reason.strip(),
            )
    except IntegrityError as exc:  # the database's maker-checker or a concurrent decision
        raise RiskError("This decision was refused: someone else must decide it.") from exc


# --- monitoring alerts -------------------------------------------------------------------------


def monitoring_alert_decide(
    *, alert: MonitoringAlert, actor: User, status: str, note: str
) -> MonitoringAlert:
    """Dismiss or escalate an open alert, once (a conditional update: the second of two
    officers deciding at once is told, not silently overwritten)."""
    if not actor.has_perm(DECIDE_PERMISSION):
        raise RiskError("Only compliance officers and administrators may decide alerts.")
    if status not in (MonitoringAlert.Status.DISMISSED, MonitoringAlert.Status.ESCALATED):
        raise RiskError("Choose dismiss or escalate.", field="status")
    if not note.strip():
        raise RiskError("Say why: the note is kept with the alert.", field="note")
    updated = MonitoringAlert.objects.filter(
        pk=alert.pk, status=MonitoringAlert.Status.OPEN
    ).update(status=status, decided_by=actor, decided_at=timezone.now(), decision_note=note.strip())
    alert.refresh_from_db()
    if not updated:
        raise RiskError(f"This alert was already {alert.get_status_display().lower()}.")
    return alert
