"""Concurrent deliveries and task runs on real PostgreSQL connections, one per thread,
released together by a barrier. Each would double-report a verdict without the row lock
on the event or the UNIQUE dedupe key."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from kyc.providers import services
from kyc.providers.models import ProviderApplicant, WebhookEvent
from kyc.providers.registry import provider_get
from kyc.providers.tests import fakes
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db(transaction=True)


def in_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(i: int) -> None:
        try:
            connection.ensure_connection()
            barrier.wait(timeout=30)
            results[i] = work(i)
        except BaseException as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return results


@pytest.fixture
def slow_reviews(reviews, monkeypatch):
    """The case update takes a while, so that a second runner arrives while it's running."""
    from kyc import hooks

    def slow(**kwargs: Any) -> None:
        time.sleep(0.3)
        reviews(**kwargs)

    monkeypatch.setattr(hooks, "provider_review", slow)
    return reviews


def test_two_runs_of_the_same_task_report_the_verdict_once(slow_reviews, queue):
    applicant = ProviderApplicant.objects.create(provider="sumsub", client=ClientFactory())
    body, headers = fakes.sumsub_webhook(
        type="applicantReviewed", review_answer="GREEN", external_user_id=applicant.external_id
    )
    event, _ = services.webhook_event_record(
        provider=provider_get("sumsub"), body=body, headers=headers
    )

    results = in_threads(3, lambda i: services.webhook_event_process(event_id=event.pk))

    assert not [r for r in results if isinstance(r, BaseException)], results
    assert len(slow_reviews.calls) == 1
    event.refresh_from_db()
    assert (event.outcome, event.attempts) == (WebhookEvent.Outcome.PROCESSED, 1)


def test_simultaneous_redeliveries_store_one_event(queue):
    body, headers = fakes.shufti_webhook(reference="ref-123456", event="verification.accepted")
    provider = provider_get("shuftipro")

    results = in_threads(
        4, lambda i: services.webhook_event_record(provider=provider, body=body, headers=headers)
    )

    assert not [r for r in results if isinstance(r, BaseException)], results
    assert sorted(created for _, created in results) == [False, False, False, True]
    assert len({event.pk for event, _ in results}) == 1
    assert WebhookEvent.objects.count() == 1
    assert len(queue) == 1
