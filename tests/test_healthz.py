from datetime import timedelta

import pytest
from django.utils import timezone

from brokerage.models import WorkerHeartbeat
from brokerage.tasks import heartbeat

pytestmark = pytest.mark.django_db


def test_healthz_is_503_without_a_worker_heartbeat(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["database"] == "ok"
    assert body["redis"] == "ok"
    assert body["worker"] == "fail"
    assert body["worker_heartbeat_age_seconds"] is None
    assert body["errors"]["worker"] == "no heartbeat recorded"


def test_healthz_is_200_after_a_heartbeat(client):
    heartbeat.apply(kwargs={"hostname": "celery@test"})
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "status": "ok",
        "database": "ok",
        "redis": "ok",
        "worker": "ok",
        "worker_heartbeat_age_seconds": body["worker_heartbeat_age_seconds"],
    }
    assert 0 <= body["worker_heartbeat_age_seconds"] < 5


def test_healthz_reports_a_stale_worker(client, settings):
    WorkerHeartbeat.objects.create(
        hostname="celery@old", beat_at=timezone.now() - timedelta(seconds=300)
    )
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["errors"]["worker"].startswith("last heartbeat 300s ago")


def test_healthz_reports_redis_down(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    heartbeat.apply(kwargs={"hostname": "celery@test"})
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["redis"] == "fail"
