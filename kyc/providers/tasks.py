"""Thin Celery tasks: ids in, a service call, the retry policy."""

from __future__ import annotations

from celery import shared_task

from kyc.providers import services


# acks_late: processing is idempotent (the event row is claimed under a lock and its
# outcome checked), so a task redelivered after a worker died is safe to run again.
@shared_task(
    name="kyc.providers.tasks.process_webhook_event",
    ignore_result=True,
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=30,
    retry_backoff_max=3600,
    max_retries=6,
)
def process_webhook_event(event_id: int) -> None:
    services.webhook_event_process(event_id=event_id)


@shared_task(
    name="kyc.providers.tasks.refresh_applicant",
    ignore_result=True,
    autoretry_for=(Exception,),
    retry_backoff=60,
    max_retries=5,
)
def refresh_applicant(applicant_id: int) -> None:
    services.provider_applicant_refresh(applicant_id=applicant_id)


@shared_task(name="kyc.providers.tasks.requeue_pending_events", ignore_result=True)
def requeue_pending_events() -> int:
    return services.webhook_events_requeue()


@shared_task(name="kyc.providers.tasks.refresh_stuck_applicants", ignore_result=True)
def refresh_stuck_applicants() -> int:
    return services.provider_applicants_refresh_stuck()
