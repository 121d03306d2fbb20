"""Writes of the KYC provider integrations: record a webhook, process it once, start a
verification, refresh a stuck applicant. Provider specifics stay behind `Provider`."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from clients.models import Client
from kyc import hooks
from kyc.providers.base import FINAL_STATES, Envelope, PayloadInvalid, Provider, Review, Start
from kyc.providers.models import ProviderApplicant, WebhookEvent
from kyc.providers.registry import provider_get

log = logging.getLogger(__name__)
Outcome = WebhookEvent.Outcome
RETRYABLE = (Outcome.PENDING, Outcome.FAILED)


def webhook_event_record(
    *, provider: Provider, body: bytes, headers: Mapping[str, str]
) -> tuple[WebhookEvent, bool]:
    """Store a verified webhook and enqueue its processing. A redelivery (same dedupe key)
    stores nothing and enqueues nothing: returns (the first event, False)."""
    envelope = provider.parse_webhook(body=body)
    try:
        with transaction.atomic():
            event = WebhookEvent.objects.create(
                provider=provider.name,
                event_type=envelope.event_type[:64],
                dedupe_key=envelope.dedupe_key,
                raw_body=body,
                headers=provider.kept(headers),
                external_ref=envelope.external_ref[:255],
                occurred_at=envelope.occurred_at,
            )
            _enqueue_on_commit(event.pk)
    except IntegrityError:
        existing = WebhookEvent.objects.get(provider=provider.name, dedupe_key=envelope.dedupe_key)
        log.info("kyc providers: %s redelivered event %s", provider.name, existing.pk)
        return existing, False
    return event, True


def _enqueue_on_commit(event_id: int) -> None:
    from kyc.providers.tasks import process_webhook_event

    def enqueue() -> None:
        # The event is stored: a broker hiccup must not turn the answer into a 500 (and
        # a redelivery would be a duplicate, enqueueing nothing). The sweeper picks it up.
        try:
            process_webhook_event.apply_async(args=[event_id], queue="default")
        except Exception:
            log.exception("kyc providers: event %s stored but not enqueued", event_id)

    transaction.on_commit(enqueue)


def webhook_event_process(*, event_id: int) -> WebhookEvent | None:
    """Process a stored event exactly once: map it onto our states and report the verdict
    to the case (kyc.hooks.provider_review), in one transaction with the event's outcome.
    An error rolls all of it back, marks the event failed and re-raises (for a retry)."""
    try:
        return _process(event_id)
    except Exception as exc:
        WebhookEvent.objects.filter(pk=event_id, outcome__in=RETRYABLE).update(
            outcome=Outcome.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        raise


@transaction.atomic
def _process(event_id: int) -> WebhookEvent | None:
    # The row lock makes concurrent runs (a redelivered task) wait; the second one then
    # sees the outcome and does nothing.
    event = WebhookEvent.objects.select_for_update().filter(pk=event_id).first()
    if event is None or event.outcome not in RETRYABLE:
        return event
    event.attempts += 1
    provider = provider_get(event.provider)
    body = bytes(event.raw_body)
    try:
        envelope = provider.parse_webhook(body=body)
    except PayloadInvalid as exc:
        return _finish(event, Outcome.INVALID, error=exc.message)

    applicant = _applicant_for(provider=provider, envelope=envelope)
    if applicant is None:
        # Answered 200 already: the provider must not retry an event nobody can place.
        return _finish(
            event,
            Outcome.UNKNOWN_CLIENT,
            error=f"No client has reference {envelope.external_ref!r} "
            f"(applicant {envelope.applicant_id!r}).",
        )
    event.client_id = applicant.client_id
    event.applicant = applicant
    if envelope.applicant_id and not applicant.applicant_id:
        applicant.applicant_id = envelope.applicant_id
        applicant.save(update_fields=["applicant_id"])

    if event.event_type in provider.refetch_events:
        transaction.on_commit(lambda: _enqueue_refresh(applicant.pk))
        return _finish(event, Outcome.IGNORED, error="Carries no verdict; status re-fetched.")
    try:
        review = provider.review_from_webhook(body=body)
    except PayloadInvalid as exc:
        return _finish(event, Outcome.INVALID, error=exc.message)
    if review is None:
        return _finish(event, Outcome.IGNORED, error="Carries no verdict.")
    if _is_stale(applicant=applicant, envelope=envelope, review=review):
        return _finish(
            event,
            Outcome.STALE,
            state=review.state,
            error=f"Older than the last processed event ({applicant.last_state}).",
        )

    hooks.provider_review(
        client=applicant.client,
        provider=provider.name,
        state=review.state,
        reasons=list(review.reasons),
        aml_labels=list(review.aml_labels),
        client_message=review.client_message,
        event_id=event.pk,
    )
    if envelope.occurred_at is not None and (
        applicant.last_event_at is None or envelope.occurred_at > applicant.last_event_at
    ):
        applicant.last_event_at = envelope.occurred_at
    applicant.last_state = review.state
    applicant.save(update_fields=["last_event_at", "last_state", "updated_at"])
    return _finish(event, Outcome.PROCESSED, state=review.state)


def _finish(event: WebhookEvent, outcome: str, *, state: str = "", error: str = "") -> WebhookEvent:
    event.outcome = outcome
    event.state = state
    event.error = error
    event.processed_at = timezone.now()
    event.save(
        update_fields=[
            "outcome",
            "state",
            "error",
            "processed_at",
            "attempts",
            "client",
            "applicant",
        ]
    )
    return event


def _applicant_for(*, provider: Provider, envelope: Envelope) -> ProviderApplicant | None:
    applicants = ProviderApplicant.objects.select_for_update().select_related("client")
    applicants = applicants.filter(provider=provider.name)
    if envelope.external_ref:
        found = applicants.filter(external_id=envelope.external_ref).first()
        if found is not None:
            return found
    if envelope.applicant_id:
        return applicants.filter(applicant_id=envelope.applicant_id).order_by("-pk").first()
    return None


def _is_stale(*, applicant: ProviderApplicant, envelope: Envelope, review: Review) -> bool:
    if envelope.occurred_at is not None:
        return (
            applicant.last_event_at is not None and envelope.occurred_at < applicant.last_event_at
        )
    # No creation time (Shufti): a progress report after a final verdict is out of date.
    return applicant.last_state in FINAL_STATES and review.state not in FINAL_STATES


def webhook_events_requeue(*, older_than: timedelta = timedelta(minutes=5)) -> int:
    """Enqueue again the events still pending after `older_than` (a lost task, a worker
    that died); processing is idempotent, so a second run of a live task is harmless."""
    cutoff = timezone.now() - older_than
    ids = list(
        WebhookEvent.objects.filter(outcome=Outcome.PENDING, received_at__lt=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)[:500]
    )
    from kyc.providers.tasks import process_webhook_event

    for event_id in ids:
        process_webhook_event.apply_async(args=[event_id], queue="default")
    return len(ids)


# --- starting and refreshing -------------------------------------------------------------
def provider_verification_start(*, client: Client, provider_name: str) -> Start:
    """Where to send `client` to be verified by the provider. The reference is saved before
    the provider is called, so a webhook that races the answer still finds the client."""
    provider = provider_get(provider_name)
    applicant = None
    if provider.reuses_applicant():
        applicant = (
            ProviderApplicant.objects.filter(provider=provider.name, client=client)
            .order_by("-created_at", "-pk")
            .first()
        )
    if applicant is None:
        applicant = ProviderApplicant.objects.create(provider=provider.name, client=client)
    try:
        start = provider.start_verification(client=client, applicant=applicant)
    finally:
        provider.close()
    if start.level_name and start.level_name != applicant.level_name:
        ProviderApplicant.objects.filter(pk=applicant.pk).update(level_name=start.level_name)
    return start


def provider_applicant_refresh(*, applicant_id: int) -> Review | None:
    """Ask the provider for an applicant's status (stuck case, or an event that says only
    "something changed") and report it to the case if it differs from the last one."""
    applicant = ProviderApplicant.objects.get(pk=applicant_id)
    provider = provider_get(applicant.provider)
    try:
        review = provider.fetch_status(applicant=applicant)  # network: outside any transaction
    finally:
        provider.close()
    with transaction.atomic():
        locked = (
            ProviderApplicant.objects.select_for_update()
            .select_related("client")
            .get(pk=applicant_id)
        )
        if review is not None and review.state != locked.last_state:
            hooks.provider_review(
                client=locked.client,
                provider=provider.name,
                state=review.state,
                reasons=list(review.reasons),
                aml_labels=list(review.aml_labels),
                client_message=review.client_message,
                event_id=None,
            )
            locked.last_state = review.state
        # Heard from the provider: the stuck-applicant sweep leaves it alone for a while.
        locked.save(update_fields=["last_state", "updated_at"])
    return review


def provider_applicants_refresh_stuck(
    *, quiet_for: timedelta = timedelta(days=1), give_up_after: timedelta = timedelta(days=30)
) -> int:
    """Enqueue a status fetch for applicants without a final verdict and without news for
    `quiet_for` (a webhook lost for good after the provider's last retry). Sessions older
    than `give_up_after` were abandoned; they are not polled for ever."""
    now = timezone.now()
    ids = list(
        ProviderApplicant.objects.exclude(last_state__in=FINAL_STATES)
        .filter(updated_at__lt=now - quiet_for, created_at__gt=now - give_up_after)
        .order_by("pk")
        .values_list("pk", flat=True)[:1000]
    )
    for applicant_id in ids:
        _enqueue_refresh(applicant_id)
    return len(ids)


def _enqueue_refresh(applicant_id: int) -> None:
    from kyc.providers.tasks import refresh_applicant

    refresh_applicant.apply_async(args=[applicant_id], queue="default")
