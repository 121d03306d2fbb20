"""The embedded servers' lease: the last process using them stops them, never an earlier
one (a `manage.py shell` closing must not pull Redis/PostgreSQL from under `make run`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import uuid

import pytest

from brokerage.paths import BASE_DIR

pytestmark = pytest.mark.integration

USE_REDIS = textwrap.dedent(
    """
    import sys
    from brokerage import devservices
    devservices.redis_ensure(stop_at_exit=True)
    print("ready", flush=True)
    sys.stdin.readline()  # hold the lease until told to go
    """
)


def _status(env) -> str:
    return subprocess.run(
        [sys.executable, "-m", "brokerage.devservices", "status"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        cwd=BASE_DIR,
    ).stdout


def test_the_last_user_stops_the_embedded_servers():
    var_dir = BASE_DIR / "var" / f"lease-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "BROKERAGE_VAR_DIR": str(var_dir)}
    first = subprocess.Popen(
        [sys.executable, "-c", USE_REDIS],
        env=env,
        cwd=BASE_DIR,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    second = subprocess.Popen(
        [sys.executable, "-c", USE_REDIS],
        env=env,
        cwd=BASE_DIR,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert first.stdout.readline().strip() == "ready"
        assert second.stdout.readline().strip() == "ready"
        assert "Redis:      running" in _status(env)

        # `make stop` refuses while someone uses them.
        refused = subprocess.run(
            [sys.executable, "-m", "brokerage.devservices", "stop"],
            env=env,
            capture_output=True,
            text=True,
            cwd=BASE_DIR,
        )
        assert refused.returncode == 1 and "in use" in refused.stdout

        first.communicate("go\n", timeout=30)  # the one that started Redis leaves first
        assert "Redis:      running" in _status(env)

        second.communicate("go\n", timeout=30)  # the last one out stops it
        assert "Redis:      stopped" in _status(env)
    finally:
        for proc in (first, second):
            if proc.poll() is None:
                proc.kill()
        subprocess.run(
            [sys.executable, "-m", "brokerage.devservices", "stop", "--force"],
            env=env,
            capture_output=True,
            cwd=BASE_DIR,
        )
        shutil.rmtree(var_dir, ignore_errors=True)


def test_a_stale_redis_pid_file_is_not_taken_for_redis():
    var_dir = BASE_DIR / "var" / f"stale-{uuid.uuid4().hex[:8]}"
    (var_dir / "redis").mkdir(parents=True)
    # A pid that exists but is not redis-server (this test process).
    (var_dir / "redis" / "redis.pid").write_text(str(os.getpid()))
    env = {**os.environ, "BROKERAGE_VAR_DIR": str(var_dir)}
    try:
        assert "Redis:      stopped" in _status(env)
        stop = subprocess.run(
            [sys.executable, "-m", "brokerage.devservices", "stop"],
            env=env,
            capture_output=True,
            text=True,
            cwd=BASE_DIR,
        )
        assert "Redis was not running" in stop.stdout  # and this process was not signalled
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)
