from __future__ import annotations

import socket

from celery import shared_task
from django.utils import timezone

from brokerage.models import WorkerHeartbeat


@shared_task(name="brokerage.tasks.heartbeat", ignore_result=True)
def heartbeat(queue: str = "default", hostname: str | None = None) -> None:
    """Record that a worker is alive and consuming `queue`; /healthz reads the ages."""
    name = hostname or heartbeat.request.hostname or socket.gethostname()
    WorkerHeartbeat.objects.update_or_create(
        hostname=name, queue=queue, defaults={"beat_at": timezone.now()}
    )
