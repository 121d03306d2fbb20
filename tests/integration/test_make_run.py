"""`make run` end to end: a second, separate copy of the system (its own var/ and port)
starts from nothing, becomes healthy, refuses a second start, and leaves nothing running
after Ctrl-C."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

import psutil
import pytest

from brokerage.paths import BASE_DIR

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _health(port: int) -> tuple[int, dict] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=3) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")
    except OSError:
        return None


def _processes_of(var_dir: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        try:
            if proc.environ().get("BROKERAGE_VAR_DIR") == var_dir:
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def test_make_run_starts_everything_and_ctrl_c_stops_everything():
    var_dir = str(BASE_DIR / "var" / f"smoke-{uuid.uuid4().hex[:8]}")
    port = _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "PYTEST", "BROKERAGE_"))
        and k not in ("DATABASE_URL", "REDIS_URL")
    }
    env.update(
        BROKERAGE_VAR_DIR=var_dir,
        PORT=str(port),
        MT5SIM_PORT=str(_free_port()),
        PYTHONUNBUFFERED="1",
    )
    log_path = BASE_DIR / "test-artifacts" / "make-run-smoke.log"
    log_path.parent.mkdir(exist_ok=True)
    log = open(log_path, "w")  # noqa: SIM115
    run = subprocess.Popen(
        ["make", "--no-print-directory", "run"],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # like a terminal: Ctrl-C goes to the whole group
    )
    try:
        deadline = time.monotonic() + 300
        health = None
        while time.monotonic() < deadline and run.poll() is None:
            health = _health(port)
            if health and health[0] == 200:
                break
            time.sleep(1)
        assert health and health[0] == 200, (health, log_path.read_text()[-3000:])
        assert health[1]["database"] == health[1]["redis"] == health[1]["worker"] == "ok"

        output = log_path.read_text()
        assert f"http://127.0.0.1:{port}/" in output
        assert "admin@meridian.test" in output and "TOTP secret" in output

        # A second start for the same checkout is refused, and var/ is untouched.
        second = subprocess.run(
            [sys.executable, "-m", "brokerage.run"],
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 1
        assert "already running for this checkout" in second.stderr
        assert _health(port)[0] == 200

        # The portal answers through gunicorn with static files from whitenoise.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=5) as r:
            assert r.status == 200
            page = r.read().decode()
        assert "Content-Security-Policy" in r.headers
        css = page.split('href="/static/vendor/pico/')[1].split('"')[0]
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/static/vendor/pico/{css}", timeout=5
        ) as r:
            assert r.status == 200
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGINT)  # Ctrl-C
        try:
            run.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(run.pid, signal.SIGKILL)
            raise
        log.close()

    time.sleep(1)
    leftovers = _processes_of(var_dir)
    assert leftovers == [], [p.cmdline() for p in leftovers]
    assert _health(port) is None  # nothing listens on the port any more
    assert "Stopped" in log_path.read_text()
    shutil.rmtree(var_dir, ignore_errors=True)


def test_make_run_refuses_a_port_in_use(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
        env.update(
            BROKERAGE_VAR_DIR=str(BASE_DIR / "var" / f"smoke-{uuid.uuid4().hex[:8]}"),
            PORT=str(port),
        )
        result = subprocess.run(
            [sys.executable, "-m", "brokerage.run"],
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    shutil.rmtree(env["BROKERAGE_VAR_DIR"], ignore_errors=True)
    assert result.returncode == 1
    assert f"Port {port} is already in use" in result.stderr
    assert f"PORT={port + 1} make run" in result.stderr
