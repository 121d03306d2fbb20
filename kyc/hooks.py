"""Where the KYC parts report to the verification case (kyc.services owns the case).

The parts (kyc.documents, kyc.screening, kyc.providers) call these after their own work
is saved, inside the same transaction; the case moves, and the client is told, from here.
Each takes keyword arguments only, so that a part never depends on the case's internals.
"""

from __future__ import annotations

import logging
from typing import Any

from clients.models import Client
from kyc.exceptions import KycError
from kyc.models import AmlCase, CaseState, CaseTransition, Reason
from kyc.services import aml_case_open, case_for_client, case_move

log = logging.getLogger(__name__)

# A provider's labels that open an AML case; the first freezes the account meanwhile.
# BACKGROUND_CHECKS: Shufti Pro's failed background (AML) check, which names no list.
PROVIDER_AML_LABELS = {
    "SANCTIONS",
    "PEP",
    "ADVERSE_MEDIA",
    "CRIMINAL",
    "COMPROMISED_PERSONS",
    "BACKGROUND_CHECKS",
}
FREEZING_LABELS = {"SANCTIONS"}

# A client's upload moves the case on from these states.
AWAITING_CLIENT = {
    CaseState.DOCS_REQUESTED,
    CaseState.RESUBMIT,
    CaseState.EXPIRED,
    CaseState.CANCELLED,
}


def document_uploaded(*, document: Any) -> None:
    """A client's document passed the upload checks and was stored."""
    case = case_for_client(client=document.client)
    if case.state in AWAITING_CLIENT:
        case_move(
            case=case,
            to=CaseState.SUBMITTED,
            source=CaseTransition.Source.CLIENT,
            actor=document.client.user,
            note=f"Uploaded {document.get_kind_display().lower()} (document #{document.pk}).",
        )


def screening_completed(*, screening: Any) -> None:
    """A client was screened; `screening.decision` is clear, alert or strong.

    A strong hit freezes deposits and trading and opens an AML case; an alert opens one
    that does not freeze but must be decided before the client is approved. Nobody is
    rejected on a name alone: a compliance officer decides the AML case. Every screening
    also refreshes the client's risk score (PEP and the screening result are factors)."""
    decision = str(screening.decision)
    client: Client = screening.client
    if decision in ("alert", "strong"):
        hits = _screening_hits(screening)
        aml_case_open(
            client=client,
            source=AmlCase.Source.SCREENING,
            # The same hit found again (a nightly re-screen) is the same cause, not a new case.
            reference="screening:" + (",".join(key for key, _ in hits)[:80] or str(screening.pk)),
            summary=f"Screening {decision}: "
            + ("; ".join(text for _, text in hits[:3]) or screening.query_name),
            freezes=decision == "strong",
            details={"screening_id": screening.pk, "decision": decision},
        )
    from kyc.riskscore.services import assess_client

    assess_client(
        client=client,
        screening=decision,
        pep="foreign" if getattr(screening, "is_pep", False) else "none",
    )


def _screening_hits(screening: Any) -> list[tuple[str, str]]:
    """(entity key, "caption (score)") of the hits that alerted, best first."""
    hits = screening.hits.filter(decision__in=("alert", "strong")).select_related("entity")
    return [
        (
            f"{hit.entity.source}:{hit.entity.source_id}",
            f"{hit.entity.caption} ({hit.score:.2f})",
        )
        for hit in hits.order_by("-score", "entity__source_id")
    ]


def provider_review(
    *,
    client: Any,
    provider: str,
    state: str,
    reasons: list[str],
    aml_labels: list[str],
    client_message: str = "",
    event_id: int | None = None,
) -> None:
    """A KYC provider's verdict, mapped onto our case states (state is one of
    kyc.models.CaseState's values). aml_labels (SANCTIONS, PEP, ...) open an AML case."""
    labels = sorted(set(aml_labels) & PROVIDER_AML_LABELS)
    if labels:
        aml_case_open(
            client=client,
            source=AmlCase.Source.PROVIDER,
            reference=f"{provider}:{','.join(labels)}",
            summary=f"{provider} flagged {', '.join(labels)}",
            freezes=bool(FREEZING_LABELS & set(labels)),
            details={"provider": provider, "labels": labels, "event_id": event_id},
        )
    case = case_for_client(client=client)
    target = state
    note = f"{provider}: {state}" + (f" ({', '.join(reasons)})" if reasons else "")
    if (
        state == CaseState.APPROVED
        and AmlCase.objects.filter(client=client, status=AmlCase.Status.OPEN).exists()
    ):
        # The provider is satisfied, our own screening is not: compliance decides.
        target = CaseState.SCREENING_HOLD
        note += "; an AML case is open, so the case waits for compliance"
    elif state == CaseState.REJECTED and labels:
        # A rejection for sanctions, PEP or the like is the MLRO's to confirm, not the
        # provider's: the AML case decides (and rejects, if confirmed).
        target = CaseState.SCREENING_HOLD
        note += "; held for the AML case"
    try:
        case_move(
            case=case,
            to=target,
            source=CaseTransition.Source.PROVIDER,
            reason=Reason.PROVIDER if target != CaseState.APPROVED else Reason.DOCUMENTS_OK,
            note=note,
            level=max(case.level, 1) if target == CaseState.APPROVED else None,
            client_message=client_message
            if target in (CaseState.RESUBMIT, CaseState.REJECTED)
            else "",
        )
    except KycError as exc:
        # A late or out-of-turn verdict (say, "pending" after we approved): recorded by the
        # provider app as processed, and left to staff rather than forced onto the case.
        log.warning(
            "kyc: %s event %s for client %s not applied: %s", provider, event_id, client.pk, exc
        )
