"""The Celery app. Queues: `platform` (trading servers, balance operations), `chain`
(blockchain polling), `default` (screening, e-mail, reports), so slow work can't starve
money work."""

import os

from celery import Celery
from celery.signals import worker_ready
from kombu import Queue

# A server process must be told it is a development one (make run does); by default it is
# production, which refuses to start without its secrets and services.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokerage.settings.production")

QUEUES = ("platform", "chain", "default")

app = Celery("brokerage")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [Queue(name) for name in QUEUES]
app.autodiscover_tasks()


@worker_ready.connect
def _beat_on_start(sender, **kwargs) -> None:
    # /healthz shows the worker as up as soon as it is, not 30 s later.
    from brokerage.tasks import heartbeat

    for queue in sender.task_consumer.queues:
        heartbeat.apply(kwargs={"queue": queue.name, "hostname": sender.hostname})
