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


def test_a_real_worker_records_its_heartbeat_and_consumes_the_queue(subprocess_env, client):
    queue = f"itest-{uuid.uuid4().hex[:8]}"  # a queue no other worker on this machine reads
    node = f"{queue}@itest"
    worker = subprocess.Popen(
        [
            CELERY,
            "-A",
            "brokerage",
            "worker",
            "-Q",
            queue,
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
        # 1. On start the worker beats at once, so /healthz is green without waiting 30 s.
        first = _wait_for(
            lambda: WorkerHeartbeat.objects.filter(hostname=node).first(), 60, "start-up heartbeat"
        )
        assert client.get("/healthz").status_code == 200

        # 2. A task sent through Redis is consumed by that worker and moves the beat forward.
        heartbeat.apply_async(queue=queue)
        _wait_for(
            lambda: WorkerHeartbeat.objects.filter(
                hostname=node, beat_at__gt=first.beat_at
            ).exists(),
            30,
            "the queued heartbeat",
        )
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        output, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0 or worker.returncode == -signal.SIGTERM, output
    assert "brokerage.tasks.heartbeat" in output and "succeeded" in output, output
