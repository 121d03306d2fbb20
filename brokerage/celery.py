"""The Celery app. Queues: `platform` (trading servers, balance operations), `chain`
(blockchain polling), `default` (screening, e-mail, reports), so slow work can't starve
money work."""

import os

from celery import Celery
from celery.signals import worker_ready
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokerage.settings.dev")

app = Celery("brokerage")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [Queue(name) for name in ("platform", "chain", "default")]
app.autodiscover_tasks()


@worker_ready.connect
def _beat_on_start(sender, **kwargs) -> None:
    # /healthz shows the worker as up as soon as it is, not 30 s later.
    from brokerage.tasks import heartbeat

    heartbeat.apply(kwargs={"hostname": sender.hostname})
