"""Every write to a verification case or an AML case. One door for moves: `case_move`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from brokerage.models import User
from clients.models import Client
from kyc.exceptions import KycError
from kyc.models import TRANSITIONS, AmlCase, CaseState, CaseTransition, KycCase, Reason

# What the client reads (portal and e-mail) when a case reaches a state, unless the move
# carries a message of its own (a reviewer's note, a provider's comment).
CLIENT_MESSAGES: dict[str, str] = {
    CaseState.DOCS_REQUESTED: "Please upload a passport or national ID card to verify your "
    "identity.",
    CaseState.SUBMITTED: "Thank you: we have your documents and will review them shortly.",
    CaseState.UNDER_REVIEW: "Our team is reviewing your documents.",
    CaseState.APPROVED: "Your account is verified.",
    CaseState.RESUBMIT: "We could not verify your documents. Please upload them again.",
    CaseState.REJECTED: "We are unable to verify your account. Contact support if you have "
    "questions.",
    CaseState.SCREENING_HOLD: "Our compliance team is reviewing your account. Deposits and "
    "trading are paused meanwhile; we will e-mail you when it is done.",
    CaseState.EXPIRED: "Your verification request expired. Please start again.",
    CaseState.CANCELLED: "Your verification request was cancelled. Please start again.",
}
# A move to these states e-mails the client.
NOTIFY = {
    CaseState.APPROVED,
    CaseState.RESUBMIT,
    CaseState.REJECTED,
    CaseState.DOCS_REQUESTED,
    CaseState.SCREENING_HOLD,
}


def case_for_client(*, client: Client) -> KycCase:
    case, _ = KycCase.objects.get_or_create(client=client)
    return case


def kyc_onboard(*, client: Client) -> KycCase:
    """A new sign-up: open the case (documents requested) and screen the name once the
    sign-up has committed (a worker on the default queue does it)."""
    case = case_for_client(client=client)
    client_id = client.pk

    def enqueue() -> None:
        from kyc.screening.tasks import screen_client

        screen_client.apply_async(args=[client_id, "onboarding"], queue="default")

    transaction.on_commit(enqueue)
    return case


def _locked(case: KycCase) -> KycCase:
    return KycCase.objects.select_for_update().select_related("client__user").get(pk=case.pk)


@transaction.atomic
def case_move(
    *,
    case: KycCase,
    to: str,
    source: str,
    actor: User | None = None,
    reason: str = "",
    note: str = "",
    level: int | None = None,
    client_message: str = "",
) -> KycCase:
    """Move a case along TRANSITIONS, record who, when and why, tell the client."""
    case = _locked(case)
    if to == case.state and level in (None, case.level):
        return case  # already there: a repeated event changes nothing
    if to != case.state and to not in TRANSITIONS[case.state]:
        raise KycError(
            f"A case that is {CaseState(case.state).label.lower()} can't become "
            f"{CaseState(to).label.lower()}."
        )
    if reason and reason not in Reason.values:
        raise KycError(f"Unknown reason {reason!r}.")
    now = timezone.now()
    from_state = case.state
    case.state = to
    case.state_since = now
    if level is not None:
        case.level = level
    if to == CaseState.APPROVED:
        case.approved_at = now
    case.client_message = client_message or CLIENT_MESSAGES[to]
    case.save()
    CaseTransition.objects.create(
        case=case,
        from_state=from_state,
        to_state=to,
        source=source,
        actor=actor,
        reason=reason,
        note=note,
        level=case.level,
        created_at=now,
    )
    if to in NOTIFY and to != from_state:
        client_id = case.client_id
        transaction.on_commit(lambda: _notify_client(client_id=client_id))
    return case


def _notify_client(*, client_id: int) -> None:
    case = KycCase.objects.select_related("client__user").get(client_id=client_id)
    user = case.client.user
    send_mail(
        subject=f"{settings.BROKER_NAME}: your verification — {case.get_state_display()}",
        message=(
            f"Hello {user.first_name},\n\n{case.client_message}\n\n"
            f"See what to do next in your trader's room: {settings.SITE_URL}/portal/verification/\n"
        ),
        from_email=None,
        recipient_list=[user.email],
    )


# --- staff decisions ----------------------------------------------------------------------


def _staff_decision_allowed(case: KycCase, actor: User) -> None:
    if not actor.has_perm("brokerage.change_kyc"):
        raise KycError("Only compliance staff may decide verification cases.")


@transaction.atomic
def case_approve(*, case: KycCase, actor: User, level: int, note: str = "") -> KycCase:
    _staff_decision_allowed(case, actor)
    if level not in (1, 2):
        raise KycError("Approve at level 1 (identity) or level 2 (identity and address).")
    if AmlCase.objects.filter(client=case.client, status=AmlCase.Status.OPEN).exists():
        raise KycError(
            "An AML case is open for this client: decide it before approving the verification."
        )
    if level == 2:
        from kyc.screening_status import screening_decision

        decision = screening_decision(client=case.client)
        if decision != "clear":
            raise KycError(
                f"Level 2 needs a clear screening; the latest is {decision}. "
                "Run or review the screening first."
            )
    return case_move(
        case=case,
        to=CaseState.APPROVED,
        source=CaseTransition.Source.STAFF,
        actor=actor,
        reason=Reason.DOCUMENTS_OK,
        note=note,
        level=level,
    )


@transaction.atomic
def case_decide(
    *, case: KycCase, actor: User, decision: str, reason: str, note: str = "", level: int = 1
) -> KycCase:
    """approve / resubmit / reject / review, with a reason from the list and free text."""
    _staff_decision_allowed(case, actor)
    if decision == "approve":
        return case_approve(case=case, actor=actor, level=level, note=note)
    if not reason:
        raise KycError("Choose a reason.")
    if reason == Reason.OTHER and not note.strip():
        raise KycError("Explain the reason in the note.")
    to = {
        "resubmit": CaseState.RESUBMIT,
        "reject": CaseState.REJECTED,
        "review": CaseState.UNDER_REVIEW,
        "reopen": CaseState.DOCS_REQUESTED,
    }.get(decision)
    if to is None:
        raise KycError(f"Unknown decision {decision!r}.")
    message = ""
    if to in (CaseState.RESUBMIT, CaseState.REJECTED):
        message = f"{CLIENT_MESSAGES[to]} Reason: {Reason(reason).label}."
    return case_move(
        case=case,
        to=to,
        source=CaseTransition.Source.STAFF,
        actor=actor,
        reason=reason,
        note=note,
        client_message=message,
        level=0 if to == CaseState.REJECTED else None,
    )


@transaction.atomic
def cases_assign(*, case_ids: Iterable[int], assignee: User | None, actor: User) -> int:
    if not actor.has_perm("brokerage.change_kyc"):
        raise KycError("Only compliance staff may assign cases.")
    if assignee is not None and not (assignee.is_staff and assignee.has_perm("brokerage.view_kyc")):
        raise KycError(f"{assignee.get_full_name()} can't work on KYC cases.")
    return KycCase.objects.filter(pk__in=list(case_ids)).update(assigned_to=assignee)


# --- AML cases ------------------------------------------------------------------------------


@transaction.atomic
def aml_case_open(
    *,
    client: Client,
    source: str,
    reference: str,
    summary: str,
    freezes: bool,
    details: dict[str, Any] | None = None,
) -> AmlCase:
    """Open an AML case once per cause; a freezing one puts the KYC case on screening hold."""
    aml, created = AmlCase.objects.get_or_create(
        client=client,
        source=source,
        reference=reference,
        defaults={"summary": summary[:300], "freezes": freezes, "details": details or {}},
    )
    if created and freezes:
        case = case_for_client(client=client)
        if case.state != CaseState.SCREENING_HOLD:
            case_move(
                case=case,
                to=CaseState.SCREENING_HOLD,
                source=CaseTransition.Source.SYSTEM,
                note=f"AML case #{aml.pk}: {aml.summary}",
            )
    return aml


@transaction.atomic
def aml_case_decide(*, aml: AmlCase, actor: User, confirmed: bool, note: str) -> AmlCase:
    """Clear a false positive, or confirm it (the KYC case is then rejected). Never automatic."""
    if not actor.has_perm("brokerage.change_kyc"):
        raise KycError("Only compliance staff may decide AML cases.")
    if not note.strip():
        raise KycError("Write down why: the decision is part of the audit trail.")
    aml = AmlCase.objects.select_for_update().get(pk=aml.pk)
    if aml.status != AmlCase.Status.OPEN:
        raise KycError("This AML case was already decided.")
    aml.status = AmlCase.Status.CONFIRMED if confirmed else AmlCase.Status.CLEARED
    aml.decided_by = actor
    aml.decided_at = timezone.now()
    aml.decision_note = note
    aml.save()
    case = case_for_client(client=aml.client)
    still_open = AmlCase.objects.filter(
        client=aml.client, status=AmlCase.Status.OPEN, freezes=True
    ).exists()
    if confirmed:
        case_move(
            case=case,
            to=CaseState.REJECTED,
            source=CaseTransition.Source.STAFF,
            actor=actor,
            reason=Reason.SANCTIONS_MATCH,
            note=note,
            level=0,
        )
    elif case.state == CaseState.SCREENING_HOLD and not still_open:
        case_move(
            case=case,
            to=CaseState.UNDER_REVIEW,
            source=CaseTransition.Source.STAFF,
            actor=actor,
            reason=Reason.SCREENING_CLEARED,
            note=note,
        )
    return aml
