from datetime import timedelta

import pytest
from django.utils import timezone

from brokerage.celery import QUEUES
from brokerage.models import WorkerHeartbeat
from brokerage.tasks import heartbeat

pytestmark = pytest.mark.django_db


def _beat(*queues: str) -> None:
    for queue in queues:
        heartbeat.apply(kwargs={"queue": queue, "hostname": "celery@test"})


def test_healthz_is_503_without_a_worker_heartbeat(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["database"] == "ok"
    assert body["redis"] == "ok"
    assert body["worker"] == "fail"
    assert body["worker_heartbeat_age_seconds"] is None
    assert body["errors"]["worker"] == "no heartbeat on queue platform, chain, default"


def test_healthz_is_200_when_every_queue_has_a_fresh_beat(client):
    _beat(*QUEUES)
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == body["database"] == body["redis"] == body["worker"] == "ok"
    assert set(body["queues"]) == {"platform", "chain", "default"}
    assert all(0 <= age < 5 for age in body["queues"].values())
    assert "errors" not in body


def test_a_worker_that_serves_only_default_leaves_platform_unhealthy(client):
    _beat("default", "chain")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["errors"]["worker"] == "no heartbeat on queue platform"


def test_healthz_reports_a_stale_queue(client):
    _beat(*QUEUES)
    WorkerHeartbeat.objects.filter(queue="chain").update(
        beat_at=timezone.now() - timedelta(seconds=300)
    )
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["errors"]["worker"].startswith("last heartbeat on chain 300s ago")


def test_healthz_reports_redis_down(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    _beat(*QUEUES)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["redis"] == "fail"
