"""web.portal_home: requests/s of the portal home (/portal/, a signed-in client) vs. a trivial
Django view (bench/urls.py), both served by the same gunicorn, configured as in the Procfile.

One gunicorn is started on a free 127.0.0.1 port with bench.settings, both URLs are warmed
up, then measured alternately (baseline, target, baseline, target, ...) and the median of
each is kept, so noise on the machine hits both. Both requests carry the same session cookie,
so the baseline pays for the same middleware (session, user, audit context); the ratio is
what the page itself costs. The load comes from wrk, or from a small Python load generator
if wrk is not installed (the "tool" key says which).
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench import line
from bench.urls import TRIVIAL_PATH

HOST = "127.0.0.1"  # only ever our own server
WORKERS = 2
THREADS = 4  # as in the Procfile
WRK_THREADS = 2
CONNECTIONS = 32
PY_CONNECTIONS = 16  # the Python load generator: more threads only fight over the GIL
DURATION = int(os.environ.get("BENCH_DURATION", "6"))  # seconds per measurement
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))  # measurements of each URL, alternated
WARMUP = 2  # seconds per URL before measuring
BENCH_EMAIL = "bench-client@bench.invalid"


def log(text: str) -> None:
    print(f"bench.web: {text}", file=sys.stderr, flush=True)


# --- who is signed in --------------------------------------------------------------------


def _client_user():
    """A seeded client (seed_demo) if there is one, else a client made for the benchmark."""
    from brokerage.models import User
    from clients.models import Client
    from clients.services import client_register

    client = (
        Client.objects.select_related("user")
        .filter(user__is_active=True, user__is_staff=False)
        .order_by("pk")
        .first()
    )
    if client is not None:
        return client.user
    user, created = User.objects.get_or_create(email=BENCH_EMAIL, defaults={"first_name": "Bench"})
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    client_register(user=user, country="GB")
    return user


def _session_cookie(user) -> tuple[str, str]:
    from django.conf import settings
    from django.test import Client as Browser

    browser = Browser()
    browser.force_login(user)
    return settings.SESSION_COOKIE_NAME, browser.cookies[settings.SESSION_COOKIE_NAME].value


def _count_queries(path: str, cookie: tuple[str, str]) -> int:
    from django.db import connection
    from django.test import Client as Browser
    from django.test.utils import CaptureQueriesContext

    browser = Browser(HTTP_HOST=HOST)
    browser.cookies[cookie[0]] = cookie[1]
    with CaptureQueriesContext(connection) as queries:
        response = browser.get(path)
    if response.status_code != 200:
        raise RuntimeError(f"{path} answered {response.status_code} in-process")
    return len(queries)


# --- the server --------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def _get(port: int, path: str, cookie: tuple[str, str]) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request("GET", path, headers={"Cookie": f"{cookie[0]}={cookie[1]}"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


class Gunicorn:
    def __init__(self, log_path: Path) -> None:
        from brokerage.paths import BASE_DIR

        self.port = _free_port()
        self.log_path = log_path
        env = dict(os.environ)
        env["DJANGO_SETTINGS_MODULE"] = "bench.settings"
        env["BROKERAGE_EMBEDDED_STOP_AT_EXIT"] = "0"  # the embedded servers are not its own
        env["PYTHONUNBUFFERED"] = "1"
        self.command = [
            str(Path(sys.executable).parent / "gunicorn"),
            "brokerage.wsgi:application",
            "--bind",
            f"{HOST}:{self.port}",
            "--workers",
            str(WORKERS),
            "--threads",
            str(THREADS),
            "--graceful-timeout",
            "5",
            "--log-level",
            "warning",
            "--chdir",
            str(BASE_DIR),
        ]
        self.env = env
        self.cwd = BASE_DIR
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Gunicorn:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "wb") as out:
            # Its own process group, so workers left behind by a crash can be found.
            self.process = subprocess.Popen(
                self.command,
                cwd=self.cwd,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        return self

    def wait_ready(self, cookie: tuple[str, str], timeout: float = 60) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.process.returncode}):\n{self.tail()}")
            with contextlib.suppress(OSError):
                status, _ = _get(self.port, TRIVIAL_PATH, cookie)
                if status == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer within {timeout:.0f}s:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def __exit__(self, *exc) -> None:
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # graceful: the master stops its workers
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                log("gunicorn did not stop on SIGTERM; killing it")
        # Anything still in the group we created (workers of a master that died) is ours.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


# --- load --------------------------------------------------------------------------------


def _wrk(wrk: str, port: int, path: str, cookie: tuple[str, str], seconds: int) -> float:
    result = subprocess.run(
        [
            wrk,
            f"-t{WRK_THREADS}",
            f"-c{CONNECTIONS}",
            f"-d{seconds}s",
            "-H",
            f"Cookie: {cookie[0]}={cookie[1]}",
            f"http://{HOST}:{port}{path}",
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=True,
    )
    out = result.stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if rate is None:
        raise RuntimeError(f"could not read wrk's output:\n{out}\n{result.stderr}")
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if bad:
        raise RuntimeError(f"{path}: {bad.group(1)} error responses under load:\n{out}")
    errors = re.search(r"Socket errors:.*", out)
    if errors:
        log(f"{path}: {errors.group(0)}")
    return float(rate.group(1))


def _python_load(port: int, path: str, cookie: tuple[str, str], seconds: int) -> float:
    """A small keep-alive load generator, for machines without wrk (lower figures: it
    shares the CPU and the GIL; the ratio is what to compare)."""
    headers = {"Cookie": f"{cookie[0]}={cookie[1]}"}
    done = [0] * PY_CONNECTIONS
    failures: list[str] = []
    deadline = time.monotonic() + seconds

    def worker(slot: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=10)
        try:
            while time.monotonic() < deadline:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    failures.append(f"{response.status}")
                    return
                done[slot] += 1
                if response.will_close:
                    conn.close()
                    conn = http.client.HTTPConnection(HOST, port, timeout=10)
        except OSError as error:
            failures.append(repr(error))
        finally:
            conn.close()

    began = time.monotonic()
    threads = [threading.Thread(target=worker, args=(slot,)) for slot in range(PY_CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"{path}: {len(failures)} failed connections, e.g. {failures[0]}")
    return sum(done) / (time.monotonic() - began)


# --- the benchmark -----------------------------------------------------------------------


def run() -> list[dict]:
    from django.contrib.sessions.backends.db import SessionStore
    from django.urls import reverse

    from brokerage.paths import VAR_DIR

    portal = reverse("clients:portal-home")
    user = _client_user()
    cookie = _session_cookie(user)
    log(f"signed in as {user.email}")
    log(
        f"queries per request: {portal} {_count_queries(portal, cookie)}, "
        f"{TRIVIAL_PATH} {_count_queries(TRIVIAL_PATH, cookie)}"
    )

    wrk = shutil.which("wrk")
    if wrk:
        tool = f"wrk -t{WRK_THREADS} -c{CONNECTIONS} -d{DURATION}s"
    else:
        tool = f"python http.client x{PY_CONNECTIONS} -d{DURATION}s"
        log(
            "wrk is not installed, so a Python load generator measures instead (lower "
            "figures). For comparable figures install it: sudo apt-get install wrk "
            "(macOS: brew install wrk)."
        )

    def load(port: int, path: str, seconds: int) -> float:
        if wrk:
            return _wrk(wrk, port, path, cookie, seconds)
        return _python_load(port, path, cookie, seconds)

    try:
        with Gunicorn(VAR_DIR / "bench" / "gunicorn.log") as server:
            server.wait_ready(cookie)
            status, body = _get(server.port, portal, cookie)
            if status != 200 or b"Welcome" not in body:
                raise RuntimeError(f"{portal} answered {status}, not the signed-in portal home")
            for path in (TRIVIAL_PATH, portal):
                load(server.port, path, WARMUP)
            baseline, target = [], []
            for round_no in range(1, ROUNDS + 1):
                baseline.append(load(server.port, TRIVIAL_PATH, DURATION))
                target.append(load(server.port, portal, DURATION))
                log(
                    f"round {round_no}/{ROUNDS}: trivial {baseline[-1]:.0f} req/s, "
                    f"portal home {target[-1]:.0f} req/s"
                )
    finally:
        SessionStore(session_key=cookie[1]).delete()

    return [
        line(
            "web.portal_home",
            value=statistics.median(target),
            unit="req/s",
            baseline=f"trivial Django view {TRIVIAL_PATH}, same gunicorn and middleware",
            baseline_value=statistics.median(baseline),
            tool=tool,
            server=f"gunicorn -w{WORKERS} --threads {THREADS}",
        )
    ]
