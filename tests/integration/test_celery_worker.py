"""A real Celery worker, started as its own process against this run's Redis and database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from brokerage.models import WorkerHeartbeat
from brokerage.tasks import heartbeat

pytestmark = pytest.mark.integration

CELERY = str(Path(sys.executable).parent / "celery")


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def test_a_real_worker_beats_on_every_queue_and_consumes_tasks(subprocess_env, client):
    # The test run's key prefix (CELERY_KEY_PREFIX, inherited) keeps make run's worker, if
    # one runs on this machine, away from these queues.
    node = f"itest-{uuid.uuid4().hex[:8]}@itest"
    worker = subprocess.Popen(
        [
            CELERY,
            "-A",
            "brokerage",
            "worker",
            "-Q",
            "platform,chain,default",
            "-n",
            node,
            "-c",
            "1",
            "--pool",
            "solo",
            "--without-mingle",
            "--without-gossip",
            "--loglevel",
            "INFO",
        ],
        env=subprocess_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        # 1. On start the worker beats on each of its queues, so /healthz is green at once.
        _wait_for(
            lambda: WorkerHeartbeat.objects.filter(hostname=node).count() == 3,
            60,
            "start-up heartbeats on platform, chain and default",
        )
        health = client.get("/healthz")
        assert health.status_code == 200, health.json()
        first = WorkerHeartbeat.objects.get(hostname=node, queue="platform")

        # 2. A task sent through Redis to the platform queue is consumed by that worker.
        heartbeat.apply_async(kwargs={"queue": "platform"}, queue="platform")
        _wait_for(
            lambda: WorkerHeartbeat.objects.filter(
                hostname=node, queue="platform", beat_at__gt=first.beat_at
            ).exists(),
            30,
            "the queued heartbeat",
        )
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        output, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0 or worker.returncode == -signal.SIGTERM, output
    assert "brokerage.tasks.heartbeat" in output and "succeeded" in output, output
